"""The first-run setup wizard of the web UI: zone → pod → cluster → host → primary storage → secondary storage
→ enable the zone, in the order CloudStack's installation guide walks through it, leaving a zone where a VM
can be deployed.

Each step is one POST form handed to the existing service (infrastructure.services_topology, services_hosts,
storage.services_pools, storage.services_image_stores); a refusal shows on the form with nothing changed. The
wizard remembers only the ids of what it created, in the session, so it can be left and resumed and every page
re-reads the objects (a zone deleted meanwhile simply sends the user back to that step). Adding a host is an
async job: the host step shows its progress and lets the user continue once the host is Up, or retry with
another URI (or remove the failed host) when it failed. The forms are the topology and storage pages' add
forms without their parent pickers. Root admins only (portal.authz action infrastructure.setup); the services check
their own actions too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from infrastructure import services_hosts, services_topology
from infrastructure.models import AllocationState, Host, Zone
from infrastructure.selectors import zone_get
from infrastructure.selectors_hosts import host_get
from infrastructure.selectors_topology import cluster_get, pod_get
from portal.configuration import config_value
from portal.errors import NotFound, ServiceError
from portal.models import AsyncJob
from portal.selectors import job_get
from portal.ui import infrastructure as host_pages
from portal.ui import storage_pools as pool_pages
from portal.ui import topology as topology_pages
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from storage import services_image_stores, services_pools
from storage.models import ImageStore
from storage.selectors_pools import image_store_get, storage_pool_get

SESSION_KEY = "setup_wizard"
ACTION = "infrastructure.setup"

# The steps in order: (key, title, the session entry its object is kept under).
STEPS: tuple[tuple[str, Any, str | None], ...] = (
    ("zone", _("Zone"), "zone"),
    ("pod", _("Pod"), "pod"),
    ("cluster", _("Cluster"), "cluster"),
    ("host", _("Host"), "host"),
    ("primary", _("Primary storage"), "pool"),
    ("secondary", _("Secondary storage"), "store"),
    ("enable", _("Enable the zone"), None),
)
STEP_KEYS = tuple(key for key, _title, _entry in STEPS)
ENTRY_OF = {key: entry for key, _title, entry in STEPS}
TITLE_OF = {key: title for key, title, _entry in STEPS}

# What each entry's id is read back with; a NotFound (deleted meanwhile) forgets the entry.
_LOADERS: dict[str, Callable[[User, str], Any]] = {
    "zone": lambda caller, uuid: zone_get(caller=caller, zone_id=uuid),
    "pod": lambda caller, uuid: pod_get(caller=caller, pod_id=uuid),
    "cluster": lambda caller, uuid: cluster_get(caller=caller, cluster_id=uuid),
    "host": lambda caller, uuid: host_get(caller=caller, host_id=uuid),
    "pool": lambda caller, uuid: storage_pool_get(caller=caller, pool_id=uuid),
    "store": lambda caller, uuid: image_store_get(caller=caller, store_id=uuid),
    "job": lambda caller, uuid: job_get(caller=caller, job_id=uuid),
}


@dataclass
class WizardState:
    """What the wizard has created so far, read back from the database."""

    objects: dict[str, Any] = field(default_factory=dict)

    def get(self, entry: str) -> Any:
        return self.objects.get(entry)

    def is_done(self, step: str) -> bool:
        if step == "host":
            host = self.get("host")
            return host is not None and host.status == Host.Status.UP
        if step == "enable":
            zone = self.get("zone")
            return zone is not None and zone.allocation_state == AllocationState.ENABLED
        return self.get(ENTRY_OF[step]) is not None

    @property
    def next_step(self) -> str:
        """The first step not done yet, or "done"."""
        return next((key for key in STEP_KEYS if not self.is_done(key)), "done")


def _load(request: HttpRequest) -> WizardState:
    stored = dict(request.session.get(SESSION_KEY, {}))
    state = WizardState()
    for entry, uuid in list(stored.items()):
        try:
            state.objects[entry] = _LOADERS[entry](request.user, uuid)
        except (NotFound, KeyError):
            stored.pop(entry)
    zone = state.get("zone")
    # Objects of another zone (the zone was replaced meanwhile) do not belong to this run.
    for entry in ("pod", "cluster", "host", "pool", "store"):
        obj = state.get(entry)
        if obj is not None and (zone is None or obj.zone_id != zone.pk):
            state.objects.pop(entry)
            stored.pop(entry, None)
    if stored != request.session.get(SESSION_KEY, {}):
        request.session[SESSION_KEY] = stored
    return state


def _remember(request: HttpRequest, **entries: Any) -> None:
    stored = dict(request.session.get(SESSION_KEY, {}))
    stored.update({entry: str(obj.uuid) for entry, obj in entries.items()})
    request.session[SESSION_KEY] = stored


def _forget(request: HttpRequest, *entries: str) -> None:
    stored = dict(request.session.get(SESSION_KEY, {}))
    for entry in entries:
        stored.pop(entry, None)
    request.session[SESSION_KEY] = stored


def _step_url(step: str) -> str:
    return reverse("ui:setup_done") if step == "done" else reverse(f"ui:setup_{step}")


def _context(state: WizardState, current: str) -> dict[str, Any]:
    """The progress list shown above every step."""
    steps = [{"key": key, "title": title, "url": _step_url(key), "done": state.is_done(key),
              "current": key == current, "number": number}
             for number, (key, title, _entry) in enumerate(STEPS, start=1)]
    return {"steps": steps, "state": state, "current": current, "next_url": _step_url(state.next_step)}


# --- forms ----------------------------------------------------------------------------------------------
# The add forms of the topology and storage pages, without the parent pickers (the wizard supplies the zone,
# pod and cluster it created) and with a first zone's usual values proposed.


def _propose(form: forms.Form, initial: dict[str, Any], help_texts: dict[str, Any] | None = None) -> None:
    for name, value in initial.items():
        form.fields[name].initial = value
    for name, text in (help_texts or {}).items():
        form.fields[name].help_text = text


class ZoneForm(topology_pages.ZoneForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _propose(self, {"name": "zone1", "network_type": Zone.NetworkType.ADVANCED, "dns1": "8.8.8.8",
                        "dns2": "8.8.4.4", "internal_dns1": "8.8.8.8", "guest_cidr": "10.1.1.0/24"}, {
            "network_type": _("Advanced zones give each account isolated guest networks; Basic zones put every "
                              "VM on one shared network. Fixed for the zone's life."),
            "dns1": _("Resolver the guest VMs use."),
            "internal_dns1": _("Resolver the hosts and system VMs use on the management network; use your own "
                               "resolver if you have one."),
            "network_domain": _("DNS suffix of the guest VMs, e.g. cloud.example.com.")})


class PodForm(topology_pages.PodEditForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _propose(self, {"name": "pod1", "gateway": "192.168.100.1", "netmask": "255.255.255.0",
                        "start_ip": "192.168.100.10", "end_ip": "192.168.100.200"}, {
            "start_ip": _("First address of the range the pod's system VMs take on the management network.")})


class ClusterForm(topology_pages.ClusterEditForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _propose(self, {"name": "cluster1", "hypervisor_type": "KVM",
                        "cpu_overprovisioning": config_value("cpu.overprovisioning.factor"),
                        "memory_overprovisioning": config_value("mem.overprovisioning.factor")}, {
            "hypervisor_type": _("Every host of the cluster runs this hypervisor."),
            "cpu_overprovisioning": _("How many times its real CPU the cluster may promise to VMs; starts from "
                                      "the global setting."),
            "memory_overprovisioning": _("The same for memory; 1 promises no more than there is.")})


class HostForm(host_pages.HostForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, caller=caller, **kwargs)
        del self.fields["cluster"]  # the cluster the wizard just created
        _propose(self, {"name": "host1", "url": "qemu:///system"})


class PrimaryStorageForm(pool_pages.StoragePoolForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, caller=caller, **kwargs)
        del self.fields["zone"], self.fields["cluster"]
        _propose(self, {"name": "primary1", "scope": "CLUSTER"}, {
            "scope": _("A cluster pool is used by the hosts of the cluster just created, a zone pool by every "
                       "host of the zone.")})


class SecondaryStorageForm(pool_pages.ImageStoreForm):
    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, caller=caller, **kwargs)
        del self.fields["zone"]
        _propose(self, {"name": "secondary1", "provider": ImageStore.Provider.NFS})


# --- steps ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    form: type[forms.Form]
    intro: Any  # what the step is for, shown above the form
    run: Callable[[User, WizardState, dict[str, Any]], dict[str, Any]]  # -> entries to remember
    created: Any  # flash message; %(name)s is the new object's name


def _zone(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    return {"zone": services_topology.zone_create(caller=caller, allocation_state=AllocationState.DISABLED, **data)}


def _pod(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    return {"pod": services_topology.pod_create(caller=caller, zone=state.get("zone"), **data)}


def _cluster(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": services_topology.cluster_add(caller=caller, pod=state.get("pod"), **data)}


@transaction.atomic
def _host(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    # A host whose connection failed is dropped before the retry, so a refused retry keeps it (atomic).
    failed = state.get("host")
    if failed is not None:
        services_hosts.host_delete(caller=caller, host=failed, forced=True)
    host, job = services_hosts.host_add(caller=caller, cluster=state.get("cluster"), **data)
    return {"host": host, "job": job}


def _primary(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    cluster = state.get("cluster") if data["scope"] == "CLUSTER" else None
    capacity = data["capacity_gib"] * 2**30 if data["capacity_gib"] else None
    return {"pool": services_pools.storage_pool_create(
        caller=caller, zone=state.get("zone"), cluster=cluster, name=data["name"], url=data["url"],
        scope=data["scope"], tags=data["tags"], capacity_bytes=capacity)}


def _secondary(caller: User, state: WizardState, data: dict[str, Any]) -> dict[str, Any]:
    return {"store": services_image_stores.image_store_add(caller=caller, zone=state.get("zone"), **data)}


STEP_FORMS: dict[str, Step] = {step.key: step for step in (
    Step("zone", ZoneForm, _(
        "A zone is a datacenter: the largest unit of the cloud, with its own DNS and networks. It is created "
        "Disabled, so nobody deploys into it before the last step enables it."), _zone, _("Created zone %(name)s.")),
    Step("pod", PodForm, _(
        "A pod is a rack: its hosts share a management subnet. Give its gateway and the range of addresses "
        "reserved for the cloud's system VMs; the range must be inside the subnet and leave the gateway out."),
        _pod, _("Created pod %(name)s.")),
    Step("cluster", ClusterForm, _(
        "A cluster is a group of hosts with the same hypervisor that share primary storage; VMs can move "
        "between its hosts."), _cluster, _("Created cluster %(name)s.")),
    Step("host", HostForm, _(
        "A host is a server running libvirt. The management server connects to it in the background and "
        "learns its CPUs and memory; continue once it is Up."), _host, _("Adding host %(name)s…")),
    Step("primary", PrimaryStorageForm, _(
        "Primary storage holds the VMs' disks. Every host of its scope must reach it; the hosts define it in "
        "the background."), _primary, _("Created storage pool %(name)s.")),
    Step("secondary", SecondaryStorageForm, _(
        "Secondary storage (an image store) keeps the zone's templates, ISOs and snapshot backups."),
        _secondary, _("Added image store %(name)s.")),
)}


def _out_of_order(state: WizardState, step: str) -> HttpResponse | None:
    """A step opened before the ones it builds on goes back to the first step left to do."""
    expected = state.next_step
    if expected != "done" and STEP_KEYS.index(step) > STEP_KEYS.index(expected):
        return redirect(_step_url(expected))
    return None


def _host_progress(state: WizardState) -> dict[str, Any]:
    """The host's connection job, for the host step: pending, failed (with why) or done."""
    host, job = state.get("host"), state.get("job")
    if host is None:
        return {}
    pending = job is not None and job.status == AsyncJob.Status.PENDING
    failed = host.status != Host.Status.UP and not pending
    result = (job.result or {}) if job is not None else {}
    return {"host": host, "job": job, "pending": pending, "failed": failed,
            "error_text": result.get("errortext", "") if failed else ""}


