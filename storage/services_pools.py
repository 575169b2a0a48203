"""Writes about primary storage: registering a pool from a CloudStack URL, administering it (name, tags,
capacity, enable/disable, maintenance, delete) and recording what hosts report about it.

A pool is a libvirt storage pool defined on every host of its scope. That hypervisor work never happens here:
each write that needs it submits a job on the host's queue (storage.tasks_pools), so it runs in the agent
that owns the host."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.models import User
from infrastructure.models import Cluster, Host, Pod, Zone
from portal.authz import authorize
from portal.errors import InvalidParameter, NotFound, ResourceInUse
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob
from portal.tags import tags_text
from storage.models import StoragePool, Volume
from storage.states_pools import POOL_STATE_MACHINE, PoolEvent

CREDENTIAL_PURPOSE = "storage-credential"
SUPPORTED_SCHEMES = ("filesystem", "nfs", "rbd")
# States in which a VM uses its volumes: a pool under them cannot go into maintenance.
ACTIVE_VM_STATES = ("Starting", "Running", "Stopping", "Migrating")


@dataclass(frozen=True)
class PoolLocation:
    """What a createStoragePool URL says: the pool type, server (NFS server, Ceph monitor) and path (directory,
    export, RBD pool); `url` is the URL as stored, without any secret."""

    pool_type: str
    server: str
    path: str
    url: str
    rbd_user: str = ""
    rbd_secret: str = ""


def clean_path(raw: str, what: str) -> str:
    path = unquote(raw)
    if not path.startswith("/"):
        raise InvalidParameter(_("The %(what)s must be an absolute path, not %(path)s.") % {"what": what,
                                                                                          "path": path or '""'})
    normal = posixpath.normpath(path)
    if normal == "/":
        raise InvalidParameter(_("The %(what)s cannot be the root directory.") % {"what": what})
    if normal != path.rstrip("/") or ".." in path.split("/"):
        raise InvalidParameter(_("The %(what)s %(path)s is not a normalised path.") % {"what": what, "path": path})
    return normal


def parse_pool_url(url: str) -> PoolLocation:
    """CloudStack's primary storage URLs: filesystem:///path (or a plain /path), nfs://server/export,
    rbd://[user[:secret]@]monitor[:port]/pool."""
    url = (url or "").strip()
    if not url:
        raise InvalidParameter(_("A storage pool needs a URL."))
    if url.startswith("/"):
        url = f"filesystem://{url}"
    if "://" not in url:
        raise InvalidParameter(_("Unsupported storage URL %(url)s: use filesystem:///path, nfs://server/export "
                                 "or rbd://user:secret@monitor/pool.") % {"url": url})
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidParameter(_("The port in %(url)s is not valid.") % {"url": url}) from exc
    if scheme == "filesystem":
        if parts.netloc:
            raise InvalidParameter(_("A filesystem URL names no server: filesystem:///path, not %(url)s.")
                                   % {"url": url})
        path = clean_path(parts.path, _("directory"))
        return PoolLocation(StoragePool.PoolType.FILESYSTEM, "", path, f"filesystem://{path}")
    if scheme == "nfs":
        if not parts.hostname or parts.username or parts.password:
            raise InvalidParameter(_("An NFS URL needs a server and no credentials: nfs://server/export."))
        path = clean_path(parts.path, _("NFS export"))
        netloc = parts.hostname + (f":{port}" if port else "")
        return PoolLocation(StoragePool.PoolType.NETWORK_FILESYSTEM, parts.hostname, path, f"nfs://{netloc}{path}")
    if scheme == "rbd":
        if not parts.hostname:
            raise InvalidParameter(_("An RBD URL needs a Ceph monitor: rbd://user:secret@monitor/pool."))
        pool_name = unquote(parts.path.strip("/"))
        if not pool_name or "/" in pool_name:
            raise InvalidParameter(_("An RBD URL names exactly one Ceph pool: rbd://user:secret@monitor/pool."))
        user, secret = unquote(parts.username or ""), unquote(parts.password or "")
        if secret and not user:
            raise InvalidParameter(_("An RBD secret needs a cephx user: rbd://user:secret@monitor/pool."))
        if user and not secret:
            raise InvalidParameter(_("The RBD URL names the cephx user %(user)s but no secret.") % {"user": user})
        netloc = (f"{user}@" if user else "") + parts.hostname + (f":{port}" if port else "")
        return PoolLocation(StoragePool.PoolType.RBD, parts.hostname, pool_name, f"rbd://{netloc}/{pool_name}",
                            rbd_user=user, rbd_secret=secret)
    raise InvalidParameter(_("Unsupported storage URL scheme %(scheme)s; supported: %(schemes)s.")
                           % {"scheme": scheme, "schemes": ", ".join(SUPPORTED_SCHEMES)})


