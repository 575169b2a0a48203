"""Moving a domain between hosts: peer-to-peer (live) migration, with a fallback for libvirt's test driver.

Peer-to-peer: the source libvirtd connects to the destination itself and drives the whole migration, so the
worker only needs a connection to the source, and a worker crash mid-way cannot leave a half-started domain
that nobody finishes. PERSIST_DEST|UNDEFINE_SOURCE move the definition with the running guest, so the domain
is defined on exactly one host afterwards. On failure libvirt resumes the guest on the source.

The disks are not copied: the destination must see the same paths (shared primary storage, or the same
directory for hosts on one machine). QEMU then reopens the files on the destination.

libvirt's test driver cannot migrate ("p2p migration is not supported"). Between two test:/// URIs the
definition and running state are moved by hand instead (define on the destination, start it there if it ran,
destroy and undefine on the source), so the portal's migration jobs run end to end on simulator hosts. Two
hosts with the *same* test URI (all simulator hosts use test:///default, one in-process driver) share one
domain list: there the domain is already "on" the destination and nothing is done.
"""

from __future__ import annotations

import logging
import threading
import time

import libvirt

from .connection import get_connection
from .errors import DomainNotFound, HypervisorError, MigrationFailed, libvirt_message, translate
from .operations import _UNDEFINE_FLAGS_BASIC, _lookup, _lookup_or_none, _with_connection
from .xml import with_vnc_listen

logger = logging.getLogger(__name__)

# UNSAFE: libvirt calls a migration "unsafe" unless it recognises the disks' filesystem as a cluster filesystem
# (NFS, GlusterFS, Ceph, ...) or the disk cache is off. Whether the destination sees the same disks is decided by
# the portal from its pool records (it defines the VM's pools on the target first); libvirt cannot see that two
# hosts share e.g. one directory. If the destination cannot open a disk, the migration fails and the guest keeps
# running on the source.
_P2P_FLAGS = (libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
              | libvirt.VIR_MIGRATE_UNSAFE)


def _is_test_uri(uri: str) -> bool:
    return uri.startswith("test:")


def migrate_domain(src_uri: str, dst_uri: str, name: str, *, live: bool = True, timeout_s: float = 300,
                   vnc_listen: str | None = None) -> None:
    """Move domain ``name`` from ``src_uri`` to ``dst_uri``: live while it runs, offline (definition only) if off.

    ``vnc_listen``: the destination's console address. VNC listens on one host address, which the
    destination does not have, so the definition sent there listens on its own (the password goes along).

    After ``timeout_s`` the migration is aborted, which leaves the guest running on the source. Raises
    MigrationFailed (or another HypervisorError); a domain already only on the destination counts as done,
    so a retried job does not fail on its own earlier success.
    """
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    if _is_test_uri(src_uri) and _is_test_uri(dst_uri):
        _move_test_domain(src_uri, dst_uri, name)
        return
    if src_uri == dst_uri:
        raise MigrationFailed(f"cannot migrate {name!r}: source and destination are both {src_uri}")

    def prepare(conn: libvirt.virConnect) -> bool | None:
        domain = _lookup_or_none(conn, name)
        if domain is None:
            return None
        return bool(domain.isActive())

    active = _with_connection(src_uri, prepare)
    if active is None:
        if _with_connection(dst_uri, lambda conn: _lookup_or_none(conn, name) is not None):
            return  # moved by an earlier attempt
        raise DomainNotFound(f"domain {name!r} is on neither {src_uri} nor {dst_uri}")
    if active:
        flags = _P2P_FLAGS | (libvirt.VIR_MIGRATE_LIVE if live else 0)
    else:
        flags = _P2P_FLAGS | libvirt.VIR_MIGRATE_OFFLINE
    _run_with_timeout(src_uri, dst_uri, name, flags, timeout_s, vnc_listen)


def _destination_params(domain: libvirt.virDomain, vnc_listen: str | None) -> dict[str, str]:
    """migrateToURI3 parameters: a destination definition when the VNC listen address must change."""
    if vnc_listen is None:
        return {}
    current = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_MIGRATABLE)
    moved = with_vnc_listen(current, vnc_listen)
    return {} if moved is None else {libvirt.VIR_MIGRATE_PARAM_DEST_XML: moved}


def _run_with_timeout(src_uri: str, dst_uri: str, name: str, flags: int, timeout_s: float,
                      vnc_listen: str | None = None) -> None:
    """Run the (blocking) migration in a thread, and abort the job if it outlasts ``timeout_s``.

    Not retried on a lost connection like other calls: the source libvirtd keeps migrating without us, and a
    second attempt would race it. The caller (a job) sees ConnectionFailed/MigrationFailed and reconciles.
    """
    conn = get_connection(src_uri)
    outcome: dict[str, BaseException | None] = {"error": None}

    def run() -> None:
        try:
            domain = conn.lookupByName(name)
            domain.migrateToURI3(dst_uri, _destination_params(domain, vnc_listen), flags)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"migrate-{name}", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        logger.warning("migration of %s from %s to %s exceeded %ss; aborting", name, src_uri, dst_uri, timeout_s)
        try:
            conn.lookupByName(name).abortJob()
        except libvirt.libvirtError as exc:
            logger.warning("aborting the migration of %s failed: %s", name, libvirt_message(exc))
        worker.join(60)
        raise MigrationFailed(f"migration of {name!r} from {src_uri} to {dst_uri} did not finish within "
                              f"{timeout_s:.0f}s and was aborted")
    error = outcome["error"]
    if error is None:
        logger.info("migrated %s from %s to %s in %.1fs", name, src_uri, dst_uri, time.monotonic() - started)
        return
    if isinstance(error, libvirt.libvirtError):
        translated = translate(error)
        if type(translated) is HypervisorError:
            translated = MigrationFailed(
                f"migration of {name!r} from {src_uri} to {dst_uri} failed: {translated.message}", translated.code)
        raise translated from error
    raise error


def _move_test_domain(src_uri: str, dst_uri: str, name: str) -> None:
    if src_uri == dst_uri:
        # One driver instance: the domain list is shared, so it is already where it should be.
        _with_connection(src_uri, lambda conn: _lookup(conn, name))
        return

    def read(conn: libvirt.virConnect) -> tuple[str, bool] | None:
        domain = _lookup_or_none(conn, name)
        if domain is None:
            return None
        return domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE), bool(
            domain.isActive())

    found = _with_connection(src_uri, read)
    if found is None:
        if _with_connection(dst_uri, lambda conn: _lookup_or_none(conn, name) is not None):
            return
        raise DomainNotFound(f"domain {name!r} is on neither {src_uri} nor {dst_uri}")
    document, active = found

    def define(conn: libvirt.virConnect) -> None:
        domain = conn.defineXML(document)
        if active and not domain.isActive():
            domain.create()

    _with_connection(dst_uri, define)

    def remove(conn: libvirt.virConnect) -> None:
        domain = _lookup_or_none(conn, name)
        if domain is None:
            return
        if domain.isActive():
            domain.destroy()
        domain.undefineFlags(_UNDEFINE_FLAGS_BASIC)

    _with_connection(src_uri, remove)
