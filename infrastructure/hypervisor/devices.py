"""Changes to a defined domain's devices and size: CD media, disks, I/O limits, vCPUs, memory; volume upload.

Each change is made to the running domain (when it runs) *and* to its persistent definition, so it survives
the next stop/start without the portal redefining the domain. The persistent definition is later replaced
by ``define_domain`` from the portal's records anyway; applying it here too keeps both in step in between.

libvirt's test driver implements none of device hot-plug (attach, detach, update) and no volume upload.
For that driver only, device changes are made by editing the persistent definition and, when the simulated
domain runs, restarting it so its live XML shows the change (the test driver runs no guest, so a restart
loses nothing); an upload creates the volume at the data's size but keeps no contents (the test driver's
volumes are not files). Everything else here runs unchanged on the test driver, which is what lets the
service layer's tests drive these operations for real. The real behaviour is covered by
tests/e2e/test_driver_real.py on a real libvirtd.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from .errors import DeviceNotFound, HypervisorError
from .operations import _error_code, _lookup, _parse, _pool, _with_connection
from .xml import DiskSpec, IoTune, _check_nonempty, _check_positive_int, _check_text, build_disk_xml, build_volume_xml

logger = logging.getLogger(__name__)

# How long a live disk detach may take: QEMU removes the device only once the guest has released it.
DETACH_TIMEOUT_S = 15.0
UPLOAD_CHUNK = 256 * 1024


def _flags(domain: libvirt.virDomain) -> int:
    """Change the persistent definition, and the running domain too when there is one."""
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if domain.isActive():
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    return flags


def _is_test_driver(conn: libvirt.virConnect) -> bool:
    return conn.getType().lower() == "test"


def _find_disk(root: ET.Element, target: str) -> ET.Element | None:
    for disk in root.iterfind("devices/disk"):
        element = disk.find("target")
        if element is not None and element.get("dev") == target:
            return disk
    return None


def _device_change(
    conn: libvirt.virConnect,
    domain: libvirt.virDomain,
    call: Callable[[int], object],
    edit: Callable[[ET.Element], None],
) -> None:
    """Run the hot-plug ``call`` with live+config flags; on the test driver, ``edit`` the definition instead."""
    try:
        call(_flags(domain))
        return
    except libvirt.libvirtError as exc:
        if _error_code(exc) != libvirt.VIR_ERR_NO_SUPPORT or not _is_test_driver(conn):
            raise
    _edit_definition(conn, domain, edit)


def _edit_definition(conn: libvirt.virConnect, domain: libvirt.virDomain, edit: Callable[[ET.Element], None]) -> None:
    """Test driver only: change the persistent definition, and restart a running domain so it shows."""
    root = _parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    edit(root)
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    if domain.isActive():
        domain.destroy()
        domain.create()


# -------------------------------------------------------------------------------------- CD media


def change_media(uri: str, name: str, target: str, path: str | None) -> None:
    """Insert ``path`` into the CD drive ``target``, or eject it (``path`` None); the drive must exist.

    The drive stays (IDE cannot hot-plug); only its medium changes, live and in the definition. Ejecting is
    forced: a guest that locked the tray must not be able to keep an ISO attached against the portal.
    """
    _check_nonempty(target, "disk target")
    if path is not None:
        _check_nonempty(path, "media path")

    def set_source(disk: ET.Element) -> None:
        source = disk.find("source")
        if source is not None:
            disk.remove(source)
        if path is not None:
            source = ET.Element("source", file=path)
            # <source> goes right after <driver>, where libvirt writes it.
            driver = disk.find("driver")
            disk.insert(list(disk).index(driver) + 1 if driver is not None else 0, source)

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        disk = _find_disk(_parse(domain.XMLDesc(0)), target)
        if disk is None:
            raise DeviceNotFound(f"domain {name!r} on {uri} has no drive {target!r}")
        if disk.get("device") != "cdrom":
            raise HypervisorError(f"drive {target!r} of domain {name!r} is a {disk.get('device')}, not a CD-ROM")
        current = disk.find("source")
        if (current.get("file") if current is not None else None) == path:
            return
        set_source(disk)
        document = ET.tostring(disk, encoding="unicode")
        force = libvirt.VIR_DOMAIN_DEVICE_MODIFY_FORCE if path is None else 0

        def edit(root: ET.Element) -> None:
            persistent = _find_disk(root, target)
            if persistent is None:
                raise DeviceNotFound(f"domain {name!r} on {uri} has no drive {target!r} in its definition")
            set_source(persistent)

        _device_change(conn, domain, lambda flags: domain.updateDeviceFlags(document, flags | force), edit)

    _with_connection(uri, action)


# ------------------------------------------------------------------------------------------ disks


def attach_disk(uri: str, name: str, disk: DiskSpec) -> None:
    """Hot-plug ``disk`` (and add it to the definition); attaching the same file to the same target again is a no-op.

    A different file already on that target is refused rather than replaced: that is a detach the caller
    did not ask for.
    """
    document = build_disk_xml(disk)

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        existing = _find_disk(_parse(domain.XMLDesc(0)), disk.target)
        if existing is not None:
            source = existing.find("source")
            if (source.get("file") if source is not None else "") == disk.path:
                return
            raise HypervisorError(f"domain {name!r} on {uri} already has another disk on {disk.target!r}")

        def edit(root: ET.Element) -> None:
            root.find("devices").append(_parse(document))

        _device_change(conn, domain, lambda flags: domain.attachDeviceFlags(document, flags), edit)

    _with_connection(uri, action)


def detach_disk(uri: str, name: str, target: str) -> None:
    """Hot-unplug the disk on ``target`` and drop it from the definition; a missing disk is already detached.

    QEMU removes a device only when the guest releases it, and libvirt may return before that; this waits
    up to DETACH_TIMEOUT_S for the disk to leave the live domain, so the caller can delete its volume.
    """
    _check_nonempty(target, "disk target")

    def action(conn: libvirt.virConnect) -> bool:
        domain = _lookup(conn, name)
        live = _find_disk(_parse(domain.XMLDesc(0)), target)
        persistent = _find_disk(_parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)), target)
        if live is None and persistent is None:
            return False
        active = bool(domain.isActive())
        # Detach from whichever of the two still has it (a retry may find it gone from one already).
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG if persistent is not None else 0
        if active and live is not None:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        if not flags:
            return False
        document = ET.tostring(live if live is not None else persistent, encoding="unicode")

        def edit(root: ET.Element) -> None:
            found = _find_disk(root, target)
            if found is not None:
                root.find("devices").remove(found)

        _device_change(conn, domain, lambda _all: domain.detachDeviceFlags(document, flags), edit)
        return active

    if not _with_connection(uri, action):
        return
    deadline = time.monotonic() + DETACH_TIMEOUT_S
    while _with_connection(uri, lambda conn: _find_disk(_parse(_lookup(conn, name).XMLDesc(0)), target) is not None):
        if time.monotonic() > deadline:
            raise HypervisorError(f"the guest of {name!r} on {uri} did not release disk {target!r} "
                                  f"within {DETACH_TIMEOUT_S:.0f}s")
        time.sleep(0.2)


def set_iotune(uri: str, name: str, target: str, iotune: IoTune) -> None:
    """Apply the disk's I/O limits live and in the definition; a limit left None is removed (0 = unlimited)."""
    _check_nonempty(target, "disk target")
    limits = iotune.limits()
    params = {key: limits.get(key, 0)
              for key in ("read_bytes_sec", "write_bytes_sec", "read_iops_sec", "write_iops_sec")}

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        if _find_disk(_parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)), target) is None:
            raise DeviceNotFound(f"domain {name!r} on {uri} has no disk {target!r}")
        if _is_test_driver(conn):
            # libvirt 9.0's test driver refuses every limit ("cannot be set higher than ..._max" against an
            # unset max of 0), so the simulator gets the limits through its definition instead.
            _edit_definition(conn, domain, lambda root: _replace_iotune(_find_disk(root, target), limits))
            return
        # Two calls, not one with both flags: the test driver refuses LIVE|CONFIG together here.
        if domain.isActive():
            domain.setBlockIoTune(target, params, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        domain.setBlockIoTune(target, params, libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    _with_connection(uri, action)


def _replace_iotune(disk: ET.Element, limits: dict[str, int]) -> None:
    old = disk.find("iotune")
    if old is not None:
        disk.remove(old)
    if limits:
        iotune = ET.SubElement(disk, "iotune")
        for key, value in limits.items():
            ET.SubElement(iotune, key).text = str(value)


# ------------------------------------------------------------------------------------- CPU, memory


def set_vcpus(uri: str, name: str, count: int) -> None:
    """Set the number of active vCPUs (live when running, and in the definition), up to the domain's maximum.

    Growing a running guest hot-plugs vCPUs; shrinking needs the guest to release them, which a guest may refuse.
    """
    _check_positive_int(count, "vcpus")

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        domain.setVcpusFlags(count, _flags(domain))

    _with_connection(uri, action)


def set_memory(uri: str, name: str, mib: int) -> None:
    """Set the memory the guest gets (live through the balloon when running, and in the definition).

    Only up to the domain's ``<memory>`` maximum (DomainSpec.max_memory_mib); libvirt refuses more. A live
    change is a balloon request: the guest's balloon driver carries it out, shortly after this returns.
    """
    _check_positive_int(mib, "memory_mib")
    kib = mib * 1024

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        # Two calls: the test driver refuses LIVE|CONFIG together for memory.
        if domain.isActive():
            domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        domain.setMemoryFlags(kib, libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    _with_connection(uri, action)


# ----------------------------------------------------------------------------------------- upload


def upload_volume(uri: str, pool: str, name: str, data: bytes) -> str:
    """Create (or replace) raw volume ``name`` holding exactly ``data``, streamed through libvirt; its path.

    Streaming through the libvirt connection works for remote hosts without any file-copy channel (config
    drives are built by the portal's worker, not on the host). An existing volume is replaced, so a rebuilt
    config drive never keeps bytes of the previous one past its end.
    """
    _check_text(name, "volume name")
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValueError("upload_volume needs non-empty bytes")
    volume_xml = build_volume_xml(name, len(data), "raw")

    def action(conn: libvirt.virConnect) -> str:
        storage_pool = _pool(conn, pool)
        try:
            storage_pool.storageVolLookupByName(name).delete(0)
        except libvirt.libvirtError as exc:
            if _error_code(exc) != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
        volume = storage_pool.createXML(volume_xml, 0)
        stream = conn.newStream(0)
        try:
            volume.upload(stream, 0, len(data), 0)
        except libvirt.libvirtError as exc:
            if _error_code(exc) == libvirt.VIR_ERR_NO_SUPPORT and _is_test_driver(conn):
                return volume.path()  # the test driver's volumes hold no data (module docstring)
            raise
        try:
            view = memoryview(bytes(data))
            for offset in range(0, len(view), UPLOAD_CHUNK):
                chunk = view[offset:offset + UPLOAD_CHUNK]
                sent = 0
                while sent < len(chunk):
                    result = stream.send(chunk[sent:].tobytes())
                    if result < 0:
                        raise HypervisorError(f"upload of {name!r} to {uri} failed mid-stream")
                    sent += result
            stream.finish()
        except (libvirt.libvirtError, HypervisorError):
            try:
                stream.abort()
            except libvirt.libvirtError as abort_exc:
                logger.debug("aborting the upload stream failed: %s", abort_exc)
            raise
        return volume.path()

    return _with_connection(uri, action)


__all__ = [
    "attach_disk",
    "change_media",
    "detach_disk",
    "set_iotune",
    "set_memory",
    "set_vcpus",
    "upload_volume",
]
