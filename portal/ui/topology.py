"""Web UI pages of the cloud's topology, for the Infrastructure section: zones (detail, create, edit), pods,
clusters (with their overprovisioning factors) and physical networks with their traffic types.

Rows come from infrastructure.selectors_topology (root admins only); writes go through
infrastructure.services_topology. Every change is a POST form; a refusal is shown on the form (400) or as a
message on the object's page, and nothing changed. The four kinds share one shape (a list, an add form, a
detail page, an edit form, enable / disable / delete), so it is written once, driven by a `Kind` each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from infrastructure import services_topology as services
from infrastructure.models import AllocationState, PhysicalNetwork, TrafficType, Zone
from infrastructure.selectors import host_list, zone_list
from infrastructure.selectors_topology import (
    cluster_get,
    cluster_list,
    physical_network_get,
    physical_network_list,
    pod_get,
    pod_list,
    traffic_type_get,
    zone_get_detailed,
)
from portal.authz import can
from portal.configuration import config_value
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

# --- forms ----------------------------------------------------------------------------------------------

_OPTIONAL = {"required": False}


class ZoneEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    description = forms.CharField(label=_("Description"), max_length=1024, **_OPTIONAL)
    dns1 = forms.CharField(label=_("DNS 1"), max_length=64, help_text=_("For the guests."))
    dns2 = forms.CharField(label=_("DNS 2"), max_length=64, **_OPTIONAL)
    internal_dns1 = forms.CharField(label=_("Internal DNS 1"), max_length=64, help_text=_("For the hosts."))
    internal_dns2 = forms.CharField(label=_("Internal DNS 2"), max_length=64, **_OPTIONAL)
    guest_cidr = forms.CharField(label=_("Guest CIDR"), max_length=64, help_text=_(
        "Advanced zones only, e.g. 10.1.1.0/24."), **_OPTIONAL)
    network_domain = forms.CharField(label=_("Network domain"), max_length=255, **_OPTIONAL)


class ZoneForm(ZoneEditForm):
    network_type = forms.ChoiceField(label=_("Network type"), choices=Zone.NetworkType.choices, help_text=_(
        "Fixed for the zone's life."))
    field_order = ["name", "network_type"]


class PodEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    gateway = forms.CharField(label=_("Gateway"), max_length=64)
    netmask = forms.CharField(label=_("Netmask"), max_length=64)
    start_ip = forms.CharField(label=_("Start IP"), max_length=64)
    end_ip = forms.CharField(label=_("End IP"), max_length=64, help_text=_(
        "Empty: the subnet's last usable address."), **_OPTIONAL)


class PodForm(PodEditForm):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid", empty_label=None)
    field_order = ["zone", "name"]

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller)


_HYPERVISORS = [(name, name) for name in services.HYPERVISOR_TYPES]


class ClusterEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    hypervisor_type = forms.ChoiceField(label=_("Hypervisor"), choices=_HYPERVISORS, help_text=_(
        "Can only change while the cluster has no hosts."))
    cpu_overprovisioning = forms.FloatField(label=_("CPU overprovisioning factor"), help_text=_(
        "Each host offers its CPU capacity times this factor."))
    memory_overprovisioning = forms.FloatField(label=_("Memory overprovisioning factor"), help_text=_(
        "Each host offers its memory times this factor."))


class ClusterForm(ClusterEditForm):
    pod = forms.ModelChoiceField(label=_("Pod"), queryset=None, to_field_name="uuid", empty_label=None)
    field_order = ["pod", "name"]

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pod"].queryset = pod_list(caller=caller)
        self.fields["pod"].label_from_instance = lambda pod: f"{pod.zone.name} / {pod.name}"
        for field, setting in (("cpu_overprovisioning", "cpu.overprovisioning.factor"),
                               ("memory_overprovisioning", "mem.overprovisioning.factor")):
            self.fields[field].required = False
            self.fields[field].help_text = _("Empty: the global setting %(name)s (now %(value)s).") % {
                "name": setting, "value": config_value(setting)}


class PhysicalNetworkEditForm(forms.Form):
    vlan = forms.CharField(label=_("VLAN range"), max_length=255, help_text=_("e.g. 100-199,300-399."),
                           **_OPTIONAL)
    tags = forms.CharField(label=_("Tags"), max_length=1024, help_text=_("Comma-separated."), **_OPTIONAL)
    network_speed = forms.CharField(label=_("Network speed"), max_length=32, **_OPTIONAL)


class PhysicalNetworkForm(PhysicalNetworkEditForm):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid", empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=255)
    isolation_methods = forms.MultipleChoiceField(
        label=_("Isolation methods"), choices=[(name, name) for name in services.ISOLATION_METHODS],
        widget=forms.CheckboxSelectMultiple, **_OPTIONAL)
    broadcast_domain_range = forms.ChoiceField(
        label=_("Broadcast domain range"), choices=[("", _("Default for the zone")), ("ZONE", _("Zone")),
                                                    ("POD", _("Pod"))], **_OPTIONAL)
    field_order = ["zone", "name"]

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller)


class TrafficTypeForm(forms.Form):
    traffic_type = forms.ChoiceField(label=_("Traffic type"), choices=TrafficType.Kind.choices)
    kvm_network_label = forms.CharField(label=_("KVM network label"), max_length=255, help_text=_(
        "The bridge on the KVM hosts, e.g. cloudbr0."), **_OPTIONAL)


# --- the four kinds -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    key: str  # route names: ui:<key>_list, _add, _detail, _edit, _enable, _disable, _delete
    slug: str  # URL segment under infrastructure/
    title: str | Promise  # the list page's title
    noun: str | Promise  # in messages: "Pod %(name)s ..."
    perm: str  # the authz prefix: <perm>.list / .update / .delete
    create_perm: str
    get: Callable[[User, str], Model]
    update: Callable[..., Model]  # the service, called with caller=, the object and the edited fields
    delete: Callable[[User, Model], None]
    state_field: str
    enabled: str
    disabled: str

    def route(self, page: str) -> str:
        return f"ui:{self.key}_{page}"

    # For templates, which cannot pass arguments.
    route_add = property(lambda self: self.route("add"))
    route_detail = property(lambda self: self.route("detail"))
    route_edit = property(lambda self: self.route("edit"))
    route_enable = property(lambda self: self.route("enable"))
    route_disable = property(lambda self: self.route("disable"))
    route_delete = property(lambda self: self.route("delete"))


def _edit_zone(caller: User, obj: Zone, **data: Any) -> Zone:
    return services.zone_update(caller=caller, zone=obj, **data)


KINDS: dict[str, Kind] = {kind.key: kind for kind in (
    Kind("zone", "zones", _("Zones"), _("Zone"), "zone", "zone.create",
         lambda caller, id: zone_get_detailed(caller=caller, zone_id=id), _edit_zone,
         lambda caller, obj: services.zone_delete(caller=caller, zone=obj),
         "allocation_state", AllocationState.ENABLED, AllocationState.DISABLED),
    Kind("pod", "pods", _("Pods"), _("Pod"), "pod", "pod.create",
         lambda caller, id: pod_get(caller=caller, pod_id=id),
         lambda caller, obj, **data: services.pod_update(caller=caller, pod=obj, **data),
         lambda caller, obj: services.pod_delete(caller=caller, pod=obj),
         "allocation_state", AllocationState.ENABLED, AllocationState.DISABLED),
    Kind("cluster", "clusters", _("Clusters"), _("Cluster"), "cluster", "cluster.add",
         lambda caller, id: cluster_get(caller=caller, cluster_id=id),
         lambda caller, obj, **data: services.cluster_update(caller=caller, cluster=obj, **data),
         lambda caller, obj: services.cluster_delete(caller=caller, cluster=obj),
         "allocation_state", AllocationState.ENABLED, AllocationState.DISABLED),
    Kind("physical_network", "physical-networks", _("Physical networks"), _("Physical network"),
         "physicalnetwork", "physicalnetwork.create",
         lambda caller, id: physical_network_get(caller=caller, physical_network_id=id),
         lambda caller, obj, **data: services.physical_network_update(caller=caller, physical_network=obj,
                                                                      **data),
         lambda caller, obj: services.physical_network_delete(caller=caller, physical_network=obj),
         "state", PhysicalNetwork.State.ENABLED, PhysicalNetwork.State.DISABLED),
)}

# The edit form of each kind, and how an object fills it.
EDIT_FORMS: dict[str, type[forms.Form]] = {"zone": ZoneEditForm, "pod": PodEditForm, "cluster": ClusterEditForm,
                                           "physical_network": PhysicalNetworkEditForm}


def _initial(form_class: type[forms.Form], obj: Model) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in form_class.base_fields}


# --- lists ----------------------------------------------------------------------------------------------

TABLES = {
    "pod": TableSpec(id="pod-table", columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name",)),
        Column("range", _("IP range"), ("start_ip",), css="hide-sm"),
        Column("gateway", _("Gateway"), ("gateway",), css="hide-md"),
        Column("allocation_state", _("Allocation state"), ("allocation_state",)),
    ), default_sort="name", search_fields=("name", "zone__name"), search_placeholder=_("Search by name or zone")),
    "cluster": TableSpec(id="cluster-table", columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name", "pod__name")),
        Column("hypervisor", _("Hypervisor"), ("hypervisor_type",)),
        Column("overprovisioning", _("CPU / memory overprovisioning"),
               ("cpu_overprovisioning", "memory_overprovisioning"), css="hide-sm"),
        Column("allocation_state", _("Allocation state"), ("allocation_state",)),
    ), default_sort="name", search_fields=("name", "zone__name", "pod__name"),
        search_placeholder=_("Search by name, zone or pod")),
    "physical_network": TableSpec(id="physical-network-table", columns=(
        Column("name", _("Name"), ("name",)),
        Column("zone", _("Zone"), ("zone__name",)),
        Column("traffic", _("Traffic types"), ()),
        Column("vlan", _("VLAN range"), ("vlan",), css="hide-sm"),
        Column("state", _("State"), ("state",)),
    ), default_sort="name", search_fields=("name", "zone__name", "tags"),
        search_placeholder=_("Search by name, zone or tag")),
}
LISTS = {"pod": pod_list, "cluster": cluster_list, "physical_network": physical_network_list}


def _list_view(key: str) -> Callable[..., HttpResponse]:
    kind, spec = KINDS[key], TABLES[key]

    @require_safe
    @requires(f"{kind.perm}.list")
    @http_errors
    def view(request: HttpRequest) -> HttpResponse:
        table = build_table(spec, parse_query(request, spec), LISTS[key](caller=request.user))
        return render_table(request, table, "ui/topology_list.html", f"ui/_{key}_table.html", {
            "kind": kind, "can_create": can(request.user, kind.create_perm),
            "add_label": _("Add %(kind)s") % {"kind": str(kind.noun).lower()}})

    return view


# --- add and edit ---------------------------------------------------------------------------------------

def _blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**data, **{name: None for name in names if data.get(name) in (None, "")}}


def _create(key: str, caller: User, data: dict[str, Any]) -> Model:
    if key == "zone":
        return services.zone_create(caller=caller, **data)
    if key == "pod":
        return services.pod_create(caller=caller, **data)
    if key == "cluster":
        return services.cluster_add(caller=caller, **_blank_to_none(data, "cpu_overprovisioning",
                                                                     "memory_overprovisioning"))
    return services.physical_network_create(caller=caller, **data)


ADD_FORMS: dict[str, type[forms.Form]] = {"zone": ZoneForm, "pod": PodForm, "cluster": ClusterForm,
                                          "physical_network": PhysicalNetworkForm}


def _add_view(key: str) -> Callable[..., HttpResponse]:
    kind = KINDS[key]

    @require_http_methods(["GET", "HEAD", "POST"])
    @requires(kind.create_perm)
    @http_errors
    def view(request: HttpRequest) -> HttpResponse:
        form_class = ADD_FORMS[key]
        extra = {} if key == "zone" else {"caller": request.user}
        form = form_class(request.POST if request.method == "POST" else None, **extra)
        done = form_submit(request, form, lambda data: _create(key, request.user, data))
        if done:
            messages.success(request, _("%(kind)s %(name)s created.") % {"kind": kind.noun, "name": done.value.name})
            return redirect(kind.route("detail"), object_id=done.value.uuid)
        return form_page(request, "ui/topology_form.html", form, {
            "kind": kind, "action": kind.route("add"), "cancel": kind.route("list") if key != "zone"
            else "ui:zone_list", "title": _("Add %(kind)s") % {"kind": str(kind.noun).lower()}})

    return view


def _edit_view(key: str) -> Callable[..., HttpResponse]:
    kind = KINDS[key]

    @require_http_methods(["GET", "HEAD", "POST"])
    @requires(f"{kind.perm}.update")
    @http_errors
    def view(request: HttpRequest, object_id: str) -> HttpResponse:
        obj = kind.get(request.user, object_id)
        form_class = EDIT_FORMS[key]
        form = form_class(request.POST if request.method == "POST" else None, initial=_initial(form_class, obj))
        done = form_submit(request, form, lambda data: kind.update(request.user, obj, **data))
        if done:
            messages.success(request, _("%(kind)s %(name)s updated.") % {"kind": kind.noun, "name": done.value.name})
            return redirect(kind.route("detail"), object_id=obj.uuid)
        return form_page(request, "ui/topology_form.html", form, {
            "kind": kind, "object": obj, "action": kind.route("edit"), "cancel": kind.route("detail"),
            "title": _("Edit %(kind)s %(name)s") % {"kind": str(kind.noun).lower(), "name": obj.name}})

    return view


# --- detail pages ---------------------------------------------------------------------------------------

def _detail_context(request: HttpRequest, kind: Kind, obj: Model) -> dict[str, Any]:
    caller = request.user
    state = getattr(obj, kind.state_field)
    context: dict[str, Any] = {
        "kind": kind, "object": obj, "state": state,
        "state_display": getattr(obj, f"get_{kind.state_field}_display")(),
        "can_update": can(caller, f"{kind.perm}.update"),
        "can_delete": can(caller, f"{kind.perm}.delete"),
        "next_state": "disable" if state == kind.enabled else "enable"}
    if kind.key == "zone":
        context["pods"] = pod_list(caller=caller, zone_id=obj.uuid)
        context["clusters"] = cluster_list(caller=caller, zone_id=obj.uuid)
        context["networks"] = physical_network_list(caller=caller, zone_id=obj.uuid)
    elif kind.key == "pod":
        context["clusters"] = cluster_list(caller=caller, pod_id=obj.uuid)
    elif kind.key == "cluster":
        context["hosts"] = host_list(caller=caller).filter(cluster=obj).order_by("name")
    else:
        context["traffic_types"] = obj.traffic_types.all()
        context["can_add_traffic"] = can(caller, "traffictype.add")
        context["can_delete_traffic"] = can(caller, "traffictype.delete")
        context["can_update_traffic"] = can(caller, "traffictype.update")
        context.setdefault("traffic_form", TrafficTypeForm())
    return context


def _detail_view(key: str) -> Callable[..., HttpResponse]:
    kind = KINDS[key]

    @require_safe
    @requires(f"{kind.perm}.list" if key != "zone" else "pod.list")
    @http_errors
    def view(request: HttpRequest, object_id: str) -> HttpResponse:
        obj = kind.get(request.user, object_id)
        return render(request, f"ui/{key}_detail.html", _detail_context(request, kind, obj))

    return view


# --- enable, disable, delete ----------------------------------------------------------------------------

def _action_view(key: str, action: str) -> Callable[..., HttpResponse]:
    kind = KINDS[key]
    permission = f"{kind.perm}.delete" if action == "delete" else f"{kind.perm}.update"

    @require_POST
    @requires(permission)
    @http_errors
    def view(request: HttpRequest, object_id: str) -> HttpResponse:
        obj = kind.get(request.user, object_id)
        name = obj.name
        try:
            if action == "delete":
                kind.delete(request.user, obj)
            else:
                kind.update(request.user, obj, **{kind.state_field: kind.enabled if action == "enable"
                                                  else kind.disabled})
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect(kind.route("detail"), object_id=obj.uuid)
        done = {"enable": _("%(kind)s %(name)s is enabled."), "disable": _("%(kind)s %(name)s is disabled."),
                "delete": _("%(kind)s %(name)s deleted.")}[action]
        messages.success(request, done % {"kind": kind.noun, "name": name})
        if action == "delete":
            return redirect("ui:zone_list" if key == "zone" else kind.route("list"))
        return redirect(kind.route("detail"), object_id=obj.uuid)

    return view


# --- traffic types --------------------------------------------------------------------------------------

@require_POST
@requires("traffictype.add")
@http_errors
def traffic_type_add(request: HttpRequest, object_id: str) -> HttpResponse:
    """A refusal re-renders the network's page with the form and its error (400), nothing added."""
    kind = KINDS["physical_network"]
    network = kind.get(request.user, object_id)
    form = TrafficTypeForm(request.POST)
    done = form_submit(request, form, lambda data: services.traffic_type_add(
        caller=request.user, physical_network=network, traffic_type=data["traffic_type"],
        kvm_network_label=data["kvm_network_label"]))
    if done:
        messages.success(request, _("%(kind)s traffic added to physical network %(name)s.")
                         % {"kind": done.value.traffic_type, "name": network.name})
        return redirect(kind.route("detail"), object_id=network.uuid)
    context = {**_detail_context(request, kind, network), "traffic_form": form}
    return render(request, "ui/physical_network_detail.html", context, status=400)


