"""VM snapshots (CloudStack's createVMSnapshot, revertToVMSnapshot, deleteVMSnapshot): internal qcow2
snapshots of all of a VM's disks, with the guest's memory when it runs.

The rules are CloudStack's (VMSnapshotManagerImpl, KVM):

- a VM is snapshotted while Running or Stopped; with memory only while Running;
- a disk-only snapshot of a *running* VM is refused, with CloudStack's KVM message: QEMU cannot take an internal
  disk-only snapshot of a running domain (the driver refuses it too, infrastructure.hypervisor.snapshots), and
  stopping the guest behind the user's back is not ours to decide. Stop the VM first, or include memory;
- a running VM reverts only to a snapshot with memory (and keeps running), a stopped one only to a disk-only
  snapshot (and stays stopped): anything else would change the VM's state, which CloudStack refuses;
- reverting gives the VM back the offering and size it had when the snapshot was taken; the limits count the
  difference (growth is reserved by the request, so a refusal changes nothing; shrinkage is released once the
  host has reverted), and so does the host's capacity while the VM runs;
- one snapshot operation per VM at a time, and none while the VM is changing state or has another job pending;
- at most `vmsnapshot.max` snapshots per VM; every volume must be qcow2.

Request-side functions authorize, check and record the first transition in one transaction, then submit a job on
the queue of the host holding the VM (compute.tasks_vm_snapshots), which reports back through the
vm_snapshot_record_* functions here.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import User
from accounts.services_limits import resource_release, resource_reserve
from compute.models import ServiceOffering, VirtualMachine, VMSnapshot
from compute.services import _locked, _vm_queue
from compute.services_console import console_fields
from compute.states import VM_SNAPSHOT_STATE_MACHINE, VmSnapshotEvent, VmSnapshotState, VmState
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import Host
from infrastructure.placement import host_release, host_reserve
from portal.authz import authorize
from portal.configuration import config_value
from portal.errors import InvalidParameter, InvalidState, LimitExceeded, Unsupported
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob, Event
from storage.models import Volume

JOB_MODULE = "compute.tasks_vm_snapshots"

# Snapshot states that mean an operation on the VM's snapshots is under way (CloudStack's
# hasActiveVMSnapshotTasks): no other snapshot operation on that VM may start meanwhile.
ACTIVE_STATES = (VmSnapshotState.ALLOCATED, VmSnapshotState.CREATING, VmSnapshotState.REVERTING,
                 VmSnapshotState.EXPUNGING)
# VM states in which its snapshots may be taken or reverted to.
_SNAPSHOT_VM_STATES = (VmState.RUNNING, VmState.STOPPED)
# VM states in which a snapshot may be deleted: also a Destroyed VM's (its domain is gone; only the row goes).
_DELETE_VM_STATES = (VmState.RUNNING, VmState.STOPPED, VmState.DESTROYED, VmState.ERROR)
# qcow2 is the only format that holds internal snapshots (Volume.format is stored upper-case, as CloudStack's).
QCOW2 = "QCOW2"


def vm_snapshot_busy(vm: VirtualMachine) -> bool:
    """Whether a snapshot operation on the VM is under way. Other VM operations (start, stop, migrate, scale,
    restore) should refuse while it is: the snapshot job works on the VM's domain and disks."""
    return vm.live_snapshots().filter(state__in=ACTIVE_STATES).exists()


def _lock_vm(vm: VirtualMachine) -> VirtualMachine:
    """Serialise snapshot requests on one VM: the row lock makes the busy and count checks below race-free."""
    VirtualMachine.objects.select_for_update().filter(pk=vm.pk).values_list("pk", flat=True).first()
    return _locked(vm)


