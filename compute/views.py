"""Web UI pages for virtual machines: list, detail, deploy, and the power actions.

A door: it parses the request, calls compute.selectors / compute.services and renders. Whether an action
button is shown is decided by the state machine and portal.authz.can; whether it runs is decided by the
service (which refuses with a ServiceError that is shown to the user, nothing changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from compute import services
from compute.forms import DeployVmForm, VmFilterForm
from compute.models import VirtualMachine
from compute.selectors import VmFilters, vm_get, vm_list
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from portal.authz import can
from portal.errors import ServiceError
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


@dataclass(frozen=True)
class VmAction:
    name: str
    label: str
    permission: str
    run: Callable[[User, VirtualMachine, HttpRequest], AsyncJob]
    is_valid_in: Callable[[str], bool]
    requested: str  # flash message once the job is submitted; %(name)s is the VM's name
    confirm: str = ""


def _stop(caller: User, vm: VirtualMachine, request: HttpRequest) -> AsyncJob:
    return services.vm_stop(caller=caller, vm=vm, forced=request.POST.get("forced") == "1")


ACTIONS: dict[str, VmAction] = {
    action.name: action
    for action in (
        VmAction("start", gettext_lazy("Start"), "vm.start",
                 lambda caller, vm, request: services.vm_start(caller=caller, vm=vm),
                 lambda state: VM_STATE_MACHINE.allows(state, VmEvent.START_REQUESTED),
                 gettext_lazy("Starting VM %(name)s.")),
        VmAction("stop", gettext_lazy("Stop"), "vm.stop", _stop,
                 lambda state: VM_STATE_MACHINE.allows(state, VmEvent.STOP_REQUESTED),
                 gettext_lazy("Stopping VM %(name)s.")),
        VmAction("reboot", gettext_lazy("Reboot"), "vm.reboot",
                 lambda caller, vm, request: services.vm_reboot(caller=caller, vm=vm),
                 lambda state: VM_STATE_MACHINE.allows(state, VmEvent.REBOOT_REQUESTED),
                 gettext_lazy("Rebooting VM %(name)s.")),
        # A running VM is force-stopped by the destroy job itself.
        VmAction("destroy", gettext_lazy("Destroy"), "vm.destroy",
                 lambda caller, vm, request: services.vm_destroy(caller=caller, vm=vm),
                 lambda state: state == VmState.RUNNING
                 or VM_STATE_MACHINE.allows(state, VmEvent.DESTROY_REQUESTED),
                 gettext_lazy("Destroying VM %(name)s."),
                 confirm=gettext_lazy("Destroy this VM? Its disk is deleted.")),
    )
}


def available_actions(caller: User, vm: VirtualMachine) -> list[VmAction]:
    return [a for a in ACTIONS.values() if a.is_valid_in(vm.state) and can(caller, a.permission, vm)]


VM_TABLE = TableSpec(
    id="vm-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("display_name", gettext_lazy("Display name"), ("display_name",), css="hide-sm"),
        Column("state", gettext_lazy("State"), ("state",)),
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
    filter_form = VmFilterForm(request.GET or None)
    filters = VmFilters()
    if filter_form.is_valid():
        filters = VmFilters(keyword=filter_form.cleaned_data["q"] or None,
                            state=filter_form.cleaned_data["state"] or None)
    show_host = can(request.user, "host.list")
    spec = VM_TABLE if show_host else VM_TABLE.without("host")
    table = build_table(spec, parse_query(request, spec), vm_list(caller=request.user, filters=filters),
                        rows=lambda vms: vm_rows(request.user, vms))
    return render_table(request, table, "compute/vm_list.html", "compute/_vm_table.html", {
        "filter_form": filter_form,
        "show_host": show_host,
    })


@require_safe
@requires("vm.view")
@http_errors
def vm_detail(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    vm_jobs = job_list(caller=request.user).filter(instance_type=VM_INSTANCE_TYPE, instance_id=str(vm.uuid))
    rows = job_rows(caller=request.user, jobs=vm_jobs[:10])
    pending = next((row.job for row in rows if row.job.status == AsyncJob.Status.PENDING), None)
    events = event_list(caller=request.user).filter(resource_type=VM_INSTANCE_TYPE,
                                                    resource_id=str(vm.uuid))[:10]
    return render(request, "compute/vm_detail.html", {
        "vm": vm,
        "actions": available_actions(request.user, vm),
        "pending_job": pending,
        "job_rows": rows,
        "events": events,
        "show_host": can(request.user, "host.list"),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires("vm.deploy")
@http_errors
def vm_deploy(request: HttpRequest) -> HttpResponse:
    form = DeployVmForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services.vm_deploy(
        caller=request.user, zone=data["zone"], service_offering=data["service_offering"],
        template=data["template"], name=data["name"] or None, display_name=data["display_name"],
        start_vm=data["start_vm"]))
    if done:
        vm, job = done.value
        messages.success(request, _("Deploying VM %(name)s.") % {"name": vm.name})
        return redirect("ui:job_detail", job_id=job.uuid)
    # Answers 200 even after a refusal, as this page always has (form_page would answer 400).
    return render(request, "compute/vm_deploy.html", {"form": form})


@http_errors
def vm_action(request: HttpRequest, vm_id: str, action: str) -> HttpResponse:
    spec = ACTIONS[action]
    vm = vm_get(caller=request.user, vm_id=vm_id)  # another tenant's VM: 404 before anything runs
    try:
        job = spec.run(request.user, vm, request)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("compute:vm_detail", vm_id=vm.uuid)
    messages.success(request, str(spec.requested) % {"name": vm.name})
    return redirect("ui:job_detail", job_id=job.uuid)


def vm_action_view(action: str) -> Callable[..., HttpResponse]:
    """The route of one power action: POST only, declaring the authz action it runs (portal.ui.access).
    Whether it may run on this VM in its state is the service's decision."""
    return require_POST(requires(ACTIONS[action].permission)(vm_action))