@require_POST
@requires("traffictype.update")
@http_errors
def traffic_type_update(request: HttpRequest, traffic_id: str) -> HttpResponse:
    traffic = traffic_type_get(caller=request.user, traffic_type_id=traffic_id)
    try:
        services.traffic_type_update(caller=request.user, traffic_type=traffic,
                                     kvm_network_label=request.POST.get("kvm_network_label", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(kind)s traffic of physical network %(name)s updated.")
                         % {"kind": traffic.traffic_type, "name": traffic.physical_network.name})
    return redirect("ui:physical_network_detail", object_id=traffic.physical_network.uuid)


@require_POST
@requires("traffictype.delete")
@http_errors
def traffic_type_delete(request: HttpRequest, traffic_id: str) -> HttpResponse:
    traffic = traffic_type_get(caller=request.user, traffic_type_id=traffic_id)
    network = traffic.physical_network
    try:
        services.traffic_type_delete(caller=request.user, traffic_type=traffic)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(kind)s traffic removed from physical network %(name)s.")
                         % {"kind": traffic.traffic_type, "name": network.name})
    return redirect("ui:physical_network_detail", object_id=network.uuid)


# --- routes (included by portal.ui.urls in the "ui" namespace) ------------------------------------------

def _patterns() -> list[Any]:
    patterns: list[Any] = []
    for key, kind in KINDS.items():
        base = f"infrastructure/{kind.slug}/"
        if key != "zone":  # the zone list is portal.ui.infrastructure.zones
            patterns.append(path(base, _list_view(key), name=f"{key}_list"))
        patterns += [
            path(f"{base}add/", _add_view(key), name=f"{key}_add"),
            path(f"{base}<str:object_id>/", _detail_view(key), name=f"{key}_detail"),
            path(f"{base}<str:object_id>/edit/", _edit_view(key), name=f"{key}_edit"),
            *[path(f"{base}<str:object_id>/{action}/", _action_view(key, action), name=f"{key}_{action}")
              for action in ("enable", "disable", "delete")],
        ]
    patterns += [
        path("infrastructure/physical-networks/<str:object_id>/traffic-types/add/", traffic_type_add,
             name="traffic_type_add"),
        path("infrastructure/traffic-types/<str:traffic_id>/delete/", traffic_type_delete,
             name="traffic_type_delete"),
        path("infrastructure/traffic-types/<str:traffic_id>/update/", traffic_type_update,
             name="traffic_type_update"),
    ]
    return patterns


urlpatterns = _patterns()
