"""Web UI pages for virtual machines: the list, the VM page with its tabs, and the VM's actions.

A door: it parses the request, calls compute.selectors / the compute services and renders. Whether an action
button is shown is decided by the state machine and portal.authz.can; whether it runs is decided by the
service (which refuses with a ServiceError that is shown to the user, nothing changed). The deploy wizard is
compute.views_deploy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from compute import services, services_migration, services_vm_ops
from compute.forms import AttachIsoForm, MigrateForm, ResetSshKeyForm, ResizeForm, VmActionForm, VmFilterForm
from compute.models import VirtualMachine
from compute.selectors import VmFilters, vm_get, vm_list
from compute.services_console import CONSOLE_STATES
from compute.services_lifecycle import may_expunge_or_recover
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from portal.authz import Role, can, role_of
from portal.errors import NotFound, ServiceError
from portal.models import AsyncJob
from portal.selectors import event_list, job_list
from portal.ui.access import requires
from portal.ui.forms import form_submit
from portal.ui.shortcuts import (
    VM_INSTANCE_TYPE,
    cmd_label,
    http_errors,
    job_rows,
    pending_jobs_by_instance,
)
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

Data = Mapping[str, Any]


@dataclass(frozen=True)
class VmAction:
    """One action of the VM page. Without `form` it is a POST button; with one, the button opens a small
    form page whose POST runs it. `run` gets the posted (or cleaned) data and returns a job to follow, or
    the VM when the service works synchronously."""

    name: str
    label: str
    permission: str
    run: Callable[[User, VirtualMachine, Data], AsyncJob | VirtualMachine]
    is_valid_for: Callable[[VirtualMachine], bool]
    requested: str  # flash message once done or submitted; %(name)s is the VM's name
    confirm: str = ""
    form: type[VmActionForm] | None = None
    style: str = ""  # "primary", "danger" or ""
    intro: str = ""  # what the form page says about the action
    # A rule beyond the authz action that decides whether the button is offered (e.g. users may recover and
    # expunge only where allow.user.expunge.recover.vm says so); the service applies the same rule.
    may: Callable[[User, VirtualMachine], bool] | None = None

    @property
    def route(self) -> str:
        return f"compute:vm_{self.name}"

    @property
    def needs_input(self) -> bool:
        """For templates, which would call the form class if asked about `form`."""
        return self.form is not None


def _allows(event: str) -> Callable[[VirtualMachine], bool]:
    return lambda vm: VM_STATE_MACHINE.allows(vm.state, event)


def _in(*states: str) -> Callable[[VirtualMachine], bool]:
    return lambda vm: vm.state in states


def _flag(data: Data, name: str) -> bool:
    return data.get(name) in ("1", "on", "true", True)


ACTIONS: dict[str, VmAction] = {
    action.name: action
    for action in (
        VmAction("start", gettext_lazy("Start"), "vm.start",
                 lambda caller, vm, data: services.vm_start(caller=caller, vm=vm),
                 _allows(VmEvent.START_REQUESTED), gettext_lazy("Starting VM %(name)s."), style="primary"),
        VmAction("stop", gettext_lazy("Stop"), "vm.stop",
                 lambda caller, vm, data: services.vm_stop(caller=caller, vm=vm, forced=_flag(data, "forced")),
                 _allows(VmEvent.STOP_REQUESTED), gettext_lazy("Stopping VM %(name)s.")),
        VmAction("reboot", gettext_lazy("Reboot"), "vm.reboot",
                 lambda caller, vm, data: services.vm_reboot(caller=caller, vm=vm),
                 _allows(VmEvent.REBOOT_REQUESTED), gettext_lazy("Rebooting VM %(name)s.")),
        # A running VM is force-stopped by the destroy job itself.
        VmAction("destroy", gettext_lazy("Destroy"), "vm.destroy",
                 lambda caller, vm, data: services.vm_destroy(caller=caller, vm=vm,
                                                              expunge=_flag(data, "expunge")),
                 lambda vm: vm.state == VmState.RUNNING or VM_STATE_MACHINE.allows(vm.state,
                                                                                   VmEvent.DESTROY_REQUESTED),
                 gettext_lazy("Destroying VM %(name)s."),
                 confirm=gettext_lazy("Destroy this VM? It can be recovered until it is expunged."),
                 style="danger"),
        VmAction("recover", gettext_lazy("Recover"), "vm.recover",
                 lambda caller, vm, data: services.vm_recover(caller=caller, vm=vm),
                 _allows(VmEvent.RECOVERY_REQUESTED), gettext_lazy("Recovered VM %(name)s."),
                 may=may_expunge_or_recover),
        VmAction("expunge", gettext_lazy("Expunge"), "vm.expunge",
                 lambda caller, vm, data: services.vm_expunge(caller=caller, vm=vm),
                 _allows(VmEvent.EXPUNGE_REQUESTED), gettext_lazy("Expunging VM %(name)s."),
                 confirm=gettext_lazy("Expunge this VM? Its disks are deleted for good."), style="danger",
                 may=may_expunge_or_recover),
        VmAction("restore", gettext_lazy("Restore"), "vm.restore",
                 lambda caller, vm, data: services.vm_restore(caller=caller, vm=vm),
                 _in(VmState.RUNNING, VmState.STOPPED), gettext_lazy("Restoring VM %(name)s."),
                 confirm=gettext_lazy("Restore this VM? Its root disk is replaced by a fresh copy of its "
                                      "template; what is on it now is lost.")),
        VmAction("scale", gettext_lazy("Scale"), "vm.scale",
                 lambda caller, vm, data: services_vm_ops.vm_scale(
                     caller=caller, vm=vm, service_offering=data["service_offering"],
                     cpu_number=data["cpu_number"], cpu_speed=data["cpu_speed"], memory=data["memory"]),
                 _in(VmState.RUNNING), gettext_lazy("Scaling VM %(name)s."), form=ResizeForm,
                 intro=gettext_lazy("Give the running VM more or fewer CPU cores and memory, within what the "
                                    "offerings allow; it keeps running.")),
        VmAction("change_offering", gettext_lazy("Change offering"), "vm.change_offering",
                 lambda caller, vm, data: services_vm_ops.vm_change_offering(
                     caller=caller, vm=vm, service_offering=data["service_offering"],
                     cpu_number=data["cpu_number"], cpu_speed=data["cpu_speed"], memory=data["memory"]),
                 _in(VmState.STOPPED), gettext_lazy("VM %(name)s has its new offering."), form=ResizeForm,
                 intro=gettext_lazy("The stopped VM gets the new offering's size at its next start.")),
        VmAction("attach_iso", gettext_lazy("Attach ISO"), "vm.iso",
                 lambda caller, vm, data: services_vm_ops.vm_attach_iso(caller=caller, vm=vm, iso=data["iso"]),
                 lambda vm: vm.state in (VmState.RUNNING, VmState.STOPPED) and vm.iso_id is None,
                 gettext_lazy("Attaching an ISO to VM %(name)s."), form=AttachIsoForm,
                 intro=gettext_lazy("The ISO goes into the VM's CD drive.")),
        VmAction("detach_iso", gettext_lazy("Detach ISO"), "vm.iso",
                 lambda caller, vm, data: services_vm_ops.vm_detach_iso(caller=caller, vm=vm),
                 lambda vm: vm.state in (VmState.RUNNING, VmState.STOPPED) and vm.iso_id is not None,
                 gettext_lazy("Detaching the ISO of VM %(name)s.")),
        VmAction("reset_ssh_key", gettext_lazy("Reset SSH key"), "vm.reset_ssh_key",
                 lambda caller, vm, data: services_vm_ops.vm_reset_ssh_key(
                     caller=caller, vm=vm, key_pairs=[pair.name for pair in data["key_pairs"]]),
                 _in(VmState.STOPPED), gettext_lazy("Resetting the SSH keys of VM %(name)s."),
                 form=ResetSshKeyForm),
        VmAction("migrate", gettext_lazy("Migrate"), "vm.migrate",
                 lambda caller, vm, data: services_migration.vm_migrate(caller=caller, vm=vm, host=data["host"]),
                 _in(VmState.RUNNING), gettext_lazy("Migrating VM %(name)s."), form=MigrateForm,
                 intro=gettext_lazy("Move the running VM to another host without stopping it.")),
    )
}


def offered(action: VmAction, caller: User, vm: VirtualMachine) -> bool:
    return (action.is_valid_for(vm) and can(caller, action.permission, vm)
            and (action.may is None or action.may(caller, vm)))


def available_actions(caller: User, vm: VirtualMachine) -> list[VmAction]:
    return [a for a in ACTIONS.values() if offered(a, caller, vm)]


def is_admin(caller: User) -> bool:
    return role_of(caller) in (Role.ROOT_ADMIN, Role.DOMAIN_ADMIN)


VM_TABLE = TableSpec(
    id="vm-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("display_name", gettext_lazy("Display name"), ("display_name",), css="hide-sm"),
        Column("state", gettext_lazy("State"), ("state",)),
        Column("account", gettext_lazy("Account"), ("account__name",), css="hide-sm"),
        Column("domain", gettext_lazy("Domain"), ("domain__path",), css="hide-md"),
        Column("zone", gettext_lazy("Zone"), ("zone__name",)),
        Column("offering", gettext_lazy("Offering"), ("service_offering__name",), css="hide-md"),
        Column("template", gettext_lazy("Template"), ("template__name",), css="hide-md"),
        Column("host", gettext_lazy("Host"), ("host__name",), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",)),
    ),
    default_sort="-created",
    search_placeholder=gettext_lazy("Search by name"),
)


def vm_rows(caller: User, vms: list[VirtualMachine]) -> list[dict[str, object]]:
    """Each VM with its newest pending job (one query for the page), which the row shows as a link."""
    pending = pending_jobs_by_instance(caller=caller, instance_type=VM_INSTANCE_TYPE,
                                       instance_ids=[vm.uuid for vm in vms])
    rows = []
    for vm in vms:
        job = pending.get(str(vm.uuid))
        rows.append({"vm": vm, "job": job, "job_label": cmd_label(job.cmd) if job else ""})
    return rows


@require_safe
@requires("vm.list")
@http_errors
def vm_list_view(request: HttpRequest) -> HttpResponse:
    """Users see their VMs (and those shared with them); admins every VM of their reach, with the account and
    domain of each and filters by them."""
    admin = is_admin(request.user)
    filter_form = VmFilterForm(request.GET or None, caller=request.user, admin=admin)
    filters, account, domain = VmFilters(), None, None
    if filter_form.is_valid():
        data = filter_form.cleaned_data
        zone = data["zone"]
        filters = VmFilters(keyword=data["q"] or None, state=data["state"] or None,
                            zone_id=str(zone.uuid) if zone else None)
        account, domain = data.get("account"), data.get("domain")
    vms = vm_list(caller=request.user, filters=filters)
    if account is not None:
        vms = vms.filter(account=account)
    if domain is not None:
        vms = vms.filter(domain__path__startswith=domain.path)
    show_host = can(request.user, "host.list")
    hidden = [] if show_host else ["host"]
    if not admin:
        hidden += ["account", "domain"]
    spec = VM_TABLE.without(*hidden)
    table = build_table(spec, parse_query(request, spec), vms, rows=lambda page: vm_rows(request.user, page))
    return render_table(request, table, "compute/vm_list.html", "compute/_vm_table.html", {
        "filter_form": filter_form,
        "show_host": show_host,
        "show_owner": admin,
    })


TABS: tuple[tuple[str, Any], ...] = (
    ("overview", gettext_lazy("Overview")),
    ("volumes", gettext_lazy("Volumes")),
    ("nics", gettext_lazy("NICs")),
    ("snapshots", gettext_lazy("Snapshots")),
    ("events", gettext_lazy("Events")),
    ("metrics", gettext_lazy("Metrics")),
)


def _url_or_empty(name: str, vm: VirtualMachine) -> str:
    """A panel served by another part of the UI (snapshots, metrics); empty while it is not installed."""
    try:
        return reverse(name, args=[vm.uuid])
    except NoReverseMatch:
        return ""


def _tab_context(request: HttpRequest, vm: VirtualMachine, tab: str) -> dict[str, Any]:
    if tab == "overview":
        vm_jobs = job_list(caller=request.user).filter(instance_type=VM_INSTANCE_TYPE, instance_id=str(vm.uuid))
        return {"job_rows": job_rows(caller=request.user, jobs=vm_jobs[:10]),
                "key_pairs": [name for name in vm.key_pair_names.split(",") if name],
                "affinity_groups": list(vm.affinity_groups.all())}
    if tab == "volumes":
        return {"volumes": list(vm.volumes.filter(removed__isnull=True).select_related("disk_offering",
                                                                                         "storage_pool")
                                .order_by("device_id", "id"))}
    if tab == "events":
        return {"events": event_list(caller=request.user).filter(resource_type=VM_INSTANCE_TYPE,
                                                                 resource_id=str(vm.uuid))[:50]}
    if tab == "snapshots":
        return {"panel_url": _url_or_empty("compute:vm_snapshots", vm)}
    if tab == "metrics":
        url = _url_or_empty("compute:vm_metrics", vm)
        return {"panel_url": f"{url}?period=1h" if url else ""}
    return {}


def _console_url(caller: User, vm: VirtualMachine) -> str:
    """The console page's URL while the VM has a console and the caller may open it; else empty (no button)."""
    if vm.state not in CONSOLE_STATES or not can(caller, "vm.console", vm):
        return ""
    return _url_or_empty("compute:vm_console", vm)


