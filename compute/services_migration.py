"""Live migration of a running VM to another host (CloudStack's migrateVirtualMachine and
findHostsForMigration; root admins only).

A VM moves live only with its disks on primary storage the target host reaches too (a cluster-scoped pool:
hosts of that cluster; a zone-scoped pool: hosts of the zone). Disks on a host's local storage would need a
storage migration, which is not offered: such VMs are refused with a clear message rather than half-moved.

The request reserves the VM's CPU and memory on the target (so two migrations cannot both take its last
room), moves the VM to Migrating and submits the job to the SOURCE host's queue, whose worker drives the
libvirt peer-to-peer migration. The outcome is recorded by vm_record_migrated / vm_record_migrate_failed:
success moves the VM's host and releases the source's capacity; failure keeps it Running on the source and
releases the target's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from compute.models import VirtualMachine
from compute.services import _locked, _placement_request
from compute.services_console import console_fields
from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import AllocationState, Host
from infrastructure.placement import host_release, host_reserve, place_vm
from portal.authz import authorize
from portal.errors import InvalidParameter, InvalidState, Unsupported
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob, Event
from portal.tags import comma_list
from storage.models import StoragePool, Volume

JOB_MODULE = "compute.tasks_vm_ops"


@dataclass(frozen=True)
class MigrationCandidate:
    """One host as findHostsForMigration shows it: whether the VM could go there now, and why not."""

    host: Host
    suitable: bool
    requires_storage_motion: bool
    has_enough_capacity: bool
    reason: str = ""


def _pools(vm: VirtualMachine) -> list[StoragePool | None]:
    """The pools of the VM's disks; None stands for a disk on a host's local directory pool."""
    volumes = vm.volumes.filter(removed__isnull=True).exclude(state=Volume.State.EXPUNGED).select_related(
        "storage_pool")
    return [volume.storage_pool for volume in volumes]


def _reaches(pools: list[StoragePool | None], host: Host) -> bool:
    """Whether the host reaches every disk of the VM without moving any."""
    for pool in pools:
        if pool is None or pool.scope == StoragePool.Scope.HOST:
            return False
        if pool.scope == StoragePool.Scope.CLUSTER and pool.cluster_id != host.cluster_id:
            return False
        if pool.zone_id != host.zone_id:
            return False
    return True


def _tags_ok(vm: VirtualMachine, host: Host) -> bool:
    return set(comma_list(vm.service_offering.host_tags)) <= set(comma_list(host.host_tags))


def _room(vm: VirtualMachine, host: Host) -> bool:
    cpu_limit = host.cpu_total_mhz * host.cluster.cpu_overprovisioning
    memory_limit = host.memory_total * host.cluster.memory_overprovisioning
    return (host.cpu_allocated + vm.cpu_mhz <= cpu_limit
            and host.memory_allocated + vm.memory_bytes <= memory_limit)


def _usable(host: Host) -> bool:
    return (host.status == Host.Status.UP and host.resource_state == AllocationState.ENABLED
            and host.cluster.allocation_state == AllocationState.ENABLED
            and host.pod.allocation_state == AllocationState.ENABLED)


def _require_running(vm: VirtualMachine) -> None:
    if vm.state != VmState.RUNNING or vm.host_id is None:
        raise InvalidState(_("VM %(name)s is %(state)s; only a running VM can be migrated live.") % {
            "name": vm.name, "state": vm.state})


def hosts_for_migration(*, caller: User, vm: VirtualMachine) -> list[MigrationCandidate]:
    """Every other host of the VM's zone, suitable ones first (CloudStack's findHostsForMigration)."""
    authorize(caller, "vm.migrate", vm)
    _require_running(vm)
    pools = _pools(vm)
    hosts = Host.objects.filter(zone_id=vm.zone_id).exclude(pk=vm.host_id).select_related(
        "cluster", "pod", "zone").order_by("name")
    candidates = []
    for host in hosts:
        storage_motion = not _reaches(pools, host)
        room = _room(vm, host)
        if not _usable(host):
            reason = _("Host is not Up and enabled.")
        elif storage_motion:
            reason = _("Host does not reach the VM's disks.")
        elif not _tags_ok(vm, host):
            reason = _("Host lacks the offering's host tags.")
        elif not room:
            reason = _("Host has no room for the VM's CPU and memory.")
        else:
            reason = ""
        candidates.append(MigrationCandidate(host=host, suitable=not reason, requires_storage_motion=storage_motion,
                                             has_enough_capacity=room, reason=reason))
    return sorted(candidates, key=lambda c: (not c.suitable, c.host.name))


@transaction.atomic
def vm_migrate(*, caller: User, vm: VirtualMachine, host: Host | None = None) -> AsyncJob:
    """Live-migrate a running VM to `host`, or to a host the planner picks among those reaching its disks."""
    authorize(caller, "vm.migrate", vm)
    vm = _locked(vm)
    _require_running(vm)
    if vm.live_snapshots().exists():
        # libvirt refuses to migrate a domain with snapshots (their metadata would not follow); CloudStack
        # refuses too. Refused here, before any reservation, rather than failing in the job.
        raise InvalidState(_("VM %(name)s has VM snapshots; delete them before migrating it.") % {"name": vm.name})
    source = vm.host
    pools = _pools(vm)
    if any(pool is None or pool.scope == StoragePool.Scope.HOST for pool in pools):
        raise Unsupported(_("VM %(name)s has disks on the local storage of host %(host)s; they cannot move with a "
                            "live migration (only disks on cluster- or zone-wide primary storage can).") % {
            "name": vm.name, "host": source.name})
    if host is not None:
        if host.pk == source.pk:
            raise InvalidParameter(_("VM %(name)s already runs on host %(host)s.") % {
                "name": vm.name, "host": host.name})
        if host.zone_id != vm.zone_id:
            raise InvalidParameter(_("Host %(host)s is not in the VM's zone.") % {"host": host.name})
        if not _reaches(pools, host):
            raise InvalidParameter(_("Host %(host)s does not reach the primary storage of VM %(name)s.") % {
                "host": host.name, "name": vm.name})
        if not _tags_ok(vm, host):
            raise InvalidParameter(_("Host %(host)s lacks the host tags %(tags)s of the VM's offering.") % {
                "host": host.name, "tags": vm.service_offering.host_tags})
        target = host_reserve(zone=vm.zone, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes, only=host)
    else:
        clusters = {pool.cluster_id for pool in pools if pool.scope == StoragePool.Scope.CLUSTER}
        cluster = pools[0].cluster if len(clusters) == 1 and pools else None
        if len(clusters) > 1:
            raise Unsupported(_("The disks of VM %(name)s are in several clusters; no host reaches them all.")
                              % {"name": vm.name})
        target = place_vm(_placement_request(vm, vm.service_offering, cluster=cluster), avoid={source.pk}).host
    VM_STATE_MACHINE.transit(vm, VmEvent.MIGRATION_REQUESTED)
    return job_submit(caller=caller, account=vm.account, cmd="migrateVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_migrate", instance=vm, queue=source.queue,
                      params={"source": source.pk, "target": target.pk}, event_type="VM.MIGRATE",
                      description=_("Migrating VM %(name)s from %(src)s to %(dst)s") % {
                          "name": vm.name, "src": source.name, "dst": target.name})


@transaction.atomic
def vm_record_migrated(*, vm: VirtualMachine, source: Host, target: Host, console: VncEndpoint | None) -> None:
    vm = _locked(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_SUCCEEDED, host=target, last_host=target,
                             **console_fields(console))
    host_release(host=source, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)
    event_emit(type="VM.MIGRATE", description=_("VM %(name)s migrated from %(src)s to %(dst)s") % {
        "name": vm.name, "src": source.name, "dst": target.name}, account=vm.account, resource=vm)


@transaction.atomic
def vm_record_migrate_failed(*, vm: VirtualMachine, target: Host, reason: str) -> None:
    """The VM still runs on its source host: back to Running there, the target's reservation released."""
    vm = _locked(vm)
    VM_STATE_MACHINE.transit(vm, VmEvent.OPERATION_FAILED)
    host_release(host=target, cpu_mhz=vm.cpu_mhz, memory_bytes=vm.memory_bytes)
    event_emit(type="VM.MIGRATE", description=_("VM %(name)s could not migrate to %(dst)s: %(reason)s") % {
        "name": vm.name, "dst": target.name, "reason": reason}, account=vm.account, resource=vm,
        level=Event.Level.ERROR)
