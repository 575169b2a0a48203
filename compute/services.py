"""Writes on virtual machines. Door code (UI, REST, CloudStack API) calls these and nothing deeper.

Request-side functions (vm_deploy, vm_start, ...) authorize, validate, apply the first state transition
and submit a job, all in one transaction: if anything is refused, nothing changed. Worker-side functions
(vm_record_*) are called by compute.tasks with what the host reported.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import Account
from accounts.services_limits import resource_release
from compute.models import ServiceOffering, VirtualMachine
from compute.services_console import console_fields
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import Host
from infrastructure.placement import Request, host_release, host_reserve, place_vm
from portal.errors import InsufficientCapacity, InvalidParameter, InvalidState
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE
from portal.models import AsyncJob
from portal.tags import comma_list
from storage.models import Volume
from storage.placement import pool_release
from storage.states import VOLUME_STATE_MACHINE, VolumeEvent

HOSTNAME_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
JOB_MODULE = "compute.tasks"


def _validate_name(name: str) -> None:
    if not HOSTNAME_RE.match(name):
        raise InvalidParameter(
            _("Invalid name %(name)s: use 1-63 letters, digits and hyphens, starting with a letter and not "
              "ending with a hyphen.") % {"name": name}
        )


def _placement_request(vm: VirtualMachine, offering: ServiceOffering, *, root_size: int | None = None,
                       cluster: object | None = None) -> Request:
    """What the planners need: the VM's size, its owner (user planners weigh the account), the offering's
    host tags, storage tags and planner, and the hosts its affinity groups exclude or require."""
    avoid, only = _affinity_constraints(vm)
    return Request(zone=vm.zone, account=vm.account, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes,
                   host_tags=tuple(comma_list(offering.host_tags)), planner=offering.deployment_planner,
                   root_size=root_size, storage_tags=tuple(comma_list(offering.storage_tags)), cluster=cluster,
                   affinity_avoid_hosts=avoid, affinity_only_hosts=only)


def _affinity_constraints(vm: VirtualMachine) -> tuple[frozenset[int], frozenset[int] | None]:
    """compute.services_affinity's constraints when that module is installed; none otherwise."""
    try:
        from compute.services_affinity import affinity_constraints
    except ImportError:
        return frozenset(), None
    return affinity_constraints(vm)


def _reserve_for_start(vm: VirtualMachine, host: Host | None = None) -> Host:
    """A stopped VM starts where its root disk is reachable: anywhere the planner picks in the pool's cluster
    (or zone) when the disk is on primary storage, else on the host holding its local disk.

    `host` (root admins' hostid) must be such a place; it is checked for room like any other choice."""
    root = vm.volumes.filter(volume_type=Volume.Type.ROOT, removed__isnull=True).select_related(
        "storage_pool", "storage_pool__cluster", "storage_pool__host").first()
    if root is not None and root.host_id is None and root.storage_pool_id is None:
        # Never created yet (deployed with startvm=false): placed like a deploy, storage included.
        if host is not None:
            return _reserve_on_host(vm, host, root)
        placement = place_vm(_placement_request(vm, vm.service_offering, root_size=root.size))
        if placement.storage_pool is not None:
            Volume.objects.filter(pk=root.pk).update(storage_pool=placement.storage_pool)
        return placement.host
    pool = root.storage_pool if root is not None else None
    if pool is None or pool.scope == pool.Scope.HOST:
        local = vm.last_host or (pool.host if pool is not None else None) or (root.host if root else None)
        if host is not None and local is not None and host.pk != local.pk:
            raise InvalidParameter(_("VM %(name)s has its root disk on host %(local)s; it cannot start on "
                                     "%(host)s.") % {"name": vm.name, "local": local.name, "host": host.name})
        return host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes, only=host or local)
    if host is not None:
        if pool.scope == pool.Scope.CLUSTER and host.cluster_id != pool.cluster_id:
            raise InvalidParameter(_("Host %(host)s cannot reach the root disk of VM %(name)s (storage pool "
                                     "%(pool)s).") % {"host": host.name, "name": vm.name, "pool": pool.name})
        return host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes, only=host)
    if vm.last_host is not None and vm.live_snapshots().exists():
        # libvirt keeps a VM's snapshot records with its domain definition on the host it last ran on: the VM
        # starts there, or its snapshots could no longer be reverted or deleted.
        return host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes, only=vm.last_host)
    cluster = pool.cluster if pool.scope == pool.Scope.CLUSTER else None
    return place_vm(_placement_request(vm, vm.service_offering, cluster=cluster)).host