@require_safe
@requires("vm.view")
@http_errors
def vm_detail(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    tab = request.GET.get("tab", "overview")
    if tab not in dict(TABS):
        tab = "overview"
    pending = job_list(caller=request.user, pending_only=True).filter(
        instance_type=VM_INSTANCE_TYPE, instance_id=str(vm.uuid)).first()
    return render(request, "compute/vm_detail.html", {
        "vm": vm,
        "actions": available_actions(request.user, vm),
        "console_url": _console_url(request.user, vm),
        "can_expunge": can(request.user, "vm.expunge", vm) and may_expunge_or_recover(request.user, vm),
        "pending_job": pending,
        "tab": tab,
        "tabs": TABS,
        "show_host": can(request.user, "host.list"),
        **_tab_context(request, vm, tab),
    })


def _done(request: HttpRequest, spec: VmAction, vm: VirtualMachine, result: object) -> HttpResponse:
    messages.success(request, str(spec.requested) % {"name": vm.name})
    if isinstance(result, AsyncJob):
        return redirect("ui:job_detail", job_id=result.uuid)
    return redirect("compute:vm_detail", vm_id=vm.uuid)


@http_errors
def vm_action(request: HttpRequest, vm_id: str, action: str) -> HttpResponse:
    spec = ACTIONS[action]
    vm = vm_get(caller=request.user, vm_id=vm_id)  # another tenant's VM: 404 before anything runs
    try:
        result = spec.run(request.user, vm, request.POST)
    except NotFound:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("compute:vm_detail", vm_id=vm.uuid)
    return _done(request, spec, vm, result)


def _form_kwargs(spec: VmAction, request: HttpRequest, vm: VirtualMachine) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"caller": request.user, "vm": vm}
    if spec.form is MigrateForm:
        kwargs["candidates"] = services_migration.hosts_for_migration(caller=request.user, vm=vm)
    return kwargs


