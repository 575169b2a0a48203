"""Web UI pages for virtual machines: list, detail, deploy, and the power actions.

A door: it parses the request, calls compute.selectors / compute.services and renders. Whether an action
button is shown is decided by the state machine and portal.authz.can; whether it runs is decided by the
service (which refuses with a ServiceError that is shown to the user, nothing changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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
from portal.ui.shortcuts import (
    VM_INSTANCE_TYPE,
    cmd_label,
    http_errors,
    job_rows,
    paginate,
    pending_jobs_by_instance,
    querystring_without_page,
)


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


@require_safe
@login_required
@http_errors
def vm_list_view(request: HttpRequest) -> HttpResponse:
    filter_form = VmFilterForm(request.GET or None)
    filters = VmFilters()
    if filter_form.is_valid():
        filters = VmFilters(keyword=filter_form.cleaned_data["q"] or None,
                            state=filter_form.cleaned_data["state"] or None)
    page = paginate(request, vm_list(caller=request.user, filters=filters))
    vms = list(page.object_list)
    pending = pending_jobs_by_instance(caller=request.user, instance_type=VM_INSTANCE_TYPE,
                                       instance_ids=[vm.uuid for vm in vms])
    return render(request, "compute/vm_list.html", {
        "page": page,
        "rows": [{"vm": vm, "job": job, "job_label": cmd_label(job.cmd) if job else ""}
                 for vm, job in ((vm, pending.get(str(vm.uuid))) for vm in vms)],
        "filter_form": filter_form,
        "show_host": can(request.user, "host.list"),
        "querystring": querystring_without_page(request),
    })


@require_safe
@login_required
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
        # Refresh while something is under way, until live push arrives.
        "auto_refresh": pending is not None or vm.state in (VmState.STARTING, VmState.STOPPING),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@http_errors
def vm_deploy(request: HttpRequest) -> HttpResponse:
    form = DeployVmForm(request.POST if request.method == "POST" else None, caller=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vm, job = services.vm_deploy(
                caller=request.user, zone=data["zone"], service_offering=data["service_offering"],
                template=data["template"], name=data["name"] or None, display_name=data["display_name"],
                start_vm=data["start_vm"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Deploying VM %(name)s.") % {"name": vm.name})
            return redirect("ui:job_detail", job_id=job.uuid)
    return render(request, "compute/vm_deploy.html", {"form": form})


@require_POST
@login_required
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
