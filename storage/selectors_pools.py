"""Reads of primary storage pools and image stores: root admins only (portal.authz "storagepool.list",
"imagestore.list"); storage is nobody's tenant data."""

from __future__ import annotations

import os

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from portal.authz import authorize
from portal.lookup import get_by_uuid
from storage.models import ImageStore, StoragePool


def storage_pool_list(*, caller: User, zone_id: str | None = None, pod_id: str | None = None,
                      cluster_id: str | None = None, name: str | None = None, keyword: str | None = None,
                      scope: str | None = None, status: str | None = None, path: str | None = None,
                      ip_address: str | None = None) -> QuerySet[StoragePool]:
    """listStoragePools' filters; ids are uuids, as every door takes them. Removed pools are never listed."""
    authorize(caller, "storagepool.list")
    pools = StoragePool.objects.select_related("zone", "pod", "cluster", "host").filter(removed__isnull=True)
    if zone_id:
        pools = pools.filter(zone__uuid=zone_id)
    if pod_id:
        pools = pools.filter(pod__uuid=pod_id)
    if cluster_id:
        pools = pools.filter(cluster__uuid=cluster_id)
    if name:
        pools = pools.filter(name=name)
    if keyword:
        pools = pools.filter(Q(name__icontains=keyword) | Q(url__icontains=keyword))
    if scope:
        pools = pools.filter(scope=scope.upper())
    if status:
        pools = pools.filter(status__iexact=status)
    if path:
        pools = pools.filter(path=path)
    if ip_address:
        pools = pools.filter(server=ip_address)
    return pools


def storage_pool_get(*, caller: User, pool_id: object) -> StoragePool:
    return get_by_uuid(storage_pool_list(caller=caller), pool_id, _("a storage pool"))


def image_store_list(*, caller: User, zone_id: str | None = None, name: str | None = None,
                     keyword: str | None = None, provider: str | None = None,
                     protocol: str | None = None) -> QuerySet[ImageStore]:
    authorize(caller, "imagestore.list")
    stores = ImageStore.objects.select_related("zone")
    if zone_id:
        stores = stores.filter(zone__uuid=zone_id)
    if name:
        stores = stores.filter(name=name)
    if keyword:
        stores = stores.filter(Q(name__icontains=keyword) | Q(url__icontains=keyword))
    if provider:
        stores = stores.filter(provider__iexact=provider)
    if protocol:
        stores = stores.filter(protocol__iexact=protocol)
    return stores


def image_store_get(*, caller: User, store_id: object) -> ImageStore:
    return get_by_uuid(image_store_list(caller=caller), store_id, _("an image store"))


def image_store_size(store: ImageStore) -> tuple[int, int]:
    """(capacity, used) bytes: a Local store's directory is measured now (when it exists), others as recorded."""
    if store.provider == ImageStore.Provider.LOCAL:
        size = local_store_size(store.path)
        if size is not None:
            return size
    return store.capacity_bytes, store.used_bytes


def local_store_size(path: str) -> tuple[int, int] | None:
    """(capacity, used) bytes of the filesystem holding a Local store's directory; None while it is missing."""
    if not os.path.isdir(path):
        return None
    stats = os.statvfs(path)
    capacity = stats.f_blocks * stats.f_frsize
    return capacity, capacity - stats.f_bfree * stats.f_frsize
