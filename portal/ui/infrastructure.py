"""Web UI pages of the physical side: zones and hosts, for the Infrastructure section.

Rows come from infrastructure.selectors, which authorize the caller: hosts are root admins' only, so
another caller gets 403 from the selector's decision whatever the page does. Host actions are POST forms
that call infrastructure.services_hosts; a refusal is shown as a message, nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from infrastructure import services_hosts
from infrastructure.models import Host
from infrastructure.selectors import host_list, zone_list
from infrastructure.selectors_hosts import host_get
from infrastructure.selectors_topology import cluster_list
from infrastructure.states import HOST_RESOURCE_STATE_MACHINE, HOST_STATE_MACHINE, HostEvent, ResourceEvent
from portal.authz import can
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.object_actions import ObjectAction, buttons_for, run_action
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

ZONE_TABLE = TableSpec(
    id="zone-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("description", _("Description"), ("description",), css="hide-sm"),
        Column("network_type", _("Network type"), ("network_type",)),
        Column("allocation_state", _("Allocation state"), ("allocation_state",)),
        Column("dns", _("DNS"), ("dns1",), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-sm"),
    ),
    default_sort="name",
    search_fields=("name", "description"),
    search_placeholder=_("Search by name or description"),
)

HOST_TABLE = TableSpec(
    id="host-table",
    columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name", "pod__name", "cluster__name")),
        Column("status", _("Status"), ("status", "resource_state")),
        Column("tags", _("Host tags"), ("host_tags",), css="hide-sm"),
        Column("hypervisor", _("Hypervisor"), ("domain_type", "hypervisor_version"), css="hide-md"),
        Column("cpu", _("CPU"), ("cpu_cores", "cpu_speed")),
        Column("memory", _("Memory"), ("memory_total",)),
        Column("last_seen", _("Last seen"), ("last_seen",), css="hide-sm"),
    ),
    default_sort="name",
    search_fields=("name", "url", "host_tags", "zone__name", "pod__name", "cluster__name"),
    search_placeholder=_("Search by name, URI, zone or cluster"),
)


@require_safe
@requires("zone.list")
@http_errors
def zones(request: HttpRequest) -> HttpResponse:
    table = build_table(ZONE_TABLE, parse_query(request, ZONE_TABLE), zone_list(caller=request.user))
    # Zone pages (portal.ui.topology) show the zone's pods and clusters: root admins' only.
    return render_table(request, table, "ui/zone_list.html", "ui/_zone_table.html", {
        "can_open": can(request.user, "pod.list"), "can_create": can(request.user, "zone.create")})


class HostForm(forms.Form):
    """Adding a host: where its libvirt answers and how to log in; the agent discovers the rest."""

    cluster = forms.ModelChoiceField(label=_("Cluster"), queryset=None, to_field_name="uuid", empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=255)
    url = forms.CharField(label=_("libvirt URI"), max_length=2048, help_text=_(
        "How the management server reaches the host's libvirt, e.g. qemu+ssh://root@kvm1/system or "
        "qemu+tcp://kvm1/system."))
    username = forms.CharField(label=_("User name"), max_length=255, required=False)
    password = forms.CharField(label=_("Password"), max_length=255, required=False,
                               widget=forms.PasswordInput(render_value=False))
    host_tags = forms.CharField(label=_("Host tags"), max_length=1024, required=False,
                                help_text=_("Comma-separated; service offerings can require them."))

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = cluster_list(caller=caller).select_related("zone", "pod")
        self.fields["cluster"].label_from_instance = (
            lambda cluster: f"{cluster.zone.name} / {cluster.pod.name} / {cluster.name}")


@require_http_methods(["GET", "HEAD", "POST"])
@requires("host.add")
@http_errors
def host_add_view(request: HttpRequest) -> HttpResponse:
    """The host is stored Connecting and its agent connects in a job: the answer is that job's page."""
    form = HostForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services_hosts.host_add(
        caller=request.user, cluster=data["cluster"], name=data["name"], url=data["url"],
        username=data["username"], password=data["password"], host_tags=data["host_tags"]))
    if done:
        host, job = done.value
        messages.success(request, _("Adding host %(name)s: its agent is connecting.") % {"name": host.name})
        return redirect("ui:job_detail", job_id=job.uuid)
    return form_page(request, "ui/host_form.html", form)


