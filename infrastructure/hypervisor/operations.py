"""Hypervisor operations, each a small idempotent unit addressed by libvirt URI.

Every function takes the URI first and returns plain Python data: libvirt objects hold a
reference to their connection and must not outlive the call, travel through Celery, or tempt
callers into importing libvirt.

Each function is written so that running it twice has the same effect as running it once
(start of a running domain is a no-op, deleting a missing volume is fine, ...). That is what makes
the single automatic retry after a lost connection safe: the first attempt may have reached the
host before the connection died.
"""

from __future__ import annotations

import enum
import logging
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import libvirt

from .connection import discard_connection, get_connection
from .errors import (
    ConnectionFailed,
    DomainNotFound,
    HypervisorError,
    PoolNotFound,
    is_connection_failure,
    libvirt_message,
    translate,
)
from .xml import DomainSpec, build_dir_pool_xml, build_domain_xml, build_volume_xml

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class HostFacts:
    """What the portal records about a host when it is added, read from libvirt, not typed in."""

    hostname: str
    cpu_model: str
    cpu_sockets: int
    cpu_cores: int  # total logical CPUs
    cpu_mhz: int
    memory_bytes: int
    hypervisor_type: str
    hypervisor_version: str
    libvirt_version: str
    domain_types: tuple[str, ...]


class DomainState(enum.StrEnum):
    """libvirt's domain states as strings, so they can be stored and compared without libvirt."""

    RUNNING = "running"
    SHUTOFF = "shutoff"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"  # shutting down
    CRASHED = "crashed"
    PMSUSPENDED = "pmsuspended"
    BLOCKED = "blocked"
    NOSTATE = "nostate"
    MISSING = "missing"  # not defined on the host


_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: DomainState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: DomainState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: DomainState.BLOCKED,
    libvirt.VIR_DOMAIN_PAUSED: DomainState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: DomainState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: DomainState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: DomainState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: DomainState.PMSUSPENDED,
}

# Leave nothing behind that could make a later domain of the same name inherit old state.
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
)
# What drivers without NVRAM/checkpoint support (libvirt's test driver) accept.
_UNDEFINE_FLAGS_BASIC = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA


