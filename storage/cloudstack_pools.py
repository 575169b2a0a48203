"""CloudStack API declarations of primary and secondary storage: listStoragePools, createStoragePool,
updateStoragePool, deleteStoragePool, enableStorageMaintenance, cancelStorageMaintenance, addImageStore,
listImageStores, deleteImageStore. Imported at the end of storage.cloudstack.

Field names are CloudStack's StoragePoolResponse and ImageStoreResponse. An RBD pool's cephx secret is
accepted in the URL and never rendered: the url/path fields carry it without the secret."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infrastructure.selectors import zone_get
from infrastructure.selectors_topology import cluster_get, pod_get
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.configuration import config_value
from portal.errors import InvalidParameter
from storage.models import ImageStore, StoragePool
from storage.selectors_pools import (
    image_store_get,
    image_store_list,
    image_store_size,
    storage_pool_get,
    storage_pool_list,
)
from storage.services_image_stores import image_store_add, image_store_delete
from storage.services_pools import (
    storage_pool_cancel_maintenance,
    storage_pool_create,
    storage_pool_delete,
    storage_pool_enable_maintenance,
    storage_pool_update,
)

T = ParamType

STORAGE_POOL_FIELDS = (
    "id", "name", "zoneid", "zonename", "podid", "podname", "clusterid", "clustername", "ipaddress", "path",
    "type", "scope", "state", "tags", "disksizetotal", "disksizeallocated", "disksizeused", "capacitybytes",
    "created", "overprovisionfactor", "hypervisor", "provider", "suitableformigration",
)
IMAGE_STORE_FIELDS = ("id", "name", "url", "protocol", "providername", "scope", "zoneid", "zonename", "readonly",
                      "disksizetotal", "disksizeused")


def _overprovision_factor(call: Call) -> str:
    """Global only (see portal.configuration): read once per call, not once per listed pool."""
    cached = getattr(call, "_storage_overprovision", None)
    if cached is None:
        cached = str(config_value("storage.overprovisioning.factor"))
        call._storage_overprovision = cached  # type: ignore[attr-defined]
    return cached


def render_storage_pool(call: Call, pool: StoragePool) -> dict[str, Any]:
    return {
        "id": str(pool.uuid),
        "name": pool.name,
        "zoneid": str(pool.zone.uuid),
        "zonename": pool.zone.name,
        "podid": str(pool.pod.uuid) if pool.pod else None,
        "podname": pool.pod.name if pool.pod else None,
        "clusterid": str(pool.cluster.uuid) if pool.cluster else None,
        "clustername": pool.cluster.name if pool.cluster else None,
        # CloudStack reports the server of network storage and the local host for a directory.
        "ipaddress": pool.server or "localhost",
        "path": pool.path,
        "type": pool.pool_type,
        "scope": pool.scope,
        "state": pool.status,
        "tags": pool.tags or None,
        "disksizetotal": pool.capacity_bytes,
        "disksizeallocated": pool.allocated_bytes,
        "disksizeused": pool.used_bytes,
        "capacitybytes": pool.capacity_limit_bytes,
        "created": pool.created,
        "overprovisionfactor": _overprovision_factor(call),
        "hypervisor": "KVM",
        "provider": "DefaultPrimary",
        "suitableformigration": False,
    }


def render_image_store(call: Call, store: ImageStore) -> dict[str, Any]:
    capacity, used = image_store_size(store)
    return {
        "id": str(store.uuid),
        "name": store.name,
        "url": store.url,
        "protocol": store.protocol,
        "providername": store.provider,
        "scope": "ZONE" if store.zone_id else "REGION",
        "zoneid": str(store.zone.uuid) if store.zone else None,
        "zonename": store.zone.name if store.zone else None,
        "readonly": store.read_only,
        "disksizetotal": capacity,
        "disksizeused": used,
    }


register_object(ObjectType(
    model="storagepool", name="storagepool", instance_type="StoragePool",
    lookup=lambda caller, pool_id: storage_pool_get(caller=caller, pool_id=pool_id),
    render=render_storage_pool, fields=STORAGE_POOL_FIELDS,
))
register_object(ObjectType(
    model="imagestore", name="imagestore", instance_type="ImageStore",
    lookup=lambda caller, store_id: image_store_get(caller=caller, store_id=store_id),
    render=render_image_store, fields=IMAGE_STORE_FIELDS,
))

POOL_ID = Param("id", T.UUID, required=True, description=_("The ID of the storage pool."))


def list_storage_pools(call: Call) -> QuerySet[StoragePool]:
    return storage_pool_list(caller=call.caller, zone_id=call.get("zoneid"), pod_id=call.get("podid"),
                             cluster_id=call.get("clusterid"), scope=call.get("scope"), status=call.get("status"),
                             path=call.get("path"), ip_address=call.get("ipaddress"))


register(Command(
    name="listStoragePools",
    description=_("Lists primary storage pools."),
    action="storagepool.list",
    handler=list_storage_pools,
    params=(
        Param("zoneid", T.UUID, description=_("List pools in this zone.")),
        Param("podid", T.UUID, description=_("List pools in this pod.")),
        Param("clusterid", T.UUID, description=_("List pools of this cluster.")),
        Param("scope", choices=("cluster", "zone", "host"), description=_("List pools of this scope.")),
        Param("status", description=_("List pools in this state (Up, Disabled, Maintenance, ...).")),
        Param("path", description=_("List pools with this path.")),
        Param("ipaddress", description=_("List pools on this server.")),
    ),
    response_object="storagepool",
    listing=Listing(object_name="storagepool", render=render_storage_pool, keyword_fields=("name", "url")),
))


def _details(call: Call) -> dict[str, str]:
    """details[0].key=k&details[0].value=v, or CloudStack's other spelling details[0].k=v."""
    result: dict[str, str] = {}
    for entry in call.get("details") or []:
        if set(entry) == {"key", "value"}:
            result[entry["key"]] = entry["value"]
        else:
            result.update(entry)
    return result