def _discard_host(request: HttpRequest, host: Host) -> HttpResponse:
    """Drop a host whose connection failed, so a wizard left there leaves nothing half-made behind."""
    try:
        services_hosts.host_delete(caller=request.user, host=host, forced=True)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        _forget(request, "host", "job")
        messages.success(request, _("Removed host %(name)s.") % {"name": host.name})
    return redirect(_step_url("host"))


def _step_view(key: str) -> Callable[[HttpRequest], HttpResponse]:
    step = STEP_FORMS[key]

    @require_http_methods(["GET", "HEAD", "POST"])
    @requires(ACTION)
    @http_errors
    def view(request: HttpRequest) -> HttpResponse:
        state = _load(request)
        if (back := _out_of_order(state, key)) is not None:
            return back
        progress = _host_progress(state) if key == "host" else {}
        # A step already done shows what it created; only a failed host connection is retried here.
        editable = not state.is_done(key) and not progress.get("pending")
        if request.method == "POST" and not editable:
            return redirect(_step_url(state.next_step))
        if request.method == "POST" and "discard" in request.POST and progress.get("failed"):
            return _discard_host(request, progress["host"])
        form = step.form(request.POST if request.method == "POST" else None, caller=request.user)
        done = form_submit(request, form, lambda data: step.run(request.user, state, data))
        if done:
            _remember(request, **done.value)
            created = next(iter(done.value.values()))
            messages.success(request, step.created % {"name": created.name})
            return redirect(_step_url(key) if key == "host" else _step_url(STEP_KEYS[STEP_KEYS.index(key) + 1]))
        return form_page(request, "ui/setup/step.html", form, {
            **_context(state, key), **progress, "step": step, "editable": editable,
            "created": state.get(ENTRY_OF[key]), "title": TITLE_OF[key]})

    view.__name__ = view.__qualname__ = f"setup_{key}"
    return view


