"""Storage pools shared by the hosts of a scope: define, start, describe and remove them.

Kept apart from operations.py (domains, volumes, the host-local pool) so each module stays readable; it
reuses that module's connection handling, so a lost connection is retried once here too.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass

import libvirt

from .errors import HypervisorError, libvirt_message
from .operations import _error_code, _parse, _pool, _with_connection
from .xml import PoolSpec, build_ceph_secret_xml, build_pool_xml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolInfo:
    """libvirt's view of a pool's size, in bytes: what the portal records as capacity and use."""

    capacity: int
    allocation: int
    available: int
    active: bool


def _secret_bytes(value: str) -> bytes:
    """A cephx key is base64 text; libvirt stores the raw key. Anything that is not base64 is kept as is."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def _ensure_secret(conn: libvirt.virConnect, usage: str, value: str) -> None:
    try:
        secret = conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, usage)
    except libvirt.libvirtError as exc:
        if _error_code(exc) != libvirt.VIR_ERR_NO_SECRET:
            raise
        secret = conn.secretDefineXML(build_ceph_secret_xml(usage), 0)
    secret.setValue(_secret_bytes(value), 0)


def _check_matches(pool: libvirt.virStoragePool, spec: PoolSpec, uri: str) -> None:
    """A pool of that name that points elsewhere needs a human: using it would scatter or lose volumes."""
    document = _parse(pool.XMLDesc(0))
    existing = {
        "type": document.get("type"),
        "target": document.findtext("target/path") if spec.pool_type != "rbd" else None,
        "source": (document.find("source/dir").get("path") if spec.pool_type == "netfs"
                   and document.find("source/dir") is not None else None),
    }
    expected = {
        "type": spec.pool_type,
        "target": spec.target_path if spec.pool_type != "rbd" else None,
        "source": spec.source_path if spec.pool_type == "netfs" else None,
    }
    if existing != expected:
        raise HypervisorError(f"storage pool {spec.name!r} on {uri} is defined as {existing}, expected {expected}")


def ensure_pool(uri: str, spec: PoolSpec, *, secret: str | None = None) -> None:
    """Make sure a persistent, running, autostarted pool exists as specified; safe to repeat on every connect.

    ``secret`` is the cephx key of an RBD pool; it is stored in a libvirt secret before the pool starts.
    """
    pool_xml = build_pool_xml(spec)

    def action(conn: libvirt.virConnect) -> None:
        if spec.pool_type == "rbd" and spec.auth_user and secret is not None:
            _ensure_secret(conn, spec.secret_usage, secret)
        try:
            pool = conn.storagePoolLookupByName(spec.name)
        except libvirt.libvirtError as exc:
            if _error_code(exc) != libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise
            pool = conn.storagePoolDefineXML(pool_xml, 0)
            logger.info("defined %s storage pool %s on %s", spec.pool_type, spec.name, uri)
        _check_matches(pool, spec, uri)
        if not pool.isActive():
            if spec.pool_type != "rbd":
                pool.build(0)  # creates the directory (dir) or the mount point (netfs) if missing
            pool.create(0)
        if not pool.autostart():
            pool.setAutostart(1)

    _with_connection(uri, action)


def pool_info(uri: str, name: str) -> PoolInfo:
    """Refresh and describe a pool: libvirt's capacity, allocation and available bytes."""

    def action(conn: libvirt.virConnect) -> PoolInfo:
        pool = _pool(conn, name)
        active = bool(pool.isActive())
        if active:
            pool.refresh(0)
        _state, capacity, allocation, available = pool.info()
        return PoolInfo(capacity=capacity, allocation=allocation, available=available, active=active)

    return _with_connection(uri, action)


def remove_pool(uri: str, name: str) -> None:
    """Stop and undefine a pool, leaving its data where it is; a pool already gone is fine."""

    def action(conn: libvirt.virConnect) -> None:
        try:
            pool = conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as exc:
            if _error_code(exc) == libvirt.VIR_ERR_NO_STORAGE_POOL:
                return
            raise
        if pool.isActive():
            pool.destroy()
        try:
            pool.undefine()
        except libvirt.libvirtError as exc:
            logger.warning("pool %s on %s could not be undefined: %s", name, uri, libvirt_message(exc))
            raise

    _with_connection(uri, action)