def _require_idle(vm: VirtualMachine, *, allowed: tuple[str, ...]) -> None:
    if vm.state not in allowed:
        raise InvalidState(_("VM %(name)s is %(state)s; its snapshots can be used only while it is %(allowed)s.")
                           % {"name": vm.name, "state": vm.state, "allowed": " or ".join(allowed)})
    if vm_snapshot_busy(vm):
        raise InvalidState(_("There is other active vm snapshot tasks on the instance, please try again later"))
    if AsyncJob.objects.filter(instance_type=vm._meta.model_name, instance_id=str(vm.uuid),
                               status=AsyncJob.Status.PENDING).exists():
        raise InvalidState(_("VM %(name)s has a job in progress; try again when it has finished.")
                           % {"name": vm.name})


def _check_volumes(vm: VirtualMachine) -> None:
    volumes = list(vm.volumes.filter(removed__isnull=True).values_list("volume_type", "state", "format"))
    if not any(kind == Volume.Type.ROOT and state == Volume.State.READY for kind, state, _fmt in volumes):
        raise InvalidState(_("VM %(name)s has no root disk on a host yet (start it once first).")
                           % {"name": vm.name})
    if any(fmt.upper() != QCOW2 for _kind, _state, fmt in volumes):
        raise Unsupported(_("We only support create vm snapshots from vm with QCOW2 image"))


def _snapshot_name(vm: VirtualMachine) -> str:
    """CloudStack's <instance name>_VS_<UTC yyyyMMddHHmmss>; a suffix keeps two snapshots taken within one
    second apart (the libvirt name must be unique per domain)."""
    base = f"{vm.instance_name or vm.name}_VS_{timezone.now():%Y%m%d%H%M%S}"
    taken = set(VMSnapshot.objects.filter(virtual_machine=vm, name__startswith=base).values_list("name", flat=True))
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


@transaction.atomic
def vm_snapshot_create(*, caller: User, vm: VirtualMachine, name: str = "", description: str = "",
                       memory: bool = False) -> tuple[VMSnapshot, AsyncJob]:
    """Take a snapshot of all of the VM's disks (`memory`: and of its running guest's memory)."""
    authorize(caller, "vm.snapshot.create", vm)
    vm = _lock_vm(vm)
    name, description = (name or "").strip(), description or ""
    if vm.state not in _SNAPSHOT_VM_STATES:
        raise InvalidState(_("Creating vm snapshot failed due to VM:%(name)s is not in the running or Stopped "
                             "state") % {"name": vm.name})
    if memory and vm.state != VmState.RUNNING:
        raise InvalidParameter(_("Can not snapshot memory when VM is not in Running state"))
    if not memory and vm.state == VmState.RUNNING:
        raise InvalidParameter(_("KVM VM does not allow to take a disk-only snapshot when VM is in running state; "
                                 "include the memory, or stop the VM first."))
    if len(name) > 255:
        raise InvalidParameter(_("The snapshot name is longer than 255 characters."))
    if len(description) > 4096:
        raise InvalidParameter(_("The description is longer than 4096 characters."))
    _require_idle(vm, allowed=_SNAPSHOT_VM_STATES)
    _check_volumes(vm)
    maximum = int(config_value("vmsnapshot.max"))
    if vm.live_snapshots().count() >= maximum:
        raise LimitExceeded(_("Creating vm snapshot failed due to a VM can just have : %(max)d VM snapshots. "
                              "Please delete old ones") % {"max": maximum})
    internal = _snapshot_name(vm)
    display = name or internal
    if vm.live_snapshots().filter(display_name=display).exists():
        raise InvalidParameter(_("Creating VM snapshot failed due to VM snapshot with name %(name)s already exists")
                               % {"name": display})
    snapshot = VMSnapshot.objects.create(
        account=vm.account, domain_id=vm.domain_id, virtual_machine=vm, name=internal, display_name=display,
        description=description,
        snapshot_type=VMSnapshot.Type.DISK_AND_MEMORY if memory else VMSnapshot.Type.DISK,
        service_offering=vm.service_offering, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory=vm.memory)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.CREATE_REQUESTED)
    job = job_submit(caller=caller, account=vm.account, cmd="createVMSnapshot",
                     handler=f"{JOB_MODULE}.run_vm_snapshot_create", instance=snapshot, queue=_vm_queue(vm),
                     params={"memory": bool(memory)}, event_type="VMSNAPSHOT.CREATE",
                     description=_("Taking snapshot %(snapshot)s of VM %(name)s") % {
                         "snapshot": display, "name": vm.name})
    return snapshot, job