def create_storage_pool(call: Call) -> dict[str, Any]:
    zone = zone_get(caller=call.caller, zone_id=call.get("zoneid"))
    pod = pod_get(caller=call.caller, pod_id=call.get("podid")) if call.get("podid") else None
    cluster = cluster_get(caller=call.caller, cluster_id=call.get("clusterid")) if call.get("clusterid") else None
    scope = call.get("scope") or ("cluster" if cluster is not None else "zone")
    provider = call.get("provider")
    if provider and provider.lower() not in ("defaultprimary", "default"):
        raise InvalidParameter(_("Only the DefaultPrimary storage provider exists here, not %(provider)s.")
                               % {"provider": provider})
    pool = storage_pool_create(caller=call.caller, zone=zone, name=call.get("name"), url=call.get("url"),
                               scope=scope.upper(), pod=pod, cluster=cluster, tags=call.get("tags") or "",
                               capacity_bytes=call.get("capacitybytes"), details=_details(call))
    return {"storagepool": render_storage_pool(call, pool)}


register(Command(
    name="createStoragePool",
    description=_("Creates a primary storage pool; the hosts in its scope define it in the background."),
    action="storagepool.create",
    handler=create_storage_pool,
    params=(
        Param("zoneid", T.UUID, required=True, description=_("The zone of the storage pool.")),
        Param("name", required=True, description=_("The name of the storage pool.")),
        Param("url", required=True, max_length=2048,
              description=_("filesystem:///path (or /path), nfs://server/export or "
                            "rbd://user:secret@monitor/pool.")),
        Param("podid", T.UUID, description=_("The pod of a cluster-scoped pool.")),
        Param("clusterid", T.UUID, description=_("The cluster of a cluster-scoped pool.")),
        Param("scope", choices=("cluster", "zone"),
              description=_("cluster (default when clusterid is given) or zone.")),
        Param("tags", max_length=1024, description=_("Comma-separated storage tags.")),
        Param("capacitybytes", T.LONG, description=_("Bytes the cloud may provision from the pool.")),
        Param("details", T.MAP, description=_("Details of the pool, kept as given.")),
        Param("hypervisor", description=_("The hypervisor of the hosts that use the pool (KVM).")),
        Param("provider", description=_("The storage provider (DefaultPrimary).")),
        Param("managed", T.BOOLEAN, description=_("Accepted for compatibility; pools are never managed.")),
    ),
    response_object="storagepool",
))


def update_storage_pool(call: Call) -> dict[str, Any]:
    pool = storage_pool_get(caller=call.caller, pool_id=call.get("id"))
    tags = call.get("tags")
    pool = storage_pool_update(caller=call.caller, pool=pool, name=call.get("name"),
                               tags=",".join(tags) if isinstance(tags, list) else tags,
                               capacity_bytes=call.get("capacitybytes"), enabled=call.get("enabled"))
    return {"storagepool": render_storage_pool(call, pool)}


