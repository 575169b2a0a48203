"""Web UI of VM snapshots: the "Snapshots" panel of the VM page (URL name compute:vm_snapshots), and its take,
revert and delete buttons (POST only).

The VM page loads the panel with htmx into its Snapshots tab; the panel's forms swap it in place. Without
JavaScript the panel's URL is a page of its own, and the forms post and redirect back to the VM page. What may
be done is the services' decision; a refusal is shown on the panel and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from compute import services_vm_snapshots
from compute.models import VirtualMachine, VMSnapshot
from compute.selectors import vm_get
from compute.selectors_vm_snapshots import vm_snapshot_get, vm_snapshot_list
from portal.authz import can
from portal.errors import NotFound, PermissionDenied, ServiceError
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors


class TakeSnapshotForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=255, required=False)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=4096, required=False)
    memory = forms.BooleanField(label=gettext_lazy("Include memory"), required=False)


def _panel(request: HttpRequest, vm: VirtualMachine, status: int = 200) -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    template = "compute/_vm_snapshots.html" if htmx and not htmx.boosted else "compute/vm_snapshots.html"
    snapshots = list(vm_snapshot_list(caller=request.user, vm=vm))
    return render(request, template, {
        "vm": vm,
        "vm_snapshots": snapshots,
        "can_manage": can(request.user, "vm.snapshot.create", vm),
    }, status=status)


def _back(request: HttpRequest, vm: VirtualMachine) -> HttpResponse:
    if getattr(request, "htmx", None):
        return _panel(request, vm)
    return redirect(reverse("compute:vm_detail", args=[vm.uuid]) + "?tab=snapshots")


def _snapshot_of(request: HttpRequest, vm: VirtualMachine, snapshot_id: str) -> VMSnapshot:
    snapshot = vm_snapshot_get(caller=request.user, snapshot_id=snapshot_id)
    if snapshot.virtual_machine_id != vm.pk:
        raise NotFound(_("Unable to find a VM snapshot with this ID."))
    return snapshot


@require_http_methods(["GET", "HEAD"])
@requires("vm.snapshot.list")
@http_errors
def vm_snapshots(request: HttpRequest, vm_id: str) -> HttpResponse:
    return _panel(request, vm_get(caller=request.user, vm_id=vm_id))


@require_POST
@requires("vm.snapshot.create")
@http_errors
def vm_snapshot_take(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    form = TakeSnapshotForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, vm)
    data = form.cleaned_data
    try:
        snapshot, _job = services_vm_snapshots.vm_snapshot_create(
            caller=request.user, vm=vm, name=data["name"], description=data["description"], memory=data["memory"])
    except PermissionDenied:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Taking snapshot %(snapshot)s of VM %(name)s.") % {
            "snapshot": snapshot, "name": vm.name})
    return _back(request, vm)


def _on_snapshot(request: HttpRequest, vm_id: str, snapshot_id: str, run: Callable[..., object],
                 done: str) -> HttpResponse:
    """Revert and delete differ only in the service they call and what they say once it is queued; a refusal
    is shown as a message and changes nothing, a permission refusal stays a 403."""
    vm = vm_get(caller=request.user, vm_id=vm_id)
    snapshot = _snapshot_of(request, vm, snapshot_id)
    try:
        run(caller=request.user, snapshot=snapshot)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"name": vm.name, "snapshot": snapshot})
    return _back(request, vm)


@require_POST
@requires("vm.snapshot.revert")
@http_errors
def vm_snapshot_revert(request: HttpRequest, vm_id: str, snapshot_id: str) -> HttpResponse:
    return _on_snapshot(request, vm_id, snapshot_id, services_vm_snapshots.vm_snapshot_revert,
                        _("Reverting VM %(name)s to snapshot %(snapshot)s."))


@require_POST
@requires("vm.snapshot.delete")
@http_errors
def vm_snapshot_delete(request: HttpRequest, vm_id: str, snapshot_id: str) -> HttpResponse:
    return _on_snapshot(request, vm_id, snapshot_id, services_vm_snapshots.vm_snapshot_delete,
                        _("Deleting snapshot %(snapshot)s of VM %(name)s."))