def _reserve_on_host(vm: VirtualMachine, host: Host, root: Volume) -> Host:
    """Place a VM whose disks do not exist yet on the host an admin chose: room on the host, and a pool it
    reaches for the root disk when the zone has primary storage."""
    from storage.models import StoragePool
    from storage.placement import reserve_on_host

    if host.zone_id != vm.zone_id:
        raise InvalidParameter(_("Host %(host)s is not in zone %(zone)s.") % {"host": host.name,
                                                                             "zone": vm.zone.name})
    reserved = host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes, only=host)
    if StoragePool.objects.filter(zone=vm.zone, removed__isnull=True).exists():
        pool = reserve_on_host(reserved, root.size, tuple(comma_list(vm.service_offering.storage_tags)))
        if pool is None:
            raise InsufficientCapacity(_("Host %(host)s reaches no storage pool with room for %(size)s bytes.")
                                       % {"host": host.name, "size": root.size})
        Volume.objects.filter(pk=root.pk).update(storage_pool=pool)
        root.storage_pool = pool
    return reserved


class _OwnerProbe:
    """Lets authorize() check a caller's reach over an account before any row of it exists."""

    def __init__(self, account: Account) -> None:
        self.account_id, self.domain = account.pk, account.domain


def _locked(vm: VirtualMachine) -> VirtualMachine:
    """Re-read the VM inside the transaction so checks see the current state, not the caller's copy."""
    return VirtualMachine.objects.select_related("service_offering", "host", "last_host", "zone",
                                                 "account").get(pk=vm.pk)


def _release_destroyed(vm: VirtualMachine) -> None:
    """Called exactly where a VM enters Destroyed. CloudStack frees instance, CPU and memory counts on destroy;
    the volumes (volume and primary storage counts) stay counted until the VM is expunged."""
    for resource_type, amount in _instance_resources(vm):
        resource_release(account=vm.account, resource_type=resource_type, amount=amount)


def _instance_resources(vm: VirtualMachine) -> tuple[tuple[int, int], ...]:
    """What one VM counts against limits while it exists (deploy and recover reserve, destroy releases): its
    own size, which for a custom offering is not the offering's."""
    return ((ResourceType.USER_VM, 1), (ResourceType.CPU, vm.cpu_number), (ResourceType.MEMORY, vm.memory))


def _vm_queue(vm: VirtualMachine) -> str:
    """The queue of the host that has the VM's domain and disks: where it runs, else where it ran."""
    target = vm.host or vm.last_host
    return target.queue if target is not None else DEFAULT_QUEUE


# --- worker side: what the host reported --------------------------------------------------------------

@transaction.atomic
def vm_record_running(*, vm: VirtualMachine, console: VncEndpoint | None) -> None:
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_SUCCEEDED, **console_fields(console))
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
    VM_STATE_MACHINE.transit(vm, event, host=None, **console_fields(None))
    if host is not None:
        host_release(host=host, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)
    event_emit(type="VM.START", description=_("VM %(name)s failed to start: %(reason)s") % {
        "name": vm.name, "reason": reason}, account=vm.account, level="ERROR", resource=vm)


@transaction.atomic
def vm_record_stopped(*, vm: VirtualMachine, event: str = VmEvent.OPERATION_SUCCEEDED) -> None:
    host = vm.host
    VM_STATE_MACHINE.transit(vm, event, host=None, **console_fields(None))
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
        VM_STATE_MACHINE.transit(vm, VmEvent.DESTROY_REQUESTED, destroyed_at=timezone.now())
        _release_destroyed(vm)
    # The destroy job undefined the domain, which drops libvirt's snapshot records: a recovered VM starts
    # without VM snapshots, so their rows go now rather than point at nothing.
    from compute.services_vm_snapshots import vm_snapshots_discard

    vm_snapshots_discard(vm)
    event_emit(type="VM.DESTROY", description=_("VM %(name)s destroyed") % {"name": vm.name},
               account=vm.account, resource=vm)


@transaction.atomic
def vm_record_expunged(*, vm: VirtualMachine) -> None:
    """The host deleted the VM's volumes: they stop counting, and the VM is marked removed."""
    from compute.services_vm_snapshots import vm_snapshots_discard
    from portal.services_tags import tags_remove_for

    now = timezone.now()
    vm_snapshots_discard(vm)  # none left after a destroy; an Error VM expunged directly may still have some
    tags_remove_for(resource_type="UserVm", resource_ids=[vm.pk])
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


# The request-side services live in their own modules; `compute.services` stays the one name doors import.
from compute.services_deploy import vm_deploy  # noqa: E402
from compute.services_lifecycle import (  # noqa: E402
    vm_destroy,
    vm_expunge,
    vm_expunge_due,
    vm_reboot,
    vm_recover,
    vm_restore,
    vm_start,
    vm_stop,
)

__all__ = ["HOSTNAME_RE", "ensure_state", "vm_deploy", "vm_deploy_retry", "vm_destroy", "vm_expunge",
           "vm_expunge_due", "vm_reboot", "vm_record_destroyed", "vm_record_expunged", "vm_record_running",
           "vm_record_start_failed", "vm_record_stop_failed", "vm_record_stopped", "vm_recover", "vm_restore",
           "vm_start", "vm_stop"]