def pool_secret(pool: StoragePool) -> str:
    """The decrypted cephx key, for the agent only: no door renders it."""
    return crypto.decrypt(pool.rbd_secret_encrypted, purpose=CREDENTIAL_PURPOSE)


def hosts_in_scope(pool: StoragePool) -> QuerySet[Host]:
    """Every host that must have the pool defined: its cluster's, its zone's, or its one host."""
    if pool.scope == StoragePool.Scope.CLUSTER:
        return Host.objects.filter(cluster_id=pool.cluster_id)
    if pool.scope == StoragePool.Scope.ZONE:
        return Host.objects.filter(zone_id=pool.zone_id)
    return Host.objects.filter(pk=pool.host_id)


def _tags(raw: str | list[str] | None) -> str:
    return tags_text(raw, too_long=_("Storage tags are too long (at most 1024 characters)."))


def _capacity(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidParameter(_("capacitybytes must be a positive number of bytes."))
    return value


def _name_free(zone: Zone, name: str, exclude: StoragePool | None = None) -> None:
    taken = StoragePool.objects.filter(zone=zone, name__iexact=name, removed__isnull=True)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise InvalidParameter(_("A storage pool named %(name)s already exists in zone %(zone)s.")
                               % {"name": name, "zone": zone.name})


def _scope_placement(zone: Zone, scope: str, pod: Pod | None,
                     cluster: Cluster | None) -> tuple[str, Pod | None, Cluster | None]:
    scope = (scope or StoragePool.Scope.CLUSTER).upper()
    if scope == StoragePool.Scope.HOST:
        raise InvalidParameter(_("Host-scoped pools are the hosts' local storage; create a CLUSTER or ZONE pool."))
    if scope not in (StoragePool.Scope.CLUSTER, StoragePool.Scope.ZONE):
        raise InvalidParameter(_("scope must be CLUSTER or ZONE, not %(scope)s.") % {"scope": scope})
    if scope == StoragePool.Scope.ZONE:
        if cluster is not None or pod is not None:
            raise InvalidParameter(_("A zone-wide storage pool takes no pod or cluster."))
        return scope, None, None
    if cluster is None:
        raise InvalidParameter(_("A cluster-scoped storage pool needs a cluster (clusterid)."))
    if cluster.zone_id != zone.pk:
        raise InvalidParameter(_("Cluster %(cluster)s is not in zone %(zone)s.") % {"cluster": cluster,
                                                                                  "zone": zone})
    if pod is not None and pod.pk != cluster.pod_id:
        raise InvalidParameter(_("Cluster %(cluster)s is not in pod %(pod)s.") % {"cluster": cluster, "pod": pod})
    return scope, cluster.pod, cluster


@transaction.atomic
def storage_pool_create(*, caller: User, zone: Zone, name: str, url: str, scope: str = "CLUSTER",
                        pod: Pod | None = None, cluster: Cluster | None = None, tags: str | list[str] = "",
                        capacity_bytes: int | None = None, details: dict[str, str] | None = None) -> StoragePool:
    """Register primary storage; every Up host in its scope defines it in the background (one job per host),
    and its capacity is known once the first host reports it (or at once, when capacitybytes is given)."""
    authorize(caller, "storagepool.create")
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("A storage pool needs a name."))
    if len(name) > 255:
        raise InvalidParameter(_("The name is too long (at most 255 characters)."))
    scope, pod, cluster = _scope_placement(zone, scope, pod, cluster)
    location = parse_pool_url(url)
    limit = _capacity(capacity_bytes)
    tag_text = _tags(tags)
    _name_free(zone, name)
    if StoragePool.objects.filter(zone=zone, url=location.url, removed__isnull=True).exists():
        raise InvalidParameter(_("Storage at %(url)s is already registered in zone %(zone)s.")
                               % {"url": location.url, "zone": zone.name})
    if location.pool_type == StoragePool.PoolType.FILESYSTEM:
        scope_hosts = Host.objects.filter(cluster=cluster) if cluster is not None else Host.objects.filter(zone=zone)
        clash = scope_hosts.filter(storage_path__in=[location.path, f"{location.path}/"]).first()
        if clash is not None:
            # libvirt refuses two pools over one directory: the host's local pool already uses it.
            raise InvalidParameter(_("%(path)s is the local storage directory of host %(host)s; choose another "
                                     "directory.") % {"path": location.path, "host": clash.name})
    pool = StoragePool.objects.create(
        name=name, zone=zone, pod=pod, cluster=cluster, scope=scope, pool_type=location.pool_type,
        url=location.url, server=location.server, path=location.path, rbd_user=location.rbd_user,
        rbd_secret_encrypted=crypto.encrypt(location.rbd_secret, purpose=CREDENTIAL_PURPOSE), tags=tag_text,
        capacity_limit_bytes=limit, capacity_bytes=limit or 0,
        details={str(key): str(value) for key, value in (details or {}).items()},
    )
    pool_event(pool, "STORAGE.POOL.CREATE", _("Created storage pool %(name)s (%(url)s)")
               % {"name": name, "url": location.url}, user=caller)
    for host in hosts_in_scope(pool).filter(status=Host.Status.UP).order_by("id"):
        storage_pool_define_on_host(caller=caller, pool=pool, host=host)
    return pool


