"""Writes on virtual machines. Door code (UI, REST, CloudStack API) calls these and nothing deeper.

Request-side functions (vm_deploy, vm_start, ...) authorize, validate, apply the first state transition
and submit a job, all in one transaction: if anything is refused, nothing changed. Worker-side functions
(vm_record_*) are called by compute.tasks with what the host reported.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import Account, User
from accounts.services_limits import resource_release, resource_reserve
from compute.models import ServiceOffering, VirtualMachine
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from infrastructure.models import AllocationState, Host, Zone
from infrastructure.placement import Request, host_release, host_reserve, place_vm
from portal.authz import Role, authorize, role_of
from portal.errors import InsufficientCapacity, InvalidParameter, InvalidState
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob
from portal.tags import comma_list
from storage.models import Template, Volume
from storage.placement import pool_release

HOSTNAME_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
JOB_MODULE = "compute.tasks"


def _validate_name(name: str) -> None:
    if not HOSTNAME_RE.match(name):
        raise InvalidParameter(
            _("Invalid name %(name)s: use 1-63 letters, digits and hyphens, starting with a letter and not "
              "ending with a hyphen.") % {"name": name}
        )


@transaction.atomic
def vm_deploy(
    *,
    caller: User,
    zone: Zone,
    service_offering: ServiceOffering,
    template: Template,
    name: str | None = None,
    display_name: str = "",
    start_vm: bool = True,
    account: Account | None = None,
) -> tuple[VirtualMachine, AsyncJob]:
    """Create a VM and its ROOT volume; with start_vm, reserve a host and start it there."""
    authorize(caller, "vm.deploy")
    owner = account or caller.account
    if owner is None:
        raise InvalidParameter(_("The VM needs an owning account."))
    if owner != caller.account:
        authorize(caller, "vm.deploy", _OwnerProbe(owner))
    if zone.allocation_state != AllocationState.ENABLED and role_of(caller) is not Role.ROOT_ADMIN:
        raise InvalidParameter(_("Zone %(zone)s is disabled.") % {"zone": zone.name})
    if template.zone_id not in (None, zone.pk):
        raise InvalidParameter(_("Template %(t)s is not available in zone %(z)s.") % {"t": template.name,
                                                                                     "z": zone.name})
    if name:
        _validate_name(name)
    if display_name and len(display_name) > 255:
        raise InvalidParameter(_("The display name is longer than 255 characters."))
    # Counted first: over a limit, LimitExceeded rolls this transaction back and nothing is created.
    root_size = service_offering.root_disk_size or template.size
    for resource_type, amount in (*_instance_resources(service_offering), (ResourceType.VOLUME, 1),
                                  (ResourceType.PRIMARY_STORAGE, root_size)):
        resource_reserve(account=owner, resource_type=resource_type, amount=amount)

    vm = VirtualMachine.objects.create(
        name=name or "pending", display_name=display_name or name or "", state=VmState.STOPPED, zone=zone,
        service_offering=service_offering, template=template, account=owner, domain_id=owner.domain_id,
        user=caller, cpu_number=service_offering.cpu_number, cpu_speed=service_offering.cpu_speed,
        memory=service_offering.memory,
    )
    updates = {"instance_name": f"i-{owner.pk}-{vm.pk}-VM"}
    if not name:
        updates["name"] = updates["display_name"] = f"VM-{vm.uuid}"
    VirtualMachine.objects.filter(pk=vm.pk).update(**updates)
    for field, value in updates.items():
        setattr(vm, field, value)
    root = Volume.objects.create(
        name=f"ROOT-{vm.pk}", volume_type=Volume.Type.ROOT, state=Volume.State.ALLOCATED,
        size=root_size, zone=zone, virtual_machine=vm,
        template=template, account=owner, domain_id=owner.domain_id,
    )
    event_emit(type="VM.CREATE", description=_("Created VM %(name)s") % {"name": vm.name}, account=owner,
               user=caller, resource=vm)

    if not start_vm:
        job = job_submit(caller=caller, account=owner, cmd="deployVirtualMachine",
                         handler=f"{JOB_MODULE}.run_vm_allocate", instance=vm, queue=DEFAULT_QUEUE,
                         event_type="VM.CREATE", description=_("Deploying VM %(name)s") % {"name": vm.name})
        return vm, job
    placement = place_vm(_placement_request(vm, service_offering, root_size=root_size))
    host = placement.host
    if placement.storage_pool is not None:
        Volume.objects.filter(pk=root.pk).update(storage_pool=placement.storage_pool)
    VM_STATE_MACHINE.transit(vm, VmEvent.START_REQUESTED, host=host, last_host=host)
    job = job_submit(caller=caller, account=owner, cmd="deployVirtualMachine",
                     handler=f"{JOB_MODULE}.run_vm_start", instance=vm, queue=host.queue,
                     params={"deploy": True}, event_type="VM.CREATE",
                     description=_("Deploying VM %(name)s") % {"name": vm.name})
    return vm, job


def _placement_request(vm: VirtualMachine, offering: ServiceOffering, *, root_size: int | None = None,
                       cluster: object | None = None) -> Request:
    """What the planners need: the VM's size, its owner (user planners weigh the account) and the offering's
    host tags, storage tags and planner."""
    return Request(zone=vm.zone, account=vm.account, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes,
                   host_tags=tuple(comma_list(offering.host_tags)), planner=offering.deployment_planner,
                   root_size=root_size, storage_tags=tuple(comma_list(offering.storage_tags)), cluster=cluster)


def _reserve_for_start(vm: VirtualMachine) -> object:
    """A stopped VM starts where its root disk is reachable: anywhere the planner picks in the pool's cluster
    (or zone) when the disk is on primary storage, else on the host holding its local disk."""
    root = vm.volumes.filter(volume_type=Volume.Type.ROOT, removed__isnull=True).select_related(
        "storage_pool", "storage_pool__cluster").first()
    if root is not None and root.host_id is None and root.storage_pool_id is None:
        # Never created yet (deployed with startvm=false): placed like a deploy, storage included.
        placement = place_vm(_placement_request(vm, vm.service_offering, root_size=root.size))
        if placement.storage_pool is not None:
            Volume.objects.filter(pk=root.pk).update(storage_pool=placement.storage_pool)
        return placement.host
    pool = root.storage_pool if root is not None else None
    if pool is None or pool.scope == pool.Scope.HOST:
        return host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes,
                            only=vm.last_host or (pool.host if pool is not None else None))
    cluster = pool.cluster if pool.scope == pool.Scope.CLUSTER else None
    return place_vm(_placement_request(vm, vm.service_offering, cluster=cluster)).host


class _OwnerProbe:
    """Lets authorize() check a caller's reach over an account before any row of it exists."""

    def __init__(self, account: Account) -> None:
        self.account_id, self.domain = account.pk, account.domain