def _with_connection(uri: str, action: Callable[[libvirt.virConnect], T]) -> T:
    """Run ``action`` on the pooled connection, retrying once on a fresh one if it was lost.

    A pooled connection can die between being handed out and being used (daemon restart, host
    reboot, network blip); one retry on a new connection hides that from the caller, while a
    second failure means the host really is unreachable and becomes ConnectionFailed.
    """
    for attempt in (1, 2):
        conn = get_connection(uri)
        try:
            return action(conn)
        except HypervisorError as err:
            _drop_frame_locals(err)
            raise
        except libvirt.libvirtError as exc:
            _drop_frame_locals(exc)
            if not is_connection_failure(exc):
                raise translate(exc) from exc
            discard_connection(uri, conn)
            if attempt == 2:
                raise ConnectionFailed(
                    f"connection to {uri} failed again after reconnecting: {libvirt_message(exc)}",
                    exc.get_error_code(),
                ) from exc
            logger.warning("connection to %s failed (%s); reconnecting and retrying once", uri, libvirt_message(exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _drop_frame_locals(exc: BaseException) -> None:
    """Clear the locals of the finished frames an escaping exception's traceback refers to.

    Those frames hold libvirt domain and pool objects, and each of those keeps its connection
    open in C even after close_all(). An exception kept by a caller (stored on a task result,
    caught into a reference cycle) would otherwise pin a remote socket, or keep the test
    driver's state alive, until the garbage collector happens to run.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


def _parse(document: str) -> ET.Element:
    # Only ever called on XML produced by libvirt itself, not on user input.
    return ET.fromstring(document)  # noqa: S314


def _error_code(exc: libvirt.libvirtError) -> int | None:
    return exc.get_error_code()


def _lookup(conn: libvirt.virConnect, name: str) -> libvirt.virDomain:
    # Some drivers say only "Domain not found"; the name is what the caller needs in the log.
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if _error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
            message = f"domain {name!r} not found: {libvirt_message(exc)}"
            raise DomainNotFound(message, exc.get_error_code()) from exc
        raise


def _pool(conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
    try:
        return conn.storagePoolLookupByName(name)
    except libvirt.libvirtError as exc:
        if _error_code(exc) == libvirt.VIR_ERR_NO_STORAGE_POOL:
            message = f"storage pool {name!r} not found: {libvirt_message(exc)}"
            raise PoolNotFound(message, exc.get_error_code()) from exc
        raise


def _lookup_or_none(conn: libvirt.virConnect, name: str) -> libvirt.virDomain | None:
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if _error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def _format_version(version: int) -> str:
    major, rest = divmod(version, 1_000_000)
    minor, release = divmod(rest, 1_000)
    return f"{major}.{minor}.{release}"


# --------------------------------------------------------------------------------------- host


def host_facts(uri: str) -> HostFacts:
    """Describe the host, so the portal can register it and size placements without shell access."""

    def action(conn: libvirt.virConnect) -> HostFacts:
        model, memory_mib, cpus, mhz, nodes, sockets_per_node, _cores, _threads = conn.getInfo()
        caps = _parse(conn.getCapabilities())
        # getInfo()'s model is the architecture; the capabilities name the actual CPU model.
        cpu_model = caps.findtext("host/cpu/model") or model
        # getInfo() reports sockets per NUMA node, which over-counts on hosts where the nodes
        # share sockets; the capabilities topology lists each CPU's physical socket.
        socket_ids = {cpu.get("socket_id") for cpu in caps.iterfind("host/topology/cells/cell/cpus/cpu")}
        socket_ids.discard(None)
        domain_types: list[str] = []
        for domain in caps.iterfind("guest/arch/domain"):
            kind = domain.get("type")
            if kind and kind not in domain_types:
                domain_types.append(kind)
        return HostFacts(
            hostname=conn.getHostname(),
            cpu_model=cpu_model,
            cpu_sockets=len(socket_ids) or nodes * sockets_per_node,
            cpu_cores=cpus,
            cpu_mhz=mhz,
            memory_bytes=memory_mib * 1024 * 1024,
            hypervisor_type=conn.getType(),
            hypervisor_version=_format_version(conn.getVersion()),
            libvirt_version=_format_version(conn.getLibVersion()),
            domain_types=tuple(domain_types),
        )

    return _with_connection(uri, action)


def ping(uri: str) -> bool:
    """True when the host answers; a health check must not raise for an unreachable host.

    ConnectionsNotAllowed still propagates: pinging from the web process is a bug, not an outage.
    """
    try:
        _with_connection(uri, lambda conn: conn.getLibVersion())
    except ConnectionFailed as exc:
        logger.info("ping %s failed: %s", uri, exc.message)
        return False
    return True


# ------------------------------------------------------------------------------------ storage


def ensure_dir_pool(uri: str, name: str, path: str) -> None:
    """Make sure a persistent, running, autostarted directory pool exists; safe to call on every boot."""
    pool_xml = build_dir_pool_xml(name, path)

    def action(conn: libvirt.virConnect) -> None:
        try:
            pool = conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as exc:
            if _error_code(exc) != libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise
            pool = conn.storagePoolDefineXML(pool_xml, 0)
            logger.info("defined storage pool %s at %s on %s", name, path, uri)
        existing_path = _parse(pool.XMLDesc(0)).findtext("target/path")
        if existing_path != path:
            # Silently using a pool that stores images elsewhere would scatter disks across
            # directories the operator does not expect; this needs a human.
            raise HypervisorError(f"storage pool {name!r} on {uri} uses {existing_path!r}, expected {path!r}")
        if not pool.isActive():
            pool.build(0)  # creates the directory if it is missing
            pool.create(0)
        if not pool.autostart():
            pool.setAutostart(1)

    _with_connection(uri, action)


def pool_refresh(uri: str, name: str) -> None:
    """Rescan the pool so volumes created outside libvirt (image imports) become visible."""
    _with_connection(uri, lambda conn: _pool(conn, name).refresh(0))


def create_volume(
    uri: str,
    pool: str,
    name: str,
    capacity_bytes: int,
    *,
    fmt: str = "qcow2",
    backing_path: str | None = None,
    backing_format: str = "qcow2",
) -> str:
    """Create a volume and return its path; an existing volume of that name is returned as is.

    Returning the existing volume (rather than failing) lets a retried provisioning task pick
    up where it left off. Its size and backing file are not compared.
    """
    volume_xml = build_volume_xml(name, capacity_bytes, fmt, backing_path, backing_format)

    def action(conn: libvirt.virConnect) -> str:
        storage_pool = _pool(conn, pool)
        try:
            return storage_pool.storageVolLookupByName(name).path()
        except libvirt.libvirtError as exc:
            if _error_code(exc) != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
        try:
            return storage_pool.createXML(volume_xml, 0).path()
        except libvirt.libvirtError as exc:
            if is_connection_failure(exc):
                raise
            # The file may exist on disk without libvirt knowing (created by another tool or
            # since the last refresh), or a concurrent call created it: rescan and use it.
            storage_pool.refresh(0)
            try:
                return storage_pool.storageVolLookupByName(name).path()
            except libvirt.libvirtError:
                raise exc from None

    return _with_connection(uri, action)


def delete_volume(uri: str, pool: str, name: str) -> None:
    """Delete a volume; a volume that is already gone is what the caller wanted anyway."""

    def action(conn: libvirt.virConnect) -> None:
        storage_pool = _pool(conn, pool)
        try:
            volume = storage_pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if _error_code(exc) == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return
            raise
        volume.delete(0)

    _with_connection(uri, action)


# ------------------------------------------------------------------------------------ domains


def define_domain(uri: str, spec: DomainSpec) -> None:
    """Define (or update) a persistent domain; changes to a running one apply at its next boot."""
    domain_xml_text = build_domain_xml(spec)

    def action(conn: libvirt.virConnect) -> None:
        conn.defineXML(domain_xml_text)

    _with_connection(uri, action)


def start_domain(uri: str, name: str) -> None:
    """Boot a defined domain. An active (running or paused) domain is left as it is."""

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup(conn, name)
        if domain.isActive():
            return
        try:
            domain.create()
        except libvirt.libvirtError as exc:
            # Lost a race with another start: drivers word "already running" differently,
            # so ask for the state instead of matching the message.
            if is_connection_failure(exc) or not domain.isActive():
                raise

    _with_connection(uri, action)


_OFF = "off"
_SENT = "sent"
_REFUSED = "refused"


def shutdown_domain(uri: str, name: str, *, timeout: float = 60.0, poll: float = 0.5) -> bool:
    """Ask the guest to power off via ACPI, and pull the plug if it has not after ``timeout``.

    Returns True when the domain had to be destroyed, so callers can warn that the guest may
    not have flushed its disks. The wait polls through separate short calls, so a connection
    blip during a long wait costs one poll rather than the whole shutdown.
    """

    def request(conn: libvirt.virConnect) -> str:
        domain = _lookup(conn, name)
        if not domain.isActive():
            return _OFF
        try:
            domain.shutdown()
        except libvirt.libvirtError as exc:
            if is_connection_failure(exc):
                raise
            if not domain.isActive():
                return _OFF
            logger.warning("graceful shutdown of %s on %s refused (%s)", name, uri, libvirt_message(exc))
            return _REFUSED
        return _SENT

    outcome = _with_connection(uri, request)
    if outcome == _OFF:
        return False
    if outcome == _SENT:
        deadline = time.monotonic() + timeout
        while True:
            if not _with_connection(uri, lambda conn: _is_active(conn, name)):
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(poll, remaining))
        logger.warning("%s on %s ignored ACPI shutdown for %ss; destroying it", name, uri, timeout)
    return _with_connection(uri, lambda conn: _destroy(conn, name))


def _is_active(conn: libvirt.virConnect, name: str) -> bool:
    domain = _lookup_or_none(conn, name)
    return domain is not None and bool(domain.isActive())


def _destroy(conn: libvirt.virConnect, name: str) -> bool:
    """Hard power-off; True if this call actually stopped a running domain."""
    domain = _lookup_or_none(conn, name)
    if domain is None or not domain.isActive():
        return False
    try:
        domain.destroy()
    except libvirt.libvirtError as exc:
        # The guest may have finished shutting down between the check and the destroy.
        if is_connection_failure(exc) or domain.isActive():
            raise
        return False
    return True


def reboot_domain(uri: str, name: str) -> None:
    """Ask the guest to reboot (ACPI); the guest decides when, as with a reset button press."""

    def action(conn: libvirt.virConnect) -> None:
        _lookup(conn, name).reboot(0)

    _with_connection(uri, action)


def destroy_domain(uri: str, name: str) -> None:
    """Hard power-off; a domain that is already off or missing is already in the wanted state."""
    _with_connection(uri, lambda conn: _destroy(conn, name))


def undefine_domain(uri: str, name: str) -> None:
    """Remove the definition with its managed save, snapshot/checkpoint metadata and NVRAM.

    A running domain is refused rather than undefined: libvirt would turn it into a transient
    domain that keeps running, invisible to the portal, until the next host reboot.
    """

    def action(conn: libvirt.virConnect) -> None:
        domain = _lookup_or_none(conn, name)
        if domain is None:
            return
        if domain.isActive():
            raise HypervisorError(f"domain {name!r} on {uri} is running; destroy it before undefining it")
        try:
            domain.undefineFlags(_UNDEFINE_FLAGS)
        except libvirt.libvirtError as exc:
            if _error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if _error_code(exc) != libvirt.VIR_ERR_INVALID_ARG:
                raise
            # Drivers without NVRAM/checkpoints reject those flags ("unsupported flags");
            # such a driver has nothing of that kind to leave behind.
            domain.undefineFlags(_UNDEFINE_FLAGS_BASIC)

    _with_connection(uri, action)


def domain_state(uri: str, name: str) -> DomainState:
    """Current state; MISSING instead of an error so reconcilers can compare without try/except."""

    def action(conn: libvirt.virConnect) -> DomainState:
        domain = _lookup_or_none(conn, name)
        if domain is None:
            return DomainState.MISSING
        try:
            state, _reason = domain.state(0)
        except libvirt.libvirtError as exc:
            if _error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:  # undefined since the lookup
                return DomainState.MISSING
            raise
        return _STATES.get(state, DomainState.NOSTATE)

    return _with_connection(uri, action)


def list_domains(uri: str) -> dict[str, DomainState]:
    """Every domain on the host, defined or only running, so reconcilers can find strays."""

    def action(conn: libvirt.virConnect) -> dict[str, DomainState]:
        result: dict[str, DomainState] = {}
        for domain in conn.listAllDomains(0):
            try:
                state, _reason = domain.state(0)
                result[domain.name()] = _STATES.get(state, DomainState.NOSTATE)
            except libvirt.libvirtError as exc:
                if _error_code(exc) != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                # Removed between listing and asking: it is not on the host any more.
        return result

    return _with_connection(uri, action)


def domain_stats(uri: str, name: str) -> dict[str, Any]:
    """Counters for metering and graphs, as plain ints.

    Keys: ``cpu_time_ns``, ``vcpus``, ``memory_max_kib``, ``memory_current_kib``,
    ``memory_rss_kib`` (None when the hypervisor does not report it, e.g. while off),
    ``disks`` ({target: {rd_bytes, wr_bytes, rd_reqs, wr_reqs}}) and
    ``interfaces`` ({device: {rx_bytes, tx_bytes, rx_packets, tx_packets}}); the last two are
    empty while the domain is off. Counters are cumulative since the domain was started.
    """

    def action(conn: libvirt.virConnect) -> dict[str, Any]:
        domain = _lookup(conn, name)
        _state, max_kib, current_kib, vcpus, cpu_time_ns = domain.info()
        stats: dict[str, Any] = {
            "cpu_time_ns": int(cpu_time_ns),
            "vcpus": int(vcpus),
            "memory_max_kib": int(max_kib),
            "memory_current_kib": int(current_kib),
            "memory_rss_kib": None,
            "disks": {},
            "interfaces": {},
        }
        if not domain.isActive():
            return stats
        try:
            stats["memory_rss_kib"] = _memory_rss_kib(domain)
            devices = _parse(domain.XMLDesc(0)).find("devices")
            if devices is not None:
                stats["disks"] = _disk_counters(domain, devices)
                stats["interfaces"] = _interface_counters(domain, devices)
        except libvirt.libvirtError as exc:
            # Stopped while we were reading: return what was gathered rather than failing a
            # metrics poll over an ordinary race.
            if is_connection_failure(exc) or domain.isActive():
                raise
        return stats

    return _with_connection(uri, action)


def _memory_rss_kib(domain: libvirt.virDomain) -> int | None:
    try:
        memory = domain.memoryStats()
    except libvirt.libvirtError as exc:
        if _error_code(exc) == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        raise
    return int(memory["rss"]) if "rss" in memory else None


def _disk_counters(domain: libvirt.virDomain, devices: ET.Element) -> dict[str, dict[str, int]]:
    counters: dict[str, dict[str, int]] = {}
    for target in devices.iterfind("disk/target"):
        dev = target.get("dev")
        if dev:
            rd_reqs, rd_bytes, wr_reqs, wr_bytes, _errors = domain.blockStats(dev)
            counters[dev] = {
                "rd_bytes": int(rd_bytes),
                "wr_bytes": int(wr_bytes),
                "rd_reqs": int(rd_reqs),
                "wr_reqs": int(wr_reqs),
            }
    return counters


def _interface_counters(domain: libvirt.virDomain, devices: ET.Element) -> dict[str, dict[str, int]]:
    counters: dict[str, dict[str, int]] = {}
    for target in devices.iterfind("interface/target"):
        dev = target.get("dev")
        if dev:
            rx_bytes, rx_packets, _rx_errs, _rx_drop, tx_bytes, tx_packets, _tx_errs, _tx_drop = domain.interfaceStats(
                dev
            )
            counters[dev] = {
                "rx_bytes": int(rx_bytes),
                "tx_bytes": int(tx_bytes),
                "rx_packets": int(rx_packets),
                "tx_packets": int(tx_packets),
            }
    return counters


@dataclass(frozen=True)
class VncEndpoint:
    """A running domain's VNC server as the console proxy needs it: the port and the password it asks for."""

    port: int
    password: str | None = field(repr=False, default=None)


def vnc_endpoint(uri: str, name: str) -> VncEndpoint | None:
    """The running domain's VNC port and password, or None if it has no VNC server right now.

    Read from the live XML: with autoport the port is only chosen at start and changes on every boot or
    migration, and a revert to a memory snapshot brings back the password the domain had then. So the
    agent asks after each of those instead of remembering what it defined.
    """

    def action(conn: libvirt.virConnect) -> VncEndpoint | None:
        domain = _lookup(conn, name)
        if not domain.isActive():
            return None
        for graphics in _parse(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)).iterfind("devices/graphics"):
            if graphics.get("type") == "vnc":
                port = graphics.get("port")
                if port is not None and port.lstrip("-").isdigit() and int(port) > 0:
                    return VncEndpoint(port=int(port), password=graphics.get("passwd"))
        return None

    return _with_connection(uri, action)


def vnc_port(uri: str, name: str) -> int | None:
    """The VNC port the console proxy should connect to, or None if there is none right now."""
    endpoint = vnc_endpoint(uri, name)
    return endpoint.port if endpoint is not None else None


def domain_xml(uri: str, name: str) -> str:
    """Live XML (inactive XML when off), without secrets such as the VNC password."""
    return _with_connection(uri, lambda conn: _lookup(conn, name).XMLDesc(0))