def storage_pool_define_on_host(*, caller: User, pool: StoragePool, host: Host) -> AsyncJob:
    """Submit the job that defines and starts the pool on one host, on that host's queue."""
    authorize(caller, "storagepool.create")
    return job_submit(
        caller=caller, account=caller.account, cmd="createStoragePool", handler="storage.tasks_pools.run_pool_define",
        instance=pool, queue=host.queue, event_type="STORAGE.POOL.DEFINE", params={"host": host.pk},
        description=_("Defining storage pool %(pool)s on host %(host)s") % {"pool": pool.name, "host": host.name},
    )


def _locked(pool: StoragePool) -> StoragePool:
    """The pool's row, locked for this transaction; a pool deleted meanwhile is not found."""
    locked = StoragePool.objects.select_for_update().filter(pk=pool.pk, removed__isnull=True).first()
    if locked is None:
        raise NotFound(_("Unable to find %(label)s with id %(id)s.") % {"label": _("a storage pool"), "id": pool.uuid})
    return locked


@transaction.atomic
def storage_pool_update(*, caller: User, pool: StoragePool, tags: str | list[str] | None = None,
                        capacity_bytes: int | None = None, enabled: bool | None = None,
                        name: str | None = None) -> StoragePool:
    """CloudStack's updateStoragePool: rename, retag, change the provisionable bytes, enable or disable."""
    authorize(caller, "storagepool.update", pool)
    pool = _locked(pool)
    changes: dict[str, object] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidParameter(_("A storage pool needs a name."))
        _name_free(pool.zone, name, exclude=pool)
        changes["name"] = name
    if tags is not None:
        changes["tags"] = _tags(tags)
    if capacity_bytes is not None:
        limit = _capacity(capacity_bytes)
        if limit < pool.allocated_bytes:
            raise InvalidParameter(_("capacitybytes (%(new)s) is below what is already allocated on the pool "
                                     "(%(allocated)s bytes).") % {"new": limit, "allocated": pool.allocated_bytes})
        changes["capacity_limit_bytes"] = limit
        changes["capacity_bytes"] = limit
    if enabled is not None:
        event = PoolEvent.ENABLE if enabled else PoolEvent.DISABLE
        POOL_STATE_MACHINE.transit(pool, event, **changes)
    elif changes:
        StoragePool.objects.filter(pk=pool.pk).update(**changes)
        for field, value in changes.items():
            setattr(pool, field, value)
    pool_event(pool, "STORAGE.POOL.UPDATE", _("Updated storage pool %(name)s") % {"name": pool.name}, user=caller)
    return pool


@transaction.atomic
def storage_pool_delete(*, caller: User, pool: StoragePool) -> None:
    """Remove a pool from the cloud; refused while it holds volumes. The hosts forget it in the background
    (its data stays where it is: deleting primary storage never deletes files)."""
    authorize(caller, "storagepool.delete", pool)
    pool = _locked(pool)
    volumes = Volume.objects.filter(storage_pool=pool, removed__isnull=True).exclude(
        state=Volume.State.EXPUNGED).count()
    if volumes:
        raise ResourceInUse(_("Storage pool %(name)s still holds %(count)s volume(s); delete them first.")
                            % {"name": pool.name, "count": volumes})
    StoragePool.objects.filter(pk=pool.pk).update(removed=timezone.now())
    pool.removed = timezone.now()
    pool_event(pool, "STORAGE.POOL.DELETE", _("Deleted storage pool %(name)s") % {"name": pool.name}, user=caller)
    for host in hosts_in_scope(pool).filter(status=Host.Status.UP).order_by("id"):
        job_submit(caller=caller, account=caller.account, cmd="deleteStoragePool",
                   handler="storage.tasks_pools.run_pool_remove", instance=pool, queue=host.queue,
                   event_type="STORAGE.POOL.REMOVE", params={"host": host.pk},
                   description=_("Removing storage pool %(pool)s from host %(host)s")
                   % {"pool": pool.name, "host": host.name})