def _locked_snapshot(snapshot: VMSnapshot) -> VMSnapshot:
    return VMSnapshot.objects.select_related("virtual_machine", "service_offering", "account").get(pk=snapshot.pk)


@transaction.atomic
def vm_snapshot_revert(*, caller: User, snapshot: VMSnapshot) -> AsyncJob:
    """Return the VM to the snapshot: its disks (and memory), its offering and its size."""
    authorize(caller, "vm.snapshot.revert", snapshot.virtual_machine)
    vm = _lock_vm(snapshot.virtual_machine)
    snapshot = _locked_snapshot(snapshot)
    if vm.state not in _SNAPSHOT_VM_STATES:
        raise InvalidState(_("VM Snapshot reverting failed due to vm is not in the state of Running or Stopped."))
    if snapshot.state != VmSnapshotState.READY:
        raise InvalidState(_("VM Snapshot reverting failed due to vm snapshot is not in the state of Created."))
    with_memory = snapshot.snapshot_type == VMSnapshot.Type.DISK_AND_MEMORY
    if (vm.state == VmState.RUNNING) != with_memory:
        raise InvalidParameter(_("VM Snapshot revert not allowed. This will result in VM state change. You can "
                                 "revert running VM to disk and memory type snapshot and stopped VM to disk type "
                                 "snapshot"))
    _require_idle(vm, allowed=_SNAPSHOT_VM_STATES)
    target = _target_size(vm, snapshot)
    _reserve_growth(vm, target)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.REVERT_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="revertToVMSnapshot",
                      handler=f"{JOB_MODULE}.run_vm_snapshot_revert", instance=vm, queue=_vm_queue(vm),
                      params={"snapshot": snapshot.pk, "from": [vm.service_offering_id, vm.cpu_number, vm.cpu_speed,
                                                                vm.memory],
                              "to": list(target), "host": vm.host_id if vm.state == VmState.RUNNING else None},
                      event_type="VMSNAPSHOT.REVERTTOSNAPSHOT",
                      description=_("Reverting VM %(name)s to snapshot %(snapshot)s") % {
                          "name": vm.name, "snapshot": snapshot})


def _target_size(vm: VirtualMachine, snapshot: VMSnapshot) -> tuple[int, int, int, int]:
    """(offering id, cpu number, cpu speed, memory) the VM has after the revert: what the snapshot recorded,
    or (for a row without it) what the VM has now."""
    return (snapshot.service_offering_id or vm.service_offering_id, snapshot.cpu_number or vm.cpu_number,
            snapshot.cpu_speed or vm.cpu_speed, snapshot.memory or vm.memory)


def _deltas(old: tuple[int, int, int], new: tuple[int, int, int]) -> tuple[int, int, int]:
    """Differences (cpu count, MHz in total, MiB) from a (cpu, speed, memory) size to another."""
    return new[0] - old[0], new[0] * new[1] - old[0] * old[1], new[2] - old[2]


def _reserve_growth(vm: VirtualMachine, target: tuple[int, int, int, int]) -> None:
    cpus, mhz, mib = _deltas((vm.cpu_number, vm.cpu_speed, vm.memory), target[1:])
    if cpus > 0:
        resource_reserve(account=vm.account, resource_type=ResourceType.CPU, amount=cpus)
    if mib > 0:
        resource_reserve(account=vm.account, resource_type=ResourceType.MEMORY, amount=mib)
    if vm.state == VmState.RUNNING and vm.host is not None and (mhz > 0 or mib > 0):
        host_reserve(zone=vm.zone, cpu_mhz=max(mhz, 0), memory_bytes=max(mib, 0) * 2**20, only=vm.host)


