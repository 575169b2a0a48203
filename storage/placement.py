"""Primary-storage placement: which pools a host can put a volume on, and reserving room in one atomically.

Like host placement, the reservation is one conditional UPDATE ("add the size if it still fits under
capacity x storage.overprovisioning.factor and under the pool's disable threshold"), so racing deploys never
overcommit a pool on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q, QuerySet

from infrastructure.models import Host
from portal.configuration import config_value
from portal.tags import comma_list
from storage.models import StoragePool


def pools_for_host(host: Host) -> QuerySet[StoragePool]:
    """Every usable pool the host reaches: its cluster's, its zone's and its own local ones, Up only."""
    return StoragePool.objects.filter(
        Q(scope=StoragePool.Scope.CLUSTER, cluster_id=host.cluster_id)
        | Q(scope=StoragePool.Scope.ZONE, zone_id=host.zone_id)
        | Q(scope=StoragePool.Scope.HOST, host_id=host.pk),
        status=StoragePool.Status.UP,
        removed__isnull=True,
    ).order_by("id")


def pool_has_tags(pool: StoragePool, tags: Iterable[str]) -> bool:
    """A pool qualifies when it carries every tag asked for (CloudStack's storage-tag rule)."""
    return set(tags) <= set(pool.tag_list)


def pool_limit(pool: StoragePool) -> int:
    """The bytes that may be allocated on the pool: capacity x overprovisioning, capped by the threshold."""
    factor = config_value("storage.overprovisioning.factor")
    threshold = config_value("pool.storage.capacity.disablethreshold", zone=pool.zone)
    return int(pool.capacity_bytes * factor * threshold)


def pool_reserve(pool: StoragePool, size_bytes: int) -> bool:
    """Add `size_bytes` to the pool's allocation if it still fits; False (nothing changed) otherwise."""
    return bool(
        StoragePool.objects.filter(
            pk=pool.pk, status=StoragePool.Status.UP, allocated_bytes__lte=pool_limit(pool) - size_bytes,
        ).update(allocated_bytes=F("allocated_bytes") + size_bytes)
    )


def pool_release(pool: StoragePool, size_bytes: int) -> None:
    StoragePool.objects.filter(pk=pool.pk).update(allocated_bytes=F("allocated_bytes") - size_bytes)


def reserve_on_host(host: Host, size_bytes: int, tags: Iterable[str] = ()) -> StoragePool | None:
    """Reserve room for one volume in the first tagged pool the host reaches that fits; None when none does."""
    wanted = comma_list(tags)
    for pool in pools_for_host(host).select_related("zone"):
        if pool_has_tags(pool, wanted) and pool_reserve(pool, size_bytes):
            return pool
    return None