@transaction.atomic
def storage_pool_enable_maintenance(*, caller: User, pool: StoragePool) -> AsyncJob:
    """PrepareForMaintenance at once (placement stops choosing the pool); the job then decides between
    Maintenance and ErrorInMaintenance (running VMs still use volumes there)."""
    authorize(caller, "storagepool.maintenance", pool)
    POOL_STATE_MACHINE.transit(pool, PoolEvent.ADMIN_ASK_MAINTENANCE)
    return job_submit(caller=caller, account=caller.account, cmd="enableStorageMaintenance",
                      handler="storage.tasks_pools.run_pool_maintenance", instance=pool, event_type="MAINT.PREPARE.PS",
                      description=_("Preparing storage pool %(name)s for maintenance") % {"name": pool.name})


@transaction.atomic
def storage_pool_cancel_maintenance(*, caller: User, pool: StoragePool) -> AsyncJob:
    authorize(caller, "storagepool.maintenance", pool)
    POOL_STATE_MACHINE.check(pool, PoolEvent.ADMIN_CANCEL_MAINTENANCE)
    return job_submit(caller=caller, account=caller.account, cmd="cancelStorageMaintenance",
                      handler="storage.tasks_pools.run_pool_cancel_maintenance", instance=pool,
                      event_type="MAINT.CANCEL.PS",
                      description=_("Cancelling maintenance of storage pool %(name)s") % {"name": pool.name})


# ------------------------------------------------------------------ what the agents and jobs report


def pool_running_vms(pool: StoragePool) -> int:
    """VMs that run with a volume in the pool: they keep it out of maintenance."""
    from compute.models import VirtualMachine

    return VirtualMachine.objects.filter(volumes__storage_pool=pool, volumes__removed__isnull=True,
                                         state__in=ACTIVE_VM_STATES, removed__isnull=True).distinct().count()


@transaction.atomic
def storage_pool_enter_maintenance(*, pool: StoragePool) -> bool:
    """The maintenance job's decision: True in Maintenance, False in ErrorInMaintenance."""
    running = pool_running_vms(pool)
    if running:
        POOL_STATE_MACHINE.transit(pool, PoolEvent.UNABLE_TO_ENTER_MAINTENANCE)
        pool_event(pool, "MAINT.PREPARE.PS", _("Storage pool %(name)s cannot enter maintenance: %(count)s "
                                               "running VM(s) use it") % {"name": pool.name, "count": running},
                   level="ERROR")
        return False
    POOL_STATE_MACHINE.transit(pool, PoolEvent.INTERNAL_ENTER_MAINTENANCE)
    pool_event(pool, "MAINT.PREPARE.PS", _("Storage pool %(name)s is in maintenance") % {"name": pool.name})
    return True


@transaction.atomic
def storage_pool_leave_maintenance(*, pool: StoragePool) -> None:
    POOL_STATE_MACHINE.transit(pool, PoolEvent.ADMIN_CANCEL_MAINTENANCE)
    pool_event(pool, "MAINT.CANCEL.PS", _("Storage pool %(name)s left maintenance") % {"name": pool.name})


def storage_pool_record_stats(*, pool: StoragePool, capacity_bytes: int, used_bytes: int) -> None:
    """A host reported the pool's size: libvirt's capacity counts unless the administrator set capacitybytes."""
    capacity = pool.capacity_limit_bytes or capacity_bytes
    StoragePool.objects.filter(pk=pool.pk).update(capacity_bytes=capacity, used_bytes=used_bytes)
    pool.capacity_bytes, pool.used_bytes = capacity, used_bytes


def storage_pool_record_unreachable(*, pool: StoragePool, host: Host, reason: str) -> None:
    pool_event(pool, "STORAGE.POOL.DEFINE", _("Host %(host)s cannot use storage pool %(name)s: %(reason)s")
               % {"host": host.name, "name": pool.name, "reason": reason}, level="ERROR")


def pool_event(pool: Model, type: str, description: str, level: str = "INFO", user: User | None = None) -> None:
    """Storage events (pools, image stores) belong to the acting admin's account, else the root admin
    account: storage is no tenant's."""
    from accounts.services_accounts import operator_account

    account = operator_account(user)
    if account is not None:
        event_emit(type=type, description=description, account=account, level=level, user=user, resource=pool)