def _release(vm: VirtualMachine, host_id: int | None, cpus: int, mhz: int, mib: int) -> None:
    """Give back positive amounts of counts and (while it runs on host_id) host capacity."""
    if cpus > 0:
        resource_release(account=vm.account, resource_type=ResourceType.CPU, amount=cpus)
    if mib > 0:
        resource_release(account=vm.account, resource_type=ResourceType.MEMORY, amount=mib)
    if host_id is not None and (mhz > 0 or mib > 0):
        host_release(host=Host(pk=host_id), cpu_mhz=max(mhz, 0), memory_bytes=max(mib, 0) * 2**20)


@transaction.atomic
def vm_snapshot_delete(*, caller: User, snapshot: VMSnapshot) -> AsyncJob:
    """Delete the snapshot from the VM's disks (its children stay, re-parented to its parent)."""
    authorize(caller, "vm.snapshot.delete", snapshot.virtual_machine)
    vm = _lock_vm(snapshot.virtual_machine)
    snapshot = _locked_snapshot(snapshot)
    if snapshot.state not in (VmSnapshotState.READY, VmSnapshotState.ERROR):
        raise InvalidState(_("Can't delete the vm snapshot %(name)s due to it is not in Created or Error State")
                           % {"name": snapshot})
    _require_idle(vm, allowed=_DELETE_VM_STATES)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.EXPUNGE_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="deleteVMSnapshot",
                      handler=f"{JOB_MODULE}.run_vm_snapshot_delete", instance=snapshot, queue=_vm_queue(vm),
                      event_type="VMSNAPSHOT.DELETE",
                      description=_("Deleting snapshot %(snapshot)s of VM %(name)s") % {
                          "snapshot": snapshot, "name": vm.name})


# The events that take a snapshot from each state to Expunging.
_DISCARD_PATH: dict[str, tuple[str, ...]] = {
    VmSnapshotState.READY: (VmSnapshotEvent.EXPUNGE_REQUESTED,),
    VmSnapshotState.ERROR: (VmSnapshotEvent.EXPUNGE_REQUESTED,),
    VmSnapshotState.CREATING: (VmSnapshotEvent.OPERATION_FAILED, VmSnapshotEvent.EXPUNGE_REQUESTED),
    VmSnapshotState.REVERTING: (VmSnapshotEvent.OPERATION_FAILED, VmSnapshotEvent.EXPUNGE_REQUESTED),
}


@transaction.atomic
def vm_snapshots_discard(vm: VirtualMachine) -> int:
    """Forget every snapshot of a VM whose domain and disks are gone (undefining a domain drops libvirt's
    snapshot metadata; deleting the volumes drops the qcow2 snapshots in them): no host work, the rows are
    marked Removed. Called by the lifecycle when a VM is destroyed/expunged; returns how many were removed."""
    removed = 0
    for snapshot in vm.live_snapshots().select_for_update():
        # Through the state table: an operation still marked in flight ends first (it cannot finish now).
        for event in _DISCARD_PATH.get(snapshot.state, ()):
            VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, event)
        if snapshot.state == VmSnapshotState.EXPUNGING:
            VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_SUCCEEDED,
                                              removed=timezone.now(), current=False, parent=None)
            removed += 1
    if removed:
        event_emit(type="VMSNAPSHOT.DELETE", description=_("Removed %(n)d snapshots of VM %(name)s with its disks")
                   % {"n": removed, "name": vm.name}, account=vm.account, resource=vm)
    return removed


# --- worker side: what the host reported ------------------------------------------------------------------

@transaction.atomic
def vm_snapshot_record_created(*, snapshot: VMSnapshot) -> None:
    """The new snapshot becomes the VM's current one, a child of the previous current one (libvirt's tree)."""
    snapshot = _locked_snapshot(snapshot)
    siblings = snapshot.virtual_machine.live_snapshots().exclude(pk=snapshot.pk)
    parent = siblings.filter(current=True).first()
    siblings.filter(current=True).update(current=False)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_SUCCEEDED, current=True, parent=parent)


