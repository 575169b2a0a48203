"""Job handlers of VM snapshots (compute.services_vm_snapshots). They run in the worker of the queue of the host
holding the VM's domain (where it runs, else where it ran), call the hypervisor driver and record the outcome
through the services."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from compute import services_vm_snapshots as snapshots
from compute.models import VirtualMachine, VMSnapshot
from compute.states import VmSnapshotState, VmState
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import InvalidState, OperationFailed
from portal.jobs import JobOutcome, job_progress
from portal.models import AsyncJob

logger = logging.getLogger(__name__)


def _snapshot(job: AsyncJob) -> VMSnapshot:
    return VMSnapshot.objects.select_related(
        "virtual_machine", "virtual_machine__host", "virtual_machine__last_host", "account").get(
        uuid=job.instance_id)


def _host(vm: VirtualMachine) -> Host:
    host = vm.host or vm.last_host
    if host is None:
        raise OperationFailed(_("VM %(name)s is on no host.") % {"name": vm.name})
    return host


def _expect(snapshot: VMSnapshot, state: str) -> None:
    """Guard against a job whose snapshot was changed meanwhile (a retried or duplicated message)."""
    if snapshot.state != state:
        raise InvalidState(_("Snapshot %(name)s is %(state)s, expected %(expected)s.") % {
            "name": snapshot, "state": snapshot.state, "expected": state})


def run_vm_snapshot_create(job: AsyncJob) -> JobOutcome:
    snapshot = _snapshot(job)
    _expect(snapshot, VmSnapshotState.CREATING)
    vm = snapshot.virtual_machine
    job_progress(job, 10)
    try:
        hv.snapshot_create(_host(vm).url, vm.instance_name, snapshot.name, memory=bool(job.params.get("memory")),
                           description=snapshot.description)
    except (hv.HypervisorError, OperationFailed) as exc:
        snapshots.vm_snapshot_record_create_failed(snapshot=snapshot, reason=str(exc))
        raise OperationFailed(_("Failed to create vm snapshot %(name)s of VM %(vm)s: %(error)s") % {
            "name": snapshot, "vm": vm.name, "error": exc}) from exc
    snapshots.vm_snapshot_record_created(snapshot=snapshot)
    return JobOutcome.of(snapshot)


def run_vm_snapshot_revert(job: AsyncJob) -> JobOutcome:
    """The job acts on the VM (CloudStack answers revertToVMSnapshot with the VM); params name the snapshot."""
    snapshot = VMSnapshot.objects.select_related("virtual_machine", "virtual_machine__host",
                                                 "virtual_machine__last_host").get(pk=job.params["snapshot"])
    _expect(snapshot, VmSnapshotState.REVERTING)
    vm = snapshot.virtual_machine
    job_progress(job, 10)
    try:
        if vm.state not in (VmState.RUNNING, VmState.STOPPED):
            raise OperationFailed(_("VM %(name)s is %(state)s.") % {"name": vm.name, "state": vm.state})
        host = _host(vm)
        hv.snapshot_revert(host.url, vm.instance_name, snapshot.name)
        # A memory revert restarts the guest's QEMU process: its console port may have changed.
        vnc = hv.vnc_endpoint(host.url, vm.instance_name) if vm.state == VmState.RUNNING else None
    except (hv.HypervisorError, OperationFailed) as exc:
        snapshots.vm_snapshot_record_revert_failed(snapshot=snapshot, params=job.params, reason=str(exc))
        raise OperationFailed(_("Failed to revert VM %(vm)s to snapshot %(name)s: %(error)s") % {
            "name": snapshot, "vm": vm.name, "error": exc}) from exc
    vm = snapshots.vm_snapshot_record_reverted(snapshot=snapshot, params=job.params, console=vnc)
    return JobOutcome.of(vm)


def run_vm_snapshot_delete(job: AsyncJob) -> JobOutcome:
    """A VM whose domain is gone (destroyed, or never defined on its host) has no snapshot left to delete
    there: the row is removed all the same."""
    snapshot = _snapshot(job)
    _expect(snapshot, VmSnapshotState.EXPUNGING)
    vm = snapshot.virtual_machine
    host = vm.host or vm.last_host
    try:
        if host is not None and vm.state not in (VmState.DESTROYED, VmState.EXPUNGING):
            hv.snapshot_delete(host.url, vm.instance_name, snapshot.name)
    except hv.DomainNotFound:
        logger.warning("domain %s is gone from %s; snapshot %s goes with it", vm.instance_name, host.name,
                       snapshot.name)
    except hv.HypervisorError as exc:
        snapshots.vm_snapshot_record_delete_failed(snapshot=snapshot, reason=str(exc))
        raise OperationFailed(_("Failed to delete vm snapshot %(name)s of VM %(vm)s: %(error)s") % {
            "name": snapshot, "vm": vm.name, "error": exc}) from exc
    snapshots.vm_snapshot_record_deleted(snapshot=snapshot)
    return JobOutcome()  # CloudStack answers deleteVMSnapshot with success: the snapshot is gone
