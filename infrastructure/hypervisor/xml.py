"""libvirt XML documents built from plain dataclasses.

Instance names, image paths and metadata come from users. Building the documents with
ElementTree (never by formatting strings) means a name such as ``x'/><disk ...`` stays a
name instead of becoming a device. ElementTree escapes markup but does not reject characters
that XML 1.0 forbids, nor check element names, so those are validated here.

The domain shape names no emulator binary and no PCI addresses: libvirt fills those in from
the host's capabilities, so one definition works on any host of the same domain type. The same
shape is accepted by libvirt's test driver (``domain_type="test"``), which is what lets the unit
tests define and start exactly the XML production uses.
"""

from __future__ import annotations

import re
import uuid as uuid_module
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

METADATA_NAMESPACE = "https://cirrostack.org/xmlns/domain/1"
METADATA_PREFIX = "cirrostack"

DOMAIN_TYPES = frozenset({"qemu", "kvm", "test"})
DISK_DEVICES = frozenset({"disk", "cdrom"})

# Characters XML 1.0 cannot carry at all (even escaped); ElementTree would emit them verbatim
# and libvirt would reject, or worse misparse, the document.
_XML_FORBIDDEN = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Metadata keys become element names, which ElementTree does not validate.
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _check_text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if _XML_FORBIDDEN.search(value):
        raise ValueError(f"{what} contains characters that cannot appear in XML: {value!r}")
    return value


def _check_nonempty(value: str, what: str) -> str:
    _check_text(value, what)
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