@transaction.atomic
def vm_snapshot_record_create_failed(*, snapshot: VMSnapshot, reason: str) -> None:
    """Error, as CloudStack: the row stays (and counts) until it is deleted."""
    snapshot = _locked_snapshot(snapshot)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_FAILED)
    event_emit(type="VMSNAPSHOT.CREATE", description=_("Snapshot %(snapshot)s of VM %(name)s failed: %(reason)s")
               % {"snapshot": snapshot, "name": snapshot.virtual_machine.name, "reason": reason},
               account=snapshot.account, level=Event.Level.ERROR, resource=snapshot)


@transaction.atomic
def vm_snapshot_record_reverted(*, snapshot: VMSnapshot, params: dict,
                                console: VncEndpoint | None = None) -> VirtualMachine:
    """The host reverted: the VM takes the snapshot's offering and size, shrinkage is released (growth was
    reserved by the request), and the snapshot becomes current."""
    snapshot = _locked_snapshot(snapshot)
    vm = _locked(snapshot.virtual_machine)
    _offering, old_cpu, old_speed, old_mem = params["from"]
    offering_id, cpu, speed, mem = params["to"]
    cpus, mhz, mib = _deltas((old_cpu, old_speed, old_mem), (cpu, speed, mem))
    _release(vm, params.get("host"), -cpus, -mhz, -mib)
    offering = ServiceOffering.objects.get(pk=offering_id)
    changes: dict[str, object] = {"service_offering": offering, "cpu_number": cpu, "cpu_speed": speed, "memory": mem}
    if console is not None:
        changes.update(console_fields(console))
    VirtualMachine.objects.filter(pk=vm.pk).update(**changes)
    for field, value in changes.items():
        setattr(vm, field, value)
    vm.live_snapshots().filter(current=True).exclude(pk=snapshot.pk).update(current=False)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_SUCCEEDED, current=True)
    return vm


@transaction.atomic
def vm_snapshot_record_revert_failed(*, snapshot: VMSnapshot, params: dict, reason: str) -> None:
    """The VM keeps its size: give back the growth the request reserved."""
    snapshot = _locked_snapshot(snapshot)
    vm = _locked(snapshot.virtual_machine)
    _offering, old_cpu, old_speed, old_mem = params["from"]
    cpus, mhz, mib = _deltas((old_cpu, old_speed, old_mem), tuple(params["to"][1:]))
    _release(vm, params.get("host"), cpus, mhz, mib)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_FAILED)
    event_emit(type="VMSNAPSHOT.REVERTTOSNAPSHOT", description=_(
        "VM %(name)s could not be reverted to snapshot %(snapshot)s: %(reason)s") % {
        "name": vm.name, "snapshot": snapshot, "reason": reason}, account=vm.account, level=Event.Level.ERROR,
        resource=vm)


@transaction.atomic
def vm_snapshot_record_deleted(*, snapshot: VMSnapshot) -> None:
    """Removed; its children hang from its parent now, and its parent becomes current if it was (as libvirt
    does with the snapshot tree)."""
    snapshot = _locked_snapshot(snapshot)
    VMSnapshot.objects.filter(parent=snapshot).update(parent=snapshot.parent)
    if snapshot.current and snapshot.parent_id is not None:
        VMSnapshot.objects.filter(pk=snapshot.parent_id, removed__isnull=True).update(current=True)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_SUCCEEDED, removed=timezone.now(),
                                      current=False, parent=None)


@transaction.atomic
def vm_snapshot_record_delete_failed(*, snapshot: VMSnapshot, reason: str) -> None:
    snapshot = _locked_snapshot(snapshot)
    VM_SNAPSHOT_STATE_MACHINE.transit(snapshot, VmSnapshotEvent.OPERATION_FAILED)
    event_emit(type="VMSNAPSHOT.DELETE", description=_("Snapshot %(snapshot)s of VM %(name)s could not be "
                                                       "deleted: %(reason)s") % {
        "snapshot": snapshot, "name": snapshot.virtual_machine.name, "reason": reason},
        account=snapshot.account, level=Event.Level.ERROR, resource=snapshot)
