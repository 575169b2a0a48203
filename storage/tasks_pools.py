"""Storage-pool agent work. Runs in the worker that consumes a host's queue (or the default queue for pure
bookkeeping jobs); talks to libvirt only through infrastructure.hypervisor and records through
storage.services_pools."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import OperationFailed, ResourceUnavailable
from portal.jobs import JobOutcome
from portal.models import AsyncJob
from storage import services_pools as services
from storage.models import StoragePool

logger = logging.getLogger(__name__)

LIBVIRT_TYPES = {
    StoragePool.PoolType.FILESYSTEM: "dir",
    StoragePool.PoolType.NETWORK_FILESYSTEM: "netfs",
    StoragePool.PoolType.RBD: "rbd",
}
# Pools a host must not (re)define: their storage is being worked on, or they are gone.
SKIPPED_STATES = (StoragePool.Status.MAINTENANCE,)


def mount_root() -> str:
    """Where hosts mount NFS pools (one directory per pool, named after its libvirt name)."""
    return getattr(settings, "CIRROSTACK_POOL_MOUNT_ROOT", "/mnt")


def pool_spec(pool: StoragePool) -> hv.PoolSpec:
    """The libvirt shape of a pool row, identical on every host of its scope."""
    kind = LIBVIRT_TYPES[pool.pool_type]
    name = pool.libvirt_name
    if kind == "dir":
        return hv.PoolSpec(name=name, pool_type=kind, target_path=pool.path)
    port = urlsplit(pool.url).port
    if kind == "netfs":
        return hv.PoolSpec(name=name, pool_type=kind, target_path=f"{mount_root().rstrip('/')}/{name}",
                           source_host=pool.server, source_path=pool.path, source_port=port)
    return hv.PoolSpec(name=name, pool_type=kind, source_host=pool.server, source_name=pool.path,
                       source_port=port, auth_user=pool.rbd_user, secret_usage=name if pool.rbd_user else "")


def ensure_pool_on_host(pool: StoragePool, host: Host) -> None:
    """Define and start the pool on the host (idempotent); raises hv.HypervisorError when the host cannot."""
    secret = services.pool_secret(pool) if pool.rbd_user else None
    hv.ensure_pool(host.url, pool_spec(pool), secret=secret)


def define_pool_on_host(pool: StoragePool, host: Host) -> bool:
    """Define the pool on the host and record the size libvirt reports; False (and an event) on failure."""
    try:
        ensure_pool_on_host(pool, host)
        info = hv.pool_info(host.url, pool.libvirt_name)
    except hv.HypervisorError as exc:
        logger.warning("storage pool %s unusable on host %s: %s", pool.name, host.name, exc)
        services.storage_pool_record_unreachable(pool=pool, host=host, reason=str(exc))
        return False
    services.storage_pool_record_stats(pool=pool, capacity_bytes=info.capacity, used_bytes=info.allocation)
    return True


def define_pools_on_host(host: Host) -> int:
    """On connect: every pool in the host's scope (its cluster's, its zone's, its own). A pool that fails
    does not keep the host from coming Up; it is reported. Returns how many pools are usable."""
    from django.db.models import Q

    pools = StoragePool.objects.filter(
        Q(scope=StoragePool.Scope.CLUSTER, cluster_id=host.cluster_id)
        | Q(scope=StoragePool.Scope.ZONE, zone_id=host.zone_id)
        | Q(scope=StoragePool.Scope.HOST, host_id=host.pk),
        removed__isnull=True,
    ).exclude(status__in=SKIPPED_STATES).order_by("id")
    return sum(1 for pool in pools if define_pool_on_host(pool, host))


def _job_pool_and_host(job: AsyncJob) -> tuple[StoragePool, Host | None]:
    pool = StoragePool.objects.select_related("zone").get(uuid=job.instance_id)
    host = Host.objects.filter(pk=job.params.get("host")).first()
    return pool, host


def run_pool_define(job: AsyncJob) -> JobOutcome:
    pool, host = _job_pool_and_host(job)
    if host is None:
        raise ResourceUnavailable(_("The host meant to define storage pool %(name)s is gone.") % {"name": pool.name})
    if pool.removed is None and not define_pool_on_host(pool, host):
        raise ResourceUnavailable(_("Host %(host)s cannot use storage pool %(name)s.") % {"host": host.name,
                                                                                       "name": pool.name})
    return JobOutcome.of(pool)


def run_pool_remove(job: AsyncJob) -> JobOutcome:
    pool, host = _job_pool_and_host(job)
    if host is not None:
        try:
            hv.remove_pool(host.url, pool.libvirt_name)
        except hv.HypervisorError as exc:
            raise OperationFailed(_("Host %(host)s could not remove storage pool %(name)s: %(error)s")
                                  % {"host": host.name, "name": pool.name, "error": exc}) from exc
    return JobOutcome.of(pool)


def run_pool_maintenance(job: AsyncJob) -> JobOutcome:
    """enableStorageMaintenance: Maintenance when no running VM uses the pool; until VMs can be stopped or
    migrated automatically, ErrorInMaintenance and a job that says why."""
    pool, _host = _job_pool_and_host(job)
    if not services.storage_pool_enter_maintenance(pool=pool):
        raise OperationFailed(_("Running VMs still use volumes in storage pool %(name)s; stop them, then enable "
                                "maintenance again.") % {"name": pool.name})
    return JobOutcome.of(pool)


def run_pool_cancel_maintenance(job: AsyncJob) -> JobOutcome:
    pool, _host = _job_pool_and_host(job)
    services.storage_pool_leave_maintenance(pool=pool)
    return JobOutcome.of(pool)