def _check_positive_int(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class IoTune:
    """A disk's I/O ceilings (libvirt ``<iotune>``), from a disk offering; None means unlimited.

    Only the read/write split is offered: CloudStack's disk offerings state read and write rates
    separately, and libvirt refuses a total together with a read or write limit anyway.
    """

    read_iops_sec: int | None = None
    write_iops_sec: int | None = None
    read_bytes_sec: int | None = None
    write_bytes_sec: int | None = None

    def __post_init__(self) -> None:
        for key, value in self.limits().items():
            _check_positive_int(value, f"iotune {key}")

    def limits(self) -> dict[str, int]:
        """The limits that are set, by libvirt's names (what ``<iotune>`` and setBlockIoTune take)."""
        values = {
            "read_bytes_sec": self.read_bytes_sec,
            "write_bytes_sec": self.write_bytes_sec,
            "read_iops_sec": self.read_iops_sec,
            "write_iops_sec": self.write_iops_sec,
        }
        return {key: value for key, value in values.items() if value is not None}


# A CD-ROM on virtio-blk does not exist, and the guest kernel has no AHCI driver (SATA CDs are invisible to it),
# so CD drives default to IDE; the caller picks the target (hdc: the ISO drive, hdd: the config drive).
DEFAULT_BUS = {"disk": "virtio", "cdrom": "ide"}


@dataclass(frozen=True)
class DiskSpec:
    """One file-backed disk; the caller decides paths and targets so they match its volume records.

    A CD-ROM may have an empty ``path``: an empty drive, which media can be inserted into later without
    hot-plugging a device (IDE cannot hot-plug). ``bus`` defaults to virtio for disks and ide for CD-ROMs.
    """

    path: str
    format: str = "qcow2"
    target: str = "vda"
    bus: str = ""  # "" = DEFAULT_BUS for the device
    device: str = "disk"  # or "cdrom"
    readonly: bool = False
    iotune: IoTune | None = None

    def __post_init__(self) -> None:
        if self.device not in DISK_DEVICES:
            raise ValueError(f"disk device must be one of {sorted(DISK_DEVICES)}, got {self.device!r}")
        if self.device == "cdrom":
            _check_text(self.path, "disk path")
        else:
            _check_nonempty(self.path, "disk path")
        _check_nonempty(self.format, "disk format")
        _check_nonempty(self.target, "disk target")
        _check_text(self.bus, "disk bus")
        if not self.bus:
            object.__setattr__(self, "bus", DEFAULT_BUS[self.device])
        if self.device == "cdrom" and self.bus == "virtio":
            raise ValueError("a CD-ROM cannot be on the virtio bus; use ide (or scsi/sata)")
        if self.iotune is not None and not isinstance(self.iotune, IoTune):
            raise TypeError("iotune must be an IoTune")

    @property
    def is_empty(self) -> bool:
        return not self.path


@dataclass(frozen=True)
class DomainSpec:
    """Everything the portal decides about a VM, as plain data that a Celery task can carry.

    The XML is derived from it on the worker, so the definition always matches the current
    builder instead of whatever XML was stored when the instance was created.
    """

    name: str
    uuid: str
    domain_type: str  # "qemu" | "kvm" | "test"
    vcpus: int
    memory_mib: int
    disks: tuple[DiskSpec, ...] = ()
    machine: str = "pc"
    arch: str = "x86_64"
    serial_log_path: str | None = None
    vnc_listen: str | None = "127.0.0.1"  # None = no graphics
    vnc_password: str | None = None
    cpu_shares: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # Live scaling: the domain is sized for these maximums at boot and runs with vcpus/memory_mib of them.
    max_vcpus: int | None = None
    max_memory_mib: int | None = None
    # CPU cap: at most quota µs of CPU time per vCPU in every period (CFS bandwidth).
    cpu_quota_us: int | None = None
    cpu_period_us: int | None = None
    boot_cdrom: bool = False  # boot from the CD first (deploy from an ISO), else only from the disk

    def __post_init__(self) -> None:
        # Validate at construction so a bad spec fails in the code that built it, not later
        # inside a Celery task on another machine.
        _check_nonempty(self.name, "domain name")
        try:
            uuid_module.UUID(self.uuid)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"domain uuid is not a UUID: {self.uuid!r}") from exc
        if self.domain_type not in DOMAIN_TYPES:
            raise ValueError(f"domain_type must be one of {sorted(DOMAIN_TYPES)}, got {self.domain_type!r}")
        _check_positive_int(self.vcpus, "vcpus")
        _check_positive_int(self.memory_mib, "memory_mib")
        if self.cpu_shares is not None:
            _check_positive_int(self.cpu_shares, "cpu_shares")
        if self.max_vcpus is not None and _check_positive_int(self.max_vcpus, "max_vcpus") < self.vcpus:
            raise ValueError(f"max_vcpus ({self.max_vcpus}) is below vcpus ({self.vcpus})")
        if self.max_memory_mib is not None and _check_positive_int(self.max_memory_mib, "max_memory_mib") < (
                self.memory_mib):
            raise ValueError(f"max_memory_mib ({self.max_memory_mib}) is below memory_mib ({self.memory_mib})")
        # libvirt's (and the kernel's) bounds; checked here so a bad cap fails where it was computed.
        if self.cpu_period_us is not None and not (
                _check_positive_int(self.cpu_period_us, "cpu_period_us") and 1_000 <= self.cpu_period_us <= 1_000_000):
            raise ValueError(f"cpu_period_us must be within 1000..1000000, got {self.cpu_period_us}")
        if self.cpu_quota_us is not None and _check_positive_int(self.cpu_quota_us, "cpu_quota_us") < 1_000:
            raise ValueError(f"cpu_quota_us must be at least 1000, got {self.cpu_quota_us}")
        if not isinstance(self.boot_cdrom, bool):
            raise TypeError("boot_cdrom must be a bool")
        _check_nonempty(self.machine, "machine")
        _check_nonempty(self.arch, "arch")
        for value, what in (
            (self.serial_log_path, "serial_log_path"),
            (self.vnc_listen, "vnc_listen"),
            (self.vnc_password, "vnc_password"),
        ):
            if value is not None:
                _check_nonempty(value, what)
        disks = tuple(self.disks)
        if not all(isinstance(disk, DiskSpec) for disk in disks):
            raise TypeError("disks must be DiskSpec instances")
        targets = [disk.target for disk in disks]
        if len(set(targets)) != len(targets):
            raise ValueError(f"disk targets must be unique, got {targets}")
        object.__setattr__(self, "disks", disks)
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not _NCNAME.fullmatch(key):
                raise ValueError(f"metadata key {key!r} is not a valid XML element name")
            _check_text(value, f"metadata value for {key!r}")

    @property
    def has_cdrom(self) -> bool:
        return any(disk.device == "cdrom" for disk in self.disks)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: _check_text(value, tag) for key, value in attrib.items()})
    if text is not None:
        element.text = _check_text(text, tag)
    return element