@require_safe
@requires("host.list")
@http_errors
def hosts(request: HttpRequest) -> HttpResponse:
    table = build_table(HOST_TABLE, parse_query(request, HOST_TABLE), host_list(caller=request.user))
    return render_table(request, table, "ui/host_list.html", "ui/_host_table.html",
                        {"can_create": can(request.user, "host.add")})


# --- the host page and its actions ------------------------------------------------------------------------

HostAction = partial(ObjectAction, route_prefix="ui:host_")


def _update(caller: User, host: Host, request: HttpRequest) -> None:
    services_hosts.host_update(caller=caller, host=host, name=request.POST.get("name"),
                               host_tags=request.POST.get("host_tags"))


def _allocation(state: str) -> Callable[[User, Host, HttpRequest], None]:
    def run(caller: User, host: Host, request: HttpRequest) -> None:
        services_hosts.host_update(caller=caller, host=host, allocation_state=state)

    return run


def _delete(caller: User, host: Host, request: HttpRequest) -> None:
    services_hosts.host_delete(caller=caller, host=host, forced=request.POST.get("forced") == "1")


def _resource_allows(event: str) -> Callable[[Host], bool]:
    return lambda host: HOST_RESOURCE_STATE_MACHINE.allows(host.resource_state, event)


HOST_ACTIONS: dict[str, ObjectAction] = {
    action.name: action
    for action in (
        HostAction("reconnect", _("Reconnect"), "host.reconnect",
                   lambda caller, host, _r: services_hosts.host_reconnect(caller=caller, host=host),
                   lambda host: HOST_STATE_MACHINE.allows(host.status, HostEvent.RECONNECT_REQUESTED),
                   _("Reconnecting host %(name)s.")),
        HostAction("enable", _("Enable"), "host.update", _allocation("Enable"),
                   lambda host: host.resource_state == Host.ResourceState.DISABLED, _("Host %(name)s is enabled.")),
        HostAction("disable", _("Disable"), "host.update", _allocation("Disable"),
                   lambda host: host.resource_state == Host.ResourceState.ENABLED,
                   _("Host %(name)s is disabled: no new VMs are placed there.")),
        HostAction("maintenance", _("Prepare for maintenance"), "host.maintenance",
                   lambda caller, host, _r: services_hosts.host_prepare_maintenance(caller=caller, host=host),
                   _resource_allows(ResourceEvent.ADMIN_ASK_MAINTENANCE),
                   _("Preparing host %(name)s for maintenance.")),
        HostAction("cancel-maintenance", _("Cancel maintenance"), "host.maintenance",
                   lambda caller, host, _r: services_hosts.host_cancel_maintenance(caller=caller, host=host),
                   _resource_allows(ResourceEvent.ADMIN_CANCEL_MAINTENANCE),
                   _("Cancelling the maintenance of host %(name)s.")),
        HostAction("update", _("Save"), "host.update", _update, lambda host: True, _("Host %(name)s updated.")),
        HostAction("delete", _("Delete host"), "host.delete", _delete, lambda host: True,
                   _("Host %(name)s deleted."), confirm=_("Delete this host?"), danger=True),
    )
}
# Shown as buttons in the page head; update and delete have their own forms.
BUTTONS = ("reconnect", "enable", "disable", "maintenance", "cancel-maintenance")


@require_safe
@requires("host.list")
@http_errors
def host_detail(request: HttpRequest, host_id: str) -> HttpResponse:
    host = host_get(caller=request.user, host_id=host_id)
    actions = buttons_for(request.user, host, HOST_ACTIONS, BUTTONS)
    return render(request, "ui/host_detail.html", {
        "host": host, "actions": actions, "can_update": can(request.user, "host.update"),
        "can_delete": can(request.user, "host.delete")})


@http_errors
def host_action(request: HttpRequest, host_id: str, action: str) -> HttpResponse:
    return run_action(request, HOST_ACTIONS[action], host_get(caller=request.user, host_id=host_id),
                      detail_route="ui:host_detail", list_route="ui:host_list", id_kwarg="host_id")


def host_action_view(action: str) -> Callable[..., HttpResponse]:
    """The route of one host action: POST only, declaring the authz action it runs (portal.ui.access)."""
    return require_POST(requires(HOST_ACTIONS[action].permission)(host_action))