@require_safe
@requires(ACTION)
@http_errors
def start(request: HttpRequest) -> HttpResponse:
    """The wizard's first page: what it will do, and where a started run stands."""
    state = _load(request)
    return render(request, "ui/setup/start.html", {**_context(state, ""), "started": bool(state.objects)})


@require_http_methods(["GET", "HEAD", "POST"])
@requires(ACTION)
@http_errors
def enable(request: HttpRequest) -> HttpResponse:
    state = _load(request)
    if (back := _out_of_order(state, "enable")) is not None:
        return back
    if state.is_done("enable"):
        return redirect("ui:setup_done")
    form = forms.Form(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: services_topology.zone_update(
        caller=request.user, zone=state.get("zone"), allocation_state=AllocationState.ENABLED))
    if done:
        messages.success(request, _("Zone %(name)s is enabled.") % {"name": done.value.name})
        return redirect("ui:setup_done")
    return form_page(request, "ui/setup/enable.html", form, _context(state, "enable"))


@require_safe
@requires(ACTION)
@http_errors
def done(request: HttpRequest) -> HttpResponse:
    """The summary, with links to everything the wizard created."""
    state = _load(request)
    if state.next_step != "done":
        return redirect(_step_url(state.next_step))
    return render(request, "ui/setup/done.html", _context(state, "done"))


@require_POST
@requires(ACTION)
@http_errors
def restart(request: HttpRequest) -> HttpResponse:
    """Forget the current run (what it created stays) to set up another zone."""
    request.session.pop(SESSION_KEY, None)
    return redirect("ui:setup_zone")


urlpatterns = [
    path("infrastructure/setup/", start, name="setup_wizard"),
    *[path(f"infrastructure/setup/{key}/", _step_view(key), name=f"setup_{key}") for key in STEP_FORMS],
    path("infrastructure/setup/enable/", enable, name="setup_enable"),
    path("infrastructure/setup/done/", done, name="setup_done"),
    path("infrastructure/setup/restart/", restart, name="setup_restart"),
]