def _serialize(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def build_domain_xml(spec: DomainSpec) -> str:
    """Persistent domain definition for ``virConnect.defineXML``."""
    root = ET.Element("domain", type=spec.domain_type)
    _sub(root, "name", spec.name)
    _sub(root, "uuid", str(uuid_module.UUID(spec.uuid)))
    if spec.metadata:
        metadata = _sub(root, "metadata")
        # The namespace is declared on the element itself, not on <domain>: libvirt copies the
        # metadata subtree on its own and keeps only declarations found inside it.
        instance = ET.SubElement(
            metadata, f"{METADATA_PREFIX}:instance", {f"xmlns:{METADATA_PREFIX}": METADATA_NAMESPACE}
        )
        for key, value in spec.metadata.items():
            _sub(instance, f"{METADATA_PREFIX}:{key}", value)
    # <memory> is what the guest may ever have (it sizes itself for it at boot); <currentMemory> what it gets.
    _sub(root, "memory", str(spec.max_memory_mib or spec.memory_mib), unit="MiB")
    _sub(root, "currentMemory", str(spec.memory_mib), unit="MiB")
    if spec.max_vcpus is not None:
        _sub(root, "vcpu", str(spec.max_vcpus), placement="static", current=str(spec.vcpus))
    else:
        _sub(root, "vcpu", str(spec.vcpus), placement="static")
    if spec.cpu_shares is not None or spec.cpu_quota_us is not None or spec.cpu_period_us is not None:
        cputune = _sub(root, "cputune")
        if spec.cpu_shares is not None:
            _sub(cputune, "shares", str(spec.cpu_shares))
        if spec.cpu_period_us is not None:
            _sub(cputune, "period", str(spec.cpu_period_us))
        if spec.cpu_quota_us is not None:
            _sub(cputune, "quota", str(spec.cpu_quota_us))

    os_element = _sub(root, "os")
    _sub(os_element, "type", "hvm", arch=spec.arch, machine=spec.machine)
    if spec.boot_cdrom:
        # Installing from an ISO: the empty disk must not win, and once the OS is on the disk
        # the firmware falls through to it as soon as the CD is ejected. Only on request: a
        # config drive is a CD too, and the firmware must not try to boot it.
        _sub(os_element, "boot", dev="cdrom")
    _sub(os_element, "boot", dev="hd")

    features = _sub(root, "features")
    _sub(features, "acpi")  # without it the guest never sees the ACPI power button
    _sub(features, "apic")
    _sub(root, "clock", offset="utc")
    _sub(root, "on_poweroff", "destroy")
    _sub(root, "on_reboot", "restart")
    _sub(root, "on_crash", "destroy")

    devices = _sub(root, "devices")
    for disk in spec.disks:
        _add_disk(devices, disk)
    if spec.serial_log_path is not None:
        # A pty serial console whose output libvirt's log daemon also appends to a file, so
        # the boot log survives restarts and can be shown without attaching to the console.
        serial = _sub(devices, "serial", type="pty")
        _sub(serial, "log", file=spec.serial_log_path, append="on")
        _sub(serial, "target", port="0")
        console = _sub(devices, "console", type="pty")
        _sub(console, "target", type="serial", port="0")
    if spec.vnc_listen is not None:
        attrib = {"port": "-1", "autoport": "yes", "listen": spec.vnc_listen}
        if spec.vnc_password is not None:
            attrib["passwd"] = spec.vnc_password
        graphics = _sub(devices, "graphics", type="vnc", **attrib)
        _sub(graphics, "listen", type="address", address=spec.vnc_listen)
    video = _sub(devices, "video")
    _sub(video, "model", type="vga")
    if spec.max_memory_mib is not None:
        # A balloon only when the VM may be scaled: growing memory live means deflating the balloon
        # from <memory> down to the new size, which needs the device (and the guest's driver).
        _sub(devices, "memballoon", model="virtio")
    else:
        # No balloon otherwise: the memory never changes at run time, so the device would only add a
        # guest-driver dependency and let the guest's visible memory drift from the offering.
        _sub(devices, "memballoon", model="none")
    return _serialize(root)


def _add_disk(devices: ET.Element, disk: DiskSpec) -> ET.Element:
    element = _sub(devices, "disk", type="file", device=disk.device)
    _sub(element, "driver", name="qemu", type=disk.format)
    if not disk.is_empty:
        _sub(element, "source", file=disk.path)  # an empty CD drive has no <source>
    _sub(element, "target", dev=disk.target, bus=disk.bus)
    if disk.iotune is not None:
        iotune = _sub(element, "iotune")
        for key, value in disk.iotune.limits().items():
            _sub(iotune, key, str(value))
    if disk.readonly or disk.device == "cdrom":
        _sub(element, "readonly")
    return element


def build_disk_xml(disk: DiskSpec) -> str:
    """One ``<disk>`` device, as attachDevice/updateDevice take it (same shape as in the domain)."""
    holder = ET.Element("devices")
    return _serialize(_add_disk(holder, disk))


def build_dir_pool_xml(name: str, path: str) -> str:
    """Directory-backed storage pool: images are plain files under ``path``."""
    _check_nonempty(name, "pool name")
    _check_nonempty(path, "pool path")
    root = ET.Element("pool", type="dir")
    _sub(root, "name", name)
    target = _sub(root, "target")
    _sub(target, "path", path)
    return _serialize(root)


def build_volume_xml(
    name: str,
    capacity_bytes: int,
    fmt: str = "qcow2",
    backing_path: str | None = None,
    backing_format: str = "qcow2",
) -> str:
    """Volume for ``virStoragePool.createXML``; with ``backing_path`` a copy-on-write overlay.

    Allocation is 0 so images are sparse: a new root disk costs nothing until the guest writes.
    """
    _check_nonempty(name, "volume name")
    _check_positive_int(capacity_bytes, "capacity_bytes")
    _check_nonempty(fmt, "volume format")
    root = ET.Element("volume")
    _sub(root, "name", name)
    _sub(root, "capacity", str(capacity_bytes), unit="bytes")
    _sub(root, "allocation", "0", unit="bytes")
    target = _sub(root, "target")
    _sub(target, "format", type=fmt)
    if fmt == "qcow2":
        # libvirt still defaults to the 2012-era qcow2 v2 layout; v3 adds zero clusters and
        # lazy refcounts, and every QEMU since 1.1 reads it.
        _sub(target, "compat", "1.1")
    if backing_path is not None:
        _check_nonempty(backing_path, "backing path")
        _check_nonempty(backing_format, "backing format")
        backing = _sub(root, "backingStore")
        _sub(backing, "path", backing_path)
        _sub(backing, "format", type=backing_format)
    return _serialize(root)


POOL_TYPES = frozenset({"dir", "netfs", "rbd"})


@dataclass(frozen=True)
class PoolSpec:
    """A shared or local storage pool as the portal decides it; the hosts in its scope all define it alike.

    ``dir``: ``target_path`` is the directory. ``netfs``: libvirt mounts ``source_host:source_path`` (NFS) on
    ``target_path``. ``rbd``: ``source_name`` is the Ceph pool on monitor ``source_host``; with ``auth_user``
    the cephx key is read from the libvirt secret whose usage name is ``secret_usage``.
    """

    name: str
    pool_type: str
    target_path: str = ""
    source_host: str = ""
    source_path: str = ""
    source_name: str = ""
    source_port: int | None = None
    auth_user: str = ""
    secret_usage: str = ""

    def __post_init__(self) -> None:
        _check_nonempty(self.name, "pool name")
        if self.pool_type not in POOL_TYPES:
            raise ValueError(f"pool type must be one of {sorted(POOL_TYPES)}, got {self.pool_type!r}")
        if self.pool_type in ("dir", "netfs"):
            _check_nonempty(self.target_path, "pool target path")
        if self.pool_type == "netfs":
            _check_nonempty(self.source_host, "NFS server")
            _check_nonempty(self.source_path, "NFS export")
        if self.pool_type == "rbd":
            _check_nonempty(self.source_host, "Ceph monitor")
            _check_nonempty(self.source_name, "RBD pool name")
            if self.auth_user:
                _check_nonempty(self.secret_usage, "secret usage")
        if self.source_port is not None:
            _check_positive_int(self.source_port, "source port")
        for value, what in ((self.source_path, "source path"), (self.auth_user, "auth user"),
                            (self.secret_usage, "secret usage")):
            _check_text(value, what)


def build_pool_xml(spec: PoolSpec) -> str:
    """Persistent pool definition for ``virConnect.storagePoolDefineXML`` (dir, netfs or rbd)."""
    if spec.pool_type == "dir":
        return build_dir_pool_xml(spec.name, spec.target_path)
    root = ET.Element("pool", type=spec.pool_type)
    _sub(root, "name", spec.name)
    source = _sub(root, "source")
    host_attrib = {"name": spec.source_host}
    if spec.source_port is not None:
        host_attrib["port"] = str(spec.source_port)
    if spec.pool_type == "netfs":
        _sub(source, "host", **host_attrib)
        _sub(source, "dir", path=spec.source_path)
        _sub(source, "format", type="nfs")
        target = _sub(root, "target")
        _sub(target, "path", spec.target_path)
    else:
        _sub(source, "name", spec.source_name)
        _sub(source, "host", **host_attrib)
        if spec.auth_user:
            auth = _sub(source, "auth", type="ceph", username=spec.auth_user)
            _sub(auth, "secret", usage=spec.secret_usage)
    return _serialize(root)


def build_ceph_secret_xml(usage: str) -> str:
    """A persistent, private libvirt secret holding a cephx key, found by its usage name."""
    _check_nonempty(usage, "secret usage")
    root = ET.Element("secret", ephemeral="no", private="yes")
    usage_element = _sub(root, "usage", type="ceph")
    _sub(usage_element, "name", usage)
    return _serialize(root)


def with_vnc_listen(domain_xml: str, address: str) -> str | None:
    """The domain XML with its VNC server listening on ``address``, or None when it already does (or has no
    VNC): the definition a migration sends to a host whose console address differs."""
    root = ET.fromstring(domain_xml)  # noqa: S314 (libvirt's own output, not user input)
    changed = False
    for graphics in root.iterfind("devices/graphics[@type='vnc']"):
        if graphics.get("listen") not in (None, address):
            graphics.set("listen", address)
            changed = True
        for listen in graphics.iterfind("listen[@type='address']"):
            if listen.get("address") != address:
                listen.set("address", address)
                changed = True
    return ET.tostring(root, encoding="unicode") if changed else None
