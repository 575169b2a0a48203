"""Web UI pages of the offering catalogue, for root admins: compute offerings and disk offerings (list,
create, edit, delete). They hang off the Settings item of the Infrastructure section (tabs in
ui/_offering_tabs.html), which keeps the menu short.

Rows come from compute.selectors / storage.selectors_disk_offerings, writes go through
compute.services_offerings and storage.services_disk_offerings; changes are POSTs only, and a refusal is
shown on the form (or as a message for a delete) with nothing changed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from accounts.selectors import domain_list
from compute import services_offerings
from compute.models import ServiceOffering
from compute.selectors import offering_get, offering_list
from infrastructure.placement import PLANNERS
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table
from storage import services_disk_offerings
from storage.models import DiskOffering
from storage.selectors_disk_offerings import disk_offering_get, disk_offering_list

OFFERING_TABLE = TableSpec(
    id="offering-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("cpu", _("CPU"), ("cpu_number", "cpu_speed")),
        Column("memory", _("Memory"), ("memory",)),
        Column("options", _("Options"), ()),
        Column("tags", _("Tags"), ("host_tags",), css="hide-sm"),
        Column("domains", _("Domains"), (), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "display_text", "host_tags", "storage_tags"),
    search_placeholder=_("Search by name or tag"),
)

DISK_TABLE = TableSpec(
    id="disk-offering-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("size", _("Size"), ("disk_size",)),
        Column("limits", _("I/O limits"), ()),
        Column("tags", _("Storage tags"), ("storage_tags",), css="hide-sm"),
        Column("domains", _("Domains"), (), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "display_text", "storage_tags"),
    search_placeholder=_("Search by name or tag"),
)


def _domains_field(caller: User) -> forms.ModelMultipleChoiceField:
    field = forms.ModelMultipleChoiceField(label=_("Domains"), queryset=domain_list(caller=caller),
                                           to_field_name="uuid", required=False, help_text=_(
                                               "Offered only to these domains and their subdomains; none: "
                                               "every domain."))
    field.label_from_instance = lambda domain: domain.cloudstack_path
    return field


def _optional_int(label: Any, help_text: Any = "", min_value: int = 1) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=min_value, help_text=help_text)


# --- compute offerings ------------------------------------------------------------------------------------

class OfferingEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    display_text = forms.CharField(label=_("Description"), max_length=4096, required=False)
    host_tags = forms.CharField(label=_("Host tags"), max_length=1024, required=False,
                                help_text=_("Comma-separated; the VM's host must carry every one."))
    storage_tags = forms.CharField(label=_("Storage tags"), max_length=1024, required=False,
                                   help_text=_("Comma-separated; the root disk's pool must carry every one."))

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"] = _domains_field(caller)


class OfferingCreateForm(OfferingEditForm):
    KIND_CHOICES = [("fixed", _("Fixed: CPU and memory set here")),
                    ("constrained", _("Custom, constrained: the user chooses within bounds")),
                    ("unconstrained", _("Custom, unconstrained: the user chooses freely"))]
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES, initial="fixed")
    cpu_number = _optional_int(_("CPU cores"), _("Fixed offerings."))
    cpu_speed = _optional_int(_("CPU speed (MHz)"), _("Fixed and constrained offerings."))
    memory = _optional_int(_("Memory (MiB)"), _("Fixed offerings."))
    min_cpu_number = _optional_int(_("Minimum CPU cores"), _("Constrained offerings."))
    max_cpu_number = _optional_int(_("Maximum CPU cores"), _("Constrained offerings."))
    min_memory = _optional_int(_("Minimum memory (MiB)"), _("Constrained offerings."))
    max_memory = _optional_int(_("Maximum memory (MiB)"), _("Constrained offerings."))
    root_disk_size_gb = _optional_int(_("Root disk size (GiB)"), _("Empty: the template's size."))
    storage_type = forms.ChoiceField(label=_("Storage type"), choices=ServiceOffering.StorageType.choices,
                                     initial=ServiceOffering.StorageType.SHARED)
    offer_ha = forms.BooleanField(label=_("Offer HA"), required=False)
    limit_cpu_use = forms.BooleanField(label=_("CPU cap"), required=False,
                                       help_text=_("Limit the VM to its CPU speed."))
    is_volatile = forms.BooleanField(label=_("Volatile"), required=False,
                                     help_text=_("A fresh root disk from the template on every reboot."))
    dynamic_scaling_enabled = forms.BooleanField(label=_("Dynamic scaling"), required=False, initial=True,
                                                 help_text=_("CPU and memory may be raised while running."))
    deployment_planner = forms.ChoiceField(label=_("Deployment planner"), required=False,
                                           choices=[("", _("The vm.deployment.planner setting"))]
                                           + [(name, name) for name in PLANNERS])
    is_system = forms.BooleanField(label=_("System offering"), required=False,
                                   help_text=_("For system VMs, not offered to users."))
    system_vm_type = forms.ChoiceField(label=_("System VM type"), required=False,
                                       choices=[("", "—"), *ServiceOffering.SystemVmType.choices])


def _create_offering(caller: User, data: dict[str, Any]) -> ServiceOffering:
    fields = ("cpu_number", "cpu_speed", "memory", "min_cpu_number", "max_cpu_number", "min_memory", "max_memory")
    return services_offerings.offering_create(
        caller=caller, name=data["name"], display_text=data["display_text"], customized=data["kind"] != "fixed",
        **{name: data[name] for name in fields}, offer_ha=data["offer_ha"], limit_cpu_use=data["limit_cpu_use"],
        is_volatile=data["is_volatile"], host_tags=data["host_tags"], storage_tags=data["storage_tags"],
        storage_type=data["storage_type"], domains=data["domains"], is_system=data["is_system"],
        system_vm_type=data["system_vm_type"] or None, deployment_planner=data["deployment_planner"],
        root_disk_size_gb=data["root_disk_size_gb"], dynamic_scaling_enabled=data["dynamic_scaling_enabled"])


@require_safe
@requires("offering.create")
@http_errors
def offerings(request: HttpRequest) -> HttpResponse:
    rows = offering_list(caller=request.user).prefetch_related("domains")
    table = build_table(OFFERING_TABLE, parse_query(request, OFFERING_TABLE), rows)
    return render_table(request, table, "ui/offering_list.html", "ui/_offering_table.html")


@require_http_methods(["GET", "HEAD", "POST"])
@requires("offering.create")
@http_errors
def offering_add(request: HttpRequest) -> HttpResponse:
    form = OfferingCreateForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: _create_offering(request.user, data))
    if done:
        messages.success(request, _("Created compute offering %(name)s.") % {"name": done.value.name})
        return redirect("ui:offering_list")
    return form_page(request, "ui/offering_form.html", form, {"title": _("Add compute offering"),
                                                              "cancel": "ui:offering_list"})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("offering.update")
@http_errors
def offering_edit(request: HttpRequest, offering_id: str) -> HttpResponse:
    offering = offering_get(caller=request.user, offering_id=offering_id)
    initial = {"name": offering.name, "display_text": offering.display_text, "host_tags": offering.host_tags,
               "storage_tags": offering.storage_tags, "domains": list(offering.domains.all())}
    form = OfferingEditForm(request.POST if request.method == "POST" else None, initial=initial,
                            caller=request.user)
    done = form_submit(request, form, lambda data: services_offerings.offering_update(
        caller=request.user, offering=offering, name=data["name"], display_text=data["display_text"],
        host_tags=data["host_tags"], storage_tags=data["storage_tags"], domains=data["domains"]))
    if done:
        messages.success(request, _("Updated compute offering %(name)s.") % {"name": done.value.name})
        return redirect("ui:offering_list")
    return form_page(request, "ui/offering_form.html", form, {
        "title": _("Edit compute offering %(name)s") % {"name": offering.name}, "cancel": "ui:offering_list",
        "offering": offering})


@require_POST
@requires("offering.delete")
@http_errors
def offering_delete(request: HttpRequest, offering_id: str) -> HttpResponse:
    offering = offering_get(caller=request.user, offering_id=offering_id)
    try:
        services_offerings.offering_delete(caller=request.user, offering=offering)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Compute offering %(name)s deleted; VMs that use it keep it.")
                         % {"name": offering.name})
    return redirect("ui:offering_list")


# --- disk offerings ---------------------------------------------------------------------------------------

class DiskOfferingEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    display_text = forms.CharField(label=_("Description"), max_length=4096, required=False)
    storage_tags = forms.CharField(label=_("Storage tags"), max_length=1024, required=False,
                                   help_text=_("Comma-separated; the disk's pool must carry every one."))
    iops_read_rate = _optional_int(_("Read IOPS limit"), _("Empty: unlimited."), 0)
    iops_write_rate = _optional_int(_("Write IOPS limit"), _("Empty: unlimited."), 0)
    bytes_read_rate = _optional_int(_("Read limit (bytes/s)"), _("Empty: unlimited."), 0)
    bytes_write_rate = _optional_int(_("Write limit (bytes/s)"), _("Empty: unlimited."), 0)
    display_offering = forms.BooleanField(label=_("Shown to users"), required=False, initial=True)

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"] = _domains_field(caller)


class DiskOfferingCreateForm(DiskOfferingEditForm):
    disk_size_gb = _optional_int(_("Size (GiB)"), _("Empty: the user chooses the size."))
    storage_type = forms.ChoiceField(label=_("Storage type"), choices=DiskOffering.StorageType.choices,
                                     initial=DiskOffering.StorageType.SHARED)

    field_order = ["name", "display_text", "disk_size_gb", "storage_type"]


RATES = ("iops_read_rate", "iops_write_rate", "bytes_read_rate", "bytes_write_rate")


@require_safe
@requires("diskoffering.create")
@http_errors
def disk_offerings(request: HttpRequest) -> HttpResponse:
    rows = disk_offering_list(caller=request.user).prefetch_related("domains")
    table = build_table(DISK_TABLE, parse_query(request, DISK_TABLE), rows)
    return render_table(request, table, "ui/disk_offering_list.html", "ui/_disk_offering_table.html")


@require_http_methods(["GET", "HEAD", "POST"])
@requires("diskoffering.create")
@http_errors
def disk_offering_add(request: HttpRequest) -> HttpResponse:
    form = DiskOfferingCreateForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services_disk_offerings.disk_offering_create(
        caller=request.user, name=data["name"], display_text=data["display_text"],
        disk_size_gb=data["disk_size_gb"], storage_tags=data["storage_tags"], storage_type=data["storage_type"],
        domains=data["domains"], display_offering=data["display_offering"], **{r: data[r] for r in RATES}))
    if done:
        messages.success(request, _("Created disk offering %(name)s.") % {"name": done.value.name})
        return redirect("ui:disk_offering_list")
    return form_page(request, "ui/offering_form.html", form, {"title": _("Add disk offering"),
                                                              "cancel": "ui:disk_offering_list"})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("diskoffering.update")
@http_errors
def disk_offering_edit(request: HttpRequest, offering_id: str) -> HttpResponse:
    offering = disk_offering_get(caller=request.user, offering_id=offering_id)
    initial = {"name": offering.name, "display_text": offering.display_text, "storage_tags": offering.storage_tags,
               "display_offering": offering.display_offering, "domains": list(offering.domains.all()),
               **{r: getattr(offering, r) for r in RATES}}
    form = DiskOfferingEditForm(request.POST if request.method == "POST" else None, initial=initial,
                                caller=request.user)
    done = form_submit(request, form, lambda data: services_disk_offerings.disk_offering_update(
        caller=request.user, offering=offering, name=data["name"], display_text=data["display_text"],
        storage_tags=data["storage_tags"], domains=data["domains"], display_offering=data["display_offering"],
        rates={r: data[r] for r in RATES}))
    if done:
        messages.success(request, _("Updated disk offering %(name)s.") % {"name": done.value.name})
        return redirect("ui:disk_offering_list")
    return form_page(request, "ui/offering_form.html", form, {
        "title": _("Edit disk offering %(name)s") % {"name": offering.name}, "cancel": "ui:disk_offering_list",
        "offering": offering})


@require_POST
@requires("diskoffering.delete")
@http_errors
def disk_offering_delete(request: HttpRequest, offering_id: str) -> HttpResponse:
    offering = disk_offering_get(caller=request.user, offering_id=offering_id)
    try:
        services_disk_offerings.disk_offering_delete(caller=request.user, offering=offering)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Disk offering %(name)s deleted; disks made from it keep it.")
                         % {"name": offering.name})
    return redirect("ui:disk_offering_list")