register(Command(
    name="updateStoragePool",
    description=_("Updates a storage pool: its name, tags, provisionable bytes, or whether it takes new volumes."),
    action="storagepool.update",
    handler=update_storage_pool,
    params=(
        POOL_ID,
        Param("name", description=_("The new name.")),
        Param("tags", T.LIST, description=_("Comma-separated storage tags; they replace the current ones.")),
        Param("capacitybytes", T.LONG, description=_("Bytes the cloud may provision from the pool.")),
        Param("enabled", T.BOOLEAN, description=_("false disables the pool for new volumes, true enables it.")),
    ),
    response_object="storagepool",
))


def delete_storage_pool(call: Call) -> dict[str, Any]:
    storage_pool_delete(caller=call.caller, pool=storage_pool_get(caller=call.caller, pool_id=call.get("id")))
    return {"success": True}


register(Command(
    name="deleteStoragePool",
    description=_("Deletes a storage pool that holds no volumes; its data is left in place."),
    action="storagepool.delete",
    handler=delete_storage_pool,
    params=(POOL_ID, Param("forced", T.BOOLEAN, default=False,
                           description=_("Accepted for compatibility; volumes always block deletion."))),
    response_fields=("success", "displaytext"),
))


def _maintenance(service: Any) -> Any:
    def handler(call: Call) -> Any:
        return service(caller=call.caller, pool=storage_pool_get(caller=call.caller, pool_id=call.get("id")))

    return handler


register(Command(
    name="enableStorageMaintenance",
    description=_("Puts a storage pool into maintenance: no new volumes; Maintenance once no running VM uses it."),
    action="storagepool.maintenance", handler=_maintenance(storage_pool_enable_maintenance), is_async=True,
    response_object="storagepool", params=(POOL_ID,),
))
register(Command(
    name="cancelStorageMaintenance",
    description=_("Takes a storage pool out of maintenance."),
    action="storagepool.maintenance", handler=_maintenance(storage_pool_cancel_maintenance), is_async=True,
    response_object="storagepool", params=(POOL_ID,),
))


# --- image stores ---------------------------------------------------------------------------------------


def add_image_store(call: Call) -> dict[str, Any]:
    zone_id = call.get("zoneid")
    if not zone_id:
        raise InvalidParameter(_("zoneid is required: image stores belong to a zone here."))
    zone = zone_get(caller=call.caller, zone_id=zone_id)
    url = call.get("url")
    store = image_store_add(caller=call.caller, zone=zone, name=call.get("name") or url, url=url,
                            provider=call.get("provider"))
    return {"imagestore": render_image_store(call, store)}


register(Command(
    name="addImageStore",
    description=_("Adds secondary storage (an image store) to a zone."),
    action="imagestore.add",
    handler=add_image_store,
    params=(
        Param("provider", required=True, choices=("nfs", "local"), description=_("NFS or Local.")),
        Param("url", max_length=2048, description=_("nfs://server/path (NFS) or file:///path (Local).")),
        Param("zoneid", T.UUID, description=_("The zone of the image store.")),
        Param("name", description=_("The name of the image store (default: its URL).")),
        Param("details", T.MAP, description=_("Accepted for compatibility.")),
    ),
    response_object="imagestore",
))


def list_image_stores(call: Call) -> QuerySet[ImageStore]:
    return image_store_list(caller=call.caller, zone_id=call.get("zoneid"), provider=call.get("provider"),
                            protocol=call.get("protocol"))


register(Command(
    name="listImageStores",
    description=_("Lists image stores (secondary storage)."),
    action="imagestore.list",
    handler=list_image_stores,
    params=(
        Param("zoneid", T.UUID, description=_("List the image stores of this zone.")),
        Param("provider", description=_("List image stores of this provider (NFS, Local).")),
        Param("protocol", description=_("List image stores of this protocol (nfs, file).")),
    ),
    response_object="imagestore",
    listing=Listing(object_name="imagestore", render=render_image_store, keyword_fields=("name", "url")),
))


def delete_image_store(call: Call) -> dict[str, Any]:
    image_store_delete(caller=call.caller, store=image_store_get(caller=call.caller, store_id=call.get("id")))
    return {"success": True}


register(Command(
    name="deleteImageStore",
    description=_("Deletes an image store."),
    action="imagestore.delete",
    handler=delete_image_store,
    params=(Param("id", T.UUID, required=True, description=_("The ID of the image store.")),),
    response_fields=("success", "displaytext"),
))
