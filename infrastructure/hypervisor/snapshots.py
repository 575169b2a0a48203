"""Internal qcow2 snapshots of a domain: create (with or without RAM), revert, delete, list.

Internal snapshots live inside the domain's qcow2 files, so they need no extra volumes, follow the disks
wherever the files go, and disappear with the volumes. With ``memory=True`` the RAM and device state of the
running guest are saved as well (QEMU's savevm: 0.2 s for the tiny guest) and a revert resumes the guest
exactly there; without memory only the disks are captured, and a revert leaves the domain shut off.

Known limit (checked on libvirt 9.0 / QEMU 7.2, tests/e2e/test_driver_real.py): QEMU cannot take an internal
*disk-only* snapshot of a *running* domain; libvirt refuses it. snapshot_create raises SnapshotUnsupported for
that case on every driver (libvirt's test driver would accept it), so the simulator refuses what production
refuses, and the service layer can decide: refuse, take it with memory, or stop the VM first.

Also known (same versions): a memory snapshot cannot be reverted once the guest had vCPUs hot-plugged (set_vcpus
while running): QEMU fails to load the state ("Unknown savevm section or instance 'cpu_common' 1") and the
revert raises HypervisorError. Snapshots taken and reverted between boots without live vCPU changes work.

Only writable qcow2 disks are captured: CD-ROMs, read-only and raw disks are listed with snapshot='no'
(raw files cannot hold internal snapshots, and read-only media do not change).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from .errors import SnapshotNotFound, SnapshotUnsupported
from .operations import _error_code, _lookup, _parse, _with_connection
from .xml import _check_nonempty, _check_text


def _snapshot(domain: libvirt.virDomain, name: str, snapshot: str) -> libvirt.virDomainSnapshot:
    try:
        return domain.snapshotLookupByName(snapshot, 0)
    except libvirt.libvirtError as exc:
        if _error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            raise SnapshotNotFound(f"domain {name!r} has no snapshot {snapshot!r}", exc.get_error_code()) from exc
        raise


def _snapshot_xml(domain: libvirt.virDomain, snapshot: str, description: str, memory: bool) -> str:
    root = ET.Element("domainsnapshot")
    ET.SubElement(root, "name").text = snapshot
    if description:
        ET.SubElement(root, "description").text = description
    if memory:
        # A running domain's internal snapshot includes its RAM by default; say so anyway.
        ET.SubElement(root, "memory", snapshot="internal")
        return ET.tostring(root, encoding="unicode")
    ET.SubElement(root, "memory", snapshot="no")
    disks = ET.SubElement(root, "disks")
    for disk in _parse(domain.XMLDesc(0)).iterfind("devices/disk"):
        target = disk.find("target")
        if target is None or not target.get("dev"):
            continue
        driver = disk.find("driver")
        writable_qcow2 = (disk.get("device") == "disk" and disk.find("readonly") is None
                          and driver is not None and driver.get("type") == "qcow2")
        ET.SubElement(disks, "disk", name=target.get("dev"), snapshot="internal" if writable_qcow2 else "no")
    return ET.tostring(root, encoding="unicode")


def snapshot_create(uri: str, name: str, snapshot: str, *, memory: bool, description: str = "") -> None:
    """Take internal snapshot ``snapshot``; with ``memory`` the running guest's RAM state too.

    ``memory=True`` on a shut-off domain captures the disks only (there is no RAM to save). ``memory=False``
    on a running domain raises SnapshotUnsupported (module docstring). An existing snapshot of that name is
    left as it is, so a retried job does not fail on its own first attempt.
    """
    _check_nonempty(snapshot, "snapshot name")
    _check_text(description, "snapshot description")

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        if snapshot in domain.snapshotListNames(0):
            return
        active = bool(domain.isActive())
        if active and not memory:
            raise SnapshotUnsupported(
                f"domain {name!r} is running: QEMU cannot take an internal disk-only snapshot of a running "
                "domain; take it with memory, or stop the domain first"
            )
        domain.snapshotCreateXML(_snapshot_xml(domain, snapshot, description, memory and active), 0)

    _with_connection(uri, action)


def snapshot_revert(uri: str, name: str, snapshot: str) -> None:
    """Return the domain to ``snapshot``: running afterwards iff the snapshot holds memory, else shut off.

    A running domain reverted to a disk-only snapshot is powered off first (hard: its disks are about to be
    replaced anyway), which is what libvirt would do itself, made explicit and driver-independent.
    """
    _check_nonempty(snapshot, "snapshot name")

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        snap = _snapshot(domain, name, snapshot)
        with_memory = _parse(snap.getXMLDesc(0)).findtext("state") in ("running", "paused")
        if not with_memory and domain.isActive():
            domain.destroy()
        # No REVERT_FORCE: with it libvirt replaces a running QEMU by a fresh one, which cannot load the state
        # of a guest that had vCPUs hot-plugged ("Unknown savevm section cpu_common"); without it the state is
        # loaded into the running QEMU, whose devices match.
        domain.revertToSnapshot(snap, 0)
        if with_memory and not domain.isActive():
            domain.create()

    _with_connection(uri, action)


def snapshot_delete(uri: str, name: str, snapshot: str) -> None:
    """Delete ``snapshot`` (its children are kept, re-parented by libvirt); a missing one is already deleted."""
    _check_nonempty(snapshot, "snapshot name")

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        try:
            snap = _snapshot(domain, name, snapshot)
        except SnapshotNotFound:
            return
        snap.delete(0)

    _with_connection(uri, action)


def snapshot_list(uri: str, name: str) -> list[str]:
    """The domain's snapshot names, oldest first."""

    def action(conn: libvirt.virConnect) -> list[str]:
        domain = _lookup(conn, name)
        created: list[tuple[int, str]] = []
        for snap in domain.listAllSnapshots(0):
            document = _parse(snap.getXMLDesc(0))
            created.append((int(document.findtext("creationTime") or 0), snap.getName()))
        return [snapshot_name for _time, snapshot_name in sorted(created)]

    return _with_connection(uri, action)
