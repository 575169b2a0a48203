"""The VM lifecycle after deploy: start (optionally on a chosen host), stop, reboot (volatile VMs get a fresh
root disk), destroy (optionally expunging at once), recover, expunge (on request or by the periodic task once
expunge.delay has passed) and restore (a fresh root disk from the template, or a new template).

Every state change goes through VM_STATE_MACHINE; host work runs as a job on the queue of the VM's host.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import User
from accounts.services_limits import resource_release, resource_reserve
from compute.models import VirtualMachine
from compute.services import (
    JOB_MODULE,
    _instance_resources,
    _locked,
    _release_destroyed,
    _reserve_for_start,
    _vm_queue,
)
from compute.services_console import console_fields
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import Host
from portal.authz import ADMINS, Role, authorize, role_of
from portal.configuration import config_value
from portal.errors import InvalidParameter, InvalidState, PermissionDenied
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob
from storage.models import Template, Volume

logger = logging.getLogger(__name__)


@transaction.atomic
def vm_start(*, caller: User, vm: VirtualMachine, host: Host | None = None) -> AsyncJob:
    """`host` (CloudStack's hostid) is for root admins; the host is checked for room like any other."""
    authorize(caller, "vm.start", vm)
    if host is not None and role_of(caller) is not Role.ROOT_ADMIN:
        raise PermissionDenied(_("Only root administrators may choose the host of a VM."))
    vm = _locked(vm)
    VM_STATE_MACHINE.check(vm, VmEvent.START_REQUESTED)
    chosen = _reserve_for_start(vm, host)
    previous = vm.last_host_id
    VM_STATE_MACHINE.transit(vm, VmEvent.START_REQUESTED, host=chosen, last_host=chosen)
    # A VM on shared storage may start on another host than it stopped on: the job then removes the shut-off
    # definition it left there, so a VM is defined on one host only (and destroy finds it).
    moved = {"previous_host": previous} if previous is not None and previous != chosen.pk else {}
    return job_submit(caller=caller, account=vm.account, cmd="startVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_start", instance=vm, queue=chosen.queue, params=moved,
                      event_type="VM.START", description=_("Starting VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_stop(*, caller: User, vm: VirtualMachine, forced: bool = False) -> AsyncJob:
    """Graceful: the guest is asked to shut down (ACPI) and powered off if it has not within
    CIRROSTACK_VM_STOP_TIMEOUT seconds; forced: powered off at once. The job's event says which happened."""
    authorize(caller, "vm.stop", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.STOP_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="stopVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_stop", instance=vm, queue=vm.host.queue,
                      params={"forced": bool(forced)}, event_type="VM.STOP",
                      description=_("Stopping VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_reboot(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """A VM of a volatile offering comes back with a fresh root disk from its template (the job powers it
    off, replaces the disk and starts it); others get an ACPI reboot."""
    authorize(caller, "vm.reboot", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.check(vm, VmEvent.REBOOT_REQUESTED)
    volatile = vm.service_offering.is_volatile
    return job_submit(caller=caller, account=vm.account, cmd="rebootVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_reboot", instance=vm, queue=vm.host.queue,
                      params={"volatile": volatile}, event_type="VM.REBOOT",
                      description=_("Rebooting VM %(name)s") % {"name": vm.name})


def may_expunge_or_recover(caller: User, vm: VirtualMachine) -> bool:
    """CloudStack: admins always; users when allow.user.expunge.recover.vm is true for the VM's account."""
    return role_of(caller) in ADMINS or bool(config_value("allow.user.expunge.recover.vm", account=vm.account))


@transaction.atomic
def vm_destroy(*, caller: User, vm: VirtualMachine, expunge: bool = False) -> AsyncJob:
    """A running VM is powered off first; the VM is Destroyed once its domain is gone from the host, and
    recoverable until expunged (at once with `expunge`, else by the periodic task after expunge.delay)."""
    authorize(caller, "vm.destroy", vm)
    vm = _locked(vm)
    if expunge and not may_expunge_or_recover(caller, vm):
        raise PermissionDenied(_("You may not expunge VMs; destroy it and it is expunged after the expunge "
                                 "delay."))
    if vm.state == VmState.RUNNING:
        VM_STATE_MACHINE.transit(vm, VmEvent.STOP_REQUESTED)
    else:
        VM_STATE_MACHINE.transit(vm, VmEvent.DESTROY_REQUESTED, destroyed_at=timezone.now())
        _release_destroyed(vm)
    return job_submit(caller=caller, account=vm.account, cmd="destroyVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_destroy", instance=vm, queue=_vm_queue(vm),
                      params={"expunge": bool(expunge)}, event_type="VM.DESTROY",
                      description=_("Destroying VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_recover(*, caller: User, vm: VirtualMachine) -> VirtualMachine:
    """Destroyed → Stopped before it is expunged: its instance, CPU and memory counts are taken again (a limit
    reached meanwhile refuses the recovery). Synchronous, as CloudStack's recoverVirtualMachine."""
    authorize(caller, "vm.recover", vm)
    vm = _locked(vm)
    if not may_expunge_or_recover(caller, vm):
        raise PermissionDenied(_("You may not recover VMs."))
    VM_STATE_MACHINE.check(vm, VmEvent.RECOVERY_REQUESTED)
    for resource_type, amount in _instance_resources(vm):
        resource_reserve(account=vm.account, resource_type=resource_type, amount=amount)
    VM_STATE_MACHINE.transit(vm, VmEvent.RECOVERY_REQUESTED, destroyed_at=None)
    event_emit(type="VM.RECOVER", description=_("Recovered VM %(name)s") % {"name": vm.name},
               account=vm.account, user=caller, resource=vm)
    return vm


@transaction.atomic
def vm_expunge(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """Remove a Destroyed VM for good: its volumes (and config drive) are deleted on the host that holds them
    and their counts released. The host work is a job on that host's queue."""
    authorize(caller, "vm.expunge", vm)
    vm = _locked(vm)
    if not may_expunge_or_recover(caller, vm):
        raise PermissionDenied(_("You may not expunge VMs."))
    VM_STATE_MACHINE.transit(vm, VmEvent.EXPUNGE_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="expungeVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_expunge", instance=vm, queue=_vm_queue(vm),
                      event_type="VM.EXPUNGE", description=_("Expunging VM %(name)s") % {"name": vm.name})


def vm_expunge_due(*, now: object = None) -> list[VirtualMachine]:
    """The periodic expunge (CloudStack's expunge thread, every expunge.interval): VMs Destroyed longer than
    expunge.delay go to Expunging and their host work is queued on their host. No caller and no AsyncJob: it
    is the system's housekeeping, recorded as VM.EXPUNGE events. Returns the VMs it started expunging."""
    from compute.tasks import vm_expunge_task

    cutoff = (now or timezone.now()) - timedelta(seconds=int(config_value("expunge.delay")))
    started: list[VirtualMachine] = []
    due = VirtualMachine.objects.filter(state=VmState.DESTROYED, removed__isnull=True,
                                        destroyed_at__lte=cutoff).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            vm = VirtualMachine.objects.select_for_update(of=("self",)).select_related(
                "host", "last_host", "account").filter(pk=pk, state=VmState.DESTROYED).first()
            if vm is None:
                continue  # recovered or expunged meanwhile
            VM_STATE_MACHINE.transit(vm, VmEvent.EXPUNGE_REQUESTED)
            queue = _vm_queue(vm)
            transaction.on_commit(lambda pk=pk, queue=queue: vm_expunge_task.apply_async(args=[pk], queue=queue))
        started.append(vm)
    return started


@transaction.atomic
def vm_restore(*, caller: User, vm: VirtualMachine, template: Template | None = None) -> AsyncJob:
    """A fresh root disk from the VM's template, or from `template` (which the VM then runs): the old root disk
    is deleted. A running VM is powered off, given the new disk and started again on the same host by the job
    (its host reservation is kept throughout); a stopped one just gets the new disk."""
    authorize(caller, "vm.restore", vm)
    vm = _locked(vm)
    if vm.state not in (VmState.RUNNING, VmState.STOPPED):
        raise InvalidParameter(_("VM %(name)s is %(state)s; only a running or stopped VM can be restored.") % {
            "name": vm.name, "state": vm.state})
    if vm.live_snapshots().exists():
        # The root disk holding the snapshots is replaced: CloudStack refuses the same way.
        raise InvalidState(_("VM %(name)s has VM snapshots; delete them before restoring it.") % {"name": vm.name})
    new = template or vm.template
    if template is not None:
        if template.is_iso:
            raise InvalidParameter(_("%(name)s is an ISO; restore takes a template.") % {"name": template.name})
        if template.zone_id not in (None, vm.zone_id):
            raise InvalidParameter(_("Template %(t)s is not available in zone %(z)s.") % {
                "t": template.name, "z": vm.zone.name})
    root = vm.volumes.filter(volume_type=Volume.Type.ROOT, removed__isnull=True).first()
    if root is None:
        raise InvalidParameter(_("VM %(name)s has no root disk to restore.") % {"name": vm.name})
    size = root.size if new.is_iso else (vm.service_offering.root_disk_size or new.size)
    if size > root.size:
        resource_reserve(account=vm.account, resource_type=ResourceType.PRIMARY_STORAGE, amount=size - root.size)
    elif size < root.size:
        resource_release(account=vm.account, resource_type=ResourceType.PRIMARY_STORAGE, amount=root.size - size)
    if template is not None and template.pk != vm.template_id:
        VirtualMachine.objects.filter(pk=vm.pk).update(template=template)
        vm.template = template
    return job_submit(caller=caller, account=vm.account, cmd="restoreVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_restore", instance=vm, queue=_vm_queue(vm),
                      params={"size": size, "was_running": vm.state == VmState.RUNNING},
                      event_type="VM.RESTORE", description=_("Restoring VM %(name)s") % {"name": vm.name})


# --- worker side ------------------------------------------------------------------------------------------

@transaction.atomic
def vm_record_expunging(*, vm: VirtualMachine) -> None:
    """destroyVirtualMachine with expunge: the job that destroyed the VM goes on to expunge it."""
    VM_STATE_MACHINE.transit(vm, VmEvent.EXPUNGE_REQUESTED)


@transaction.atomic
def vm_record_expunge_failed(*, vm: VirtualMachine, reason: str) -> None:
    """Back to Destroyed; the periodic expunge tries again later."""
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_FAILED)
    event_emit(type="VM.EXPUNGE", description=_("VM %(name)s could not be expunged: %(reason)s") % {
        "name": vm.name, "reason": reason}, account=vm.account, level="ERROR", resource=vm)


@transaction.atomic
def vm_record_root_replaced(*, vm: VirtualMachine, old: Volume, size: int) -> Volume:
    """A new ROOT volume row (new id and file) takes the old one's place on the same pool; the old row is
    expunged. Called by the job before it creates the new file on the host."""
    from storage.states import VOLUME_STATE_MACHINE, VolumeEvent

    new = Volume.objects.create(
        name=old.name, volume_type=Volume.Type.ROOT, state=Volume.State.ALLOCATED, size=size, zone=old.zone,
        virtual_machine=vm, template=None if vm.template.is_iso else vm.template, disk_offering=old.disk_offering,
        storage_pool=old.storage_pool, account=old.account, domain_id=old.domain_id, device_id=0,
    )
    if old.state in (Volume.State.READY, Volume.State.ALLOCATED):
        VOLUME_STATE_MACHINE.transit(old, VolumeEvent.DESTROY_REQUESTED)
    VOLUME_STATE_MACHINE.transit(old, VolumeEvent.EXPUNGED, removed=timezone.now())
    if old.storage_pool_id is not None and size != old.size:
        from storage.placement import pool_release, pool_reserve

        if size > old.size:
            pool_reserve(old.storage_pool, size - old.size)
        else:
            pool_release(old.storage_pool, old.size - size)
    return new


@transaction.atomic
def vm_record_restored(*, vm: VirtualMachine, event_type: str = "VM.RESTORE") -> None:
    event_emit(type=event_type, description=_("VM %(name)s has a fresh root disk from %(template)s") % {
        "name": vm.name, "template": vm.template.name}, account=vm.account, resource=vm)


def vm_record_config_drive(*, vm: VirtualMachine, path: str, console: VncEndpoint | None = None) -> None:
    """Where the start job put the VM's config drive (empty: none); a restart on the same host may also have
    moved its console."""
    changes: dict[str, object] = {"config_drive_path": path}
    if console is not None:
        changes.update(console_fields(console))
    VirtualMachine.objects.filter(pk=vm.pk).update(**changes)
    for field, value in changes.items():
        setattr(vm, field, value)