@http_errors
def vm_action_form(request: HttpRequest, vm_id: str, action: str) -> HttpResponse:
    """The small form page of an action that needs input; a refusal shows on it, nothing changed."""
    spec = ACTIONS[action]
    vm = vm_get(caller=request.user, vm_id=vm_id)
    if not offered(spec, request.user, vm):
        messages.error(request, _("%(action)s is not possible for VM %(name)s now.") % {
            "action": spec.label, "name": vm.name})
        return redirect("compute:vm_detail", vm_id=vm.uuid)
    try:
        form = spec.form(request.POST if request.method == "POST" else None, **_form_kwargs(spec, request, vm))
    except ServiceError as exc:  # e.g. the candidates of a VM that is no longer running
        messages.error(request, exc.message)
        return redirect("compute:vm_detail", vm_id=vm.uuid)
    done = form_submit(request, form, lambda data: spec.run(request.user, vm, data))
    if done:
        return _done(request, spec, vm, done.value)
    return render(request, "compute/vm_action_form.html", {"vm": vm, "action": spec, "form": form},
                  status=400 if form.errors else 200)


def vm_action_view(action: str) -> Callable[..., HttpResponse]:
    """The route of one action: POST only (GET too for a form page), declaring the authz action it runs
    (portal.ui.access). Whether it may run on this VM in its state is the service's decision."""
    spec = ACTIONS[action]
    if spec.form is not None:
        return require_http_methods(["GET", "HEAD", "POST"])(requires(spec.permission)(vm_action_form))
    return require_POST(requires(spec.permission)(vm_action))