def _locked(vm: VirtualMachine) -> VirtualMachine:
    """Re-read the VM inside the transaction so checks see the current state, not the caller's copy."""
    return VirtualMachine.objects.select_related("service_offering", "host", "last_host", "zone",
                                                 "account").get(pk=vm.pk)


@transaction.atomic
def vm_start(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    authorize(caller, "vm.start", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.check(vm, VmEvent.START_REQUESTED)
    host = _reserve_for_start(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.START_REQUESTED, host=host, last_host=host)
    return job_submit(caller=caller, account=vm.account, cmd="startVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_start", instance=vm, queue=host.queue,
                      event_type="VM.START", description=_("Starting VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_stop(*, caller: User, vm: VirtualMachine, forced: bool = False) -> AsyncJob:
    authorize(caller, "vm.stop", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.STOP_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="stopVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_stop", instance=vm, queue=vm.host.queue,
                      params={"forced": bool(forced)}, event_type="VM.STOP",
                      description=_("Stopping VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_reboot(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    authorize(caller, "vm.reboot", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.check(vm, VmEvent.REBOOT_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="rebootVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_reboot", instance=vm, queue=vm.host.queue,
                      event_type="VM.REBOOT", description=_("Rebooting VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_destroy(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """A running VM is stopped (forced) first; the VM is Destroyed once its domain is gone from the host."""
    authorize(caller, "vm.destroy", vm)
    vm = _locked(vm)
    if vm.state == VmState.RUNNING:
        VM_STATE_MACHINE.transit(vm, VmEvent.STOP_REQUESTED)
    else:
        VM_STATE_MACHINE.transit(vm, VmEvent.DESTROY_REQUESTED)
        _release_destroyed(vm)
    target = vm.host or vm.last_host
    return job_submit(caller=caller, account=vm.account, cmd="destroyVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_destroy", instance=vm,
                      queue=target.queue if target else DEFAULT_QUEUE,
                      event_type="VM.DESTROY", description=_("Destroying VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_expunge(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """Remove a Destroyed VM for good: its volumes are deleted on the host that holds them and their volume
    and primary storage counts released (what an account's deletion needs; CloudStack's expungeVirtualMachine).
    The host work is a job on that host's queue."""
    authorize(caller, "vm.destroy", vm)
    vm = _locked(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.EXPUNGE_REQUESTED)
    target = vm.last_host or vm.host
    return job_submit(caller=caller, account=vm.account, cmd="expungeVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_expunge", instance=vm,
                      queue=target.queue if target else DEFAULT_QUEUE,
                      event_type="VM.EXPUNGE", description=_("Expunging VM %(name)s") % {"name": vm.name})


def _release_destroyed(vm: VirtualMachine) -> None:
    """Called exactly where a VM enters Destroyed. CloudStack frees instance, CPU and memory counts on destroy;
    the ROOT volume (volume and primary storage counts) stays counted until it is expunged, which does not
    exist yet."""
    for resource_type, amount in _instance_resources(vm.service_offering):
        resource_release(account=vm.account, resource_type=resource_type, amount=amount)


def _instance_resources(offering: ServiceOffering) -> tuple[tuple[int, int], ...]:
    """What one VM of this offering counts against limits while it exists (deploy reserves, destroy releases)."""
    return ((ResourceType.USER_VM, 1), (ResourceType.CPU, offering.cpu_number), (ResourceType.MEMORY, offering.memory))


# --- worker side: what the host reported --------------------------------------------------------------

@transaction.atomic
def vm_record_running(*, vm: VirtualMachine, vnc_port: int | None) -> None:
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_SUCCEEDED, vnc_port=vnc_port)
    event_emit(type="VM.START", description=_("VM %(name)s is running on %(host)s") % {
        "name": vm.name, "host": vm.host.name}, account=vm.account, resource=vm)


# How many hosts a first deploy tries before giving up (the failed ones form the avoid set).
DEPLOY_ATTEMPTS = 3


@transaction.atomic
def vm_deploy_retry(*, vm: VirtualMachine, job: AsyncJob, reason: str) -> Host | None:
    """A first deploy whose start failed on its host moves to another host, the failed ones avoided, as
    CloudStack's deployment retries do; None (nothing changed) when there is no other host to try.

    Only while the root disk can follow: not created yet (its primary storage is chosen again), or created on
    shared primary storage (the next host must reach that pool). A disk on the failed host's own local pool
    stays there, and so does the VM."""
    vm = _locked(vm)
    failed = vm.host
    avoid = {*job.params.get("avoid", []), failed.pk} if failed is not None else set(job.params.get("avoid", []))
    if failed is None or vm.state != VmState.STARTING or len(avoid) >= DEPLOY_ATTEMPTS:
        return None
    root = vm.volumes.filter(volume_type=Volume.Type.ROOT, removed__isnull=True).select_related(
        "storage_pool").first()
    if root is None:
        return None
    pool = root.storage_pool
    if root.state == Volume.State.ALLOCATED:
        request = _placement_request(vm, vm.service_offering, root_size=root.size)
    elif pool is not None and pool.scope != pool.Scope.HOST:
        request = _placement_request(vm, vm.service_offering,
                                     cluster=pool.cluster if pool.scope == pool.Scope.CLUSTER else None)
    else:
        return None
    sid = transaction.savepoint()
    host_release(host=failed, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)
    if root.state == Volume.State.ALLOCATED and pool is not None:
        pool_release(pool, root.size)
    try:
        placement = place_vm(request, avoid=avoid)
    except InsufficientCapacity:
        transaction.savepoint_rollback(sid)  # as it was: the failure is then recorded on the failed host
        return None
    if root.state == Volume.State.ALLOCATED:
        Volume.objects.filter(pk=root.pk).update(storage_pool=placement.storage_pool)
    host = placement.host
    VirtualMachine.objects.filter(pk=vm.pk).update(host=host, last_host=host)
    job.params = {**job.params, "avoid": sorted(avoid)}
    job.queue = host.queue
    AsyncJob.objects.filter(pk=job.pk).update(params=job.params, queue=job.queue)
    event_emit(type="VM.START", description=_("VM %(name)s could not start on %(failed)s (%(reason)s); trying "
                                              "%(host)s") % {"name": vm.name, "failed": failed.name,
                                                             "reason": reason, "host": host.name},
               account=vm.account, level="WARN", resource=vm)
    return host


@transaction.atomic
def vm_record_start_failed(*, vm: VirtualMachine, reason: str, first_deploy: bool) -> None:
    host = vm.host
    event = VmEvent.CREATION_FAILED if first_deploy else VmEvent.OPERATION_FAILED
    VM_STATE_MACHINE.transit(vm, event, host=None, vnc_port=None)
    if host is not None:
        host_release(host=host, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)
    event_emit(type="VM.START", description=_("VM %(name)s failed to start: %(reason)s") % {
        "name": vm.name, "reason": reason}, account=vm.account, level="ERROR", resource=vm)


@transaction.atomic
def vm_record_stopped(*, vm: VirtualMachine, event: str = VmEvent.OPERATION_SUCCEEDED) -> None:
    host = vm.host
    VM_STATE_MACHINE.transit(vm, event, host=None, vnc_port=None)
    if host is not None:
        host_release(host=host, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)


@transaction.atomic
def vm_record_stop_failed(*, vm: VirtualMachine, reason: str) -> None:
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_FAILED)
    event_emit(type="VM.STOP", description=_("VM %(name)s failed to stop: %(reason)s") % {
        "name": vm.name, "reason": reason}, account=vm.account, level="ERROR", resource=vm)


@transaction.atomic
def vm_record_destroyed(*, vm: VirtualMachine) -> None:
    if vm.state == VmState.STOPPING:
        vm_record_stopped(vm=vm)
    if vm.state != VmState.DESTROYED:
        VM_STATE_MACHINE.transit(vm, VmEvent.DESTROY_REQUESTED)
        _release_destroyed(vm)
    event_emit(type="VM.DESTROY", description=_("VM %(name)s destroyed") % {"name": vm.name},
               account=vm.account, resource=vm)


@transaction.atomic
def vm_record_expunged(*, vm: VirtualMachine) -> None:
    """The host deleted the VM's volumes: they stop counting, and the VM is marked removed."""
    from django.utils import timezone

    from storage.states import VOLUME_STATE_MACHINE, VolumeEvent

    now = timezone.now()
    for volume in vm.volumes.filter(removed__isnull=True).select_related("storage_pool"):
        if volume.state in (Volume.State.READY, Volume.State.ALLOCATED):
            VOLUME_STATE_MACHINE.transit(volume, VolumeEvent.DESTROY_REQUESTED)
        if volume.state == Volume.State.DESTROY:
            VOLUME_STATE_MACHINE.transit(volume, VolumeEvent.EXPUNGED, removed=now)
        resource_release(account=vm.account, resource_type=ResourceType.VOLUME, amount=1)
        resource_release(account=vm.account, resource_type=ResourceType.PRIMARY_STORAGE, amount=volume.size)
        if volume.storage_pool_id is not None:
            pool_release(volume.storage_pool, volume.size)
    VirtualMachine.objects.filter(pk=vm.pk).update(removed=now)
    vm.removed = now
    event_emit(type="VM.EXPUNGE", description=_("VM %(name)s expunged") % {"name": vm.name},
               account=vm.account, resource=vm)


def ensure_state(vm: VirtualMachine, *states: str) -> None:
    """Guard for worker-side code acting on a job whose VM was changed meanwhile."""
    if vm.state not in states:
        raise InvalidState(_("VM %(name)s is %(state)s, expected %(expected)s.") % {
            "name": vm.name, "state": vm.state, "expected": "/".join(states)})
