"""Exceptions raised by the hypervisor driver.

Callers outside this package must never see ``libvirt.libvirtError``: that would force them to
import libvirt to catch it, which is exactly what the package boundary forbids. Every libvirt
failure is therefore translated here into one of these classes, keeping libvirt's numeric
error code and message so that logs and task results still say what the host reported.
"""

from __future__ import annotations

import libvirt


class HypervisorError(Exception):
    """Base class, so callers can catch every hypervisor failure with one ``except``."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # libvirt's VIR_ERR_* code when the failure came from libvirt; None for our own checks.
        self.code = code


class ConnectionFailed(HypervisorError):
    """The host could not be reached, or the connection was lost and one retry did not help.

    Distinct from other failures because the operation may simply be retried later (the
    Celery task can back off), whereas a refused operation will keep failing.
    """


class DomainNotFound(HypervisorError):
    """The named domain is not defined on the host (it may have been removed out of band)."""


class PoolNotFound(HypervisorError):
    """The named storage pool is not defined on the host."""


class VolumeNotFound(HypervisorError):
    """The named storage volume does not exist in the pool."""


class SnapshotNotFound(HypervisorError):
    """The named snapshot does not exist for that domain (deleted, or taken on another host)."""


class SnapshotUnsupported(HypervisorError):
    """The snapshot asked for cannot be taken in the domain's current state.

    QEMU cannot take an internal disk-only snapshot of a running domain (libvirt: "internal snapshot
    of a running VM must include the memory state"); the service layer refuses such a request, or
    takes it with memory, or stops the VM first. Raised on every driver, so the simulator behaves
    like production.
    """


class DeviceNotFound(HypervisorError):
    """The domain has no disk at the given target (e.g. ejecting from a drive that does not exist)."""


class MigrationFailed(HypervisorError):
    """A migration failed or timed out; the domain still runs (or stays defined) on the source."""


class ConnectionsNotAllowed(HypervisorError):
    """This process has not opted in to opening hypervisor connections.

    The web process must stay responsive and must not hold long-lived sockets to every host;
    only the Celery workers (and the tests) open connections. Raising instead of connecting
    turns an accidental call from a view into a loud bug rather than a slow page.
    """


# Phrases the libvirt client uses when the transport under a connection has gone away. They are
# only trusted on errors raised by the client-side transport (RPC/remote error domains), so a
# driver message that happens to quote a user-chosen name such as "closed" cannot match.
_TRANSPORT_PHRASES = (
    "socket is closed",
    "connection closed",
    "end of file while reading data",
    "cannot recv data",
    "cannot write data",
    "broken pipe",
    "connection reset",
)
_TRANSPORT_DOMAINS = frozenset({libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_NONE})


def libvirt_message(exc: libvirt.libvirtError) -> str:
    """libvirt's own message; the Python wrapper's str() is sometimes just 'virXxx() failed'."""
    return exc.get_error_message() or str(exc)


def is_connection_failure(exc: libvirt.libvirtError) -> bool:
    """Whether the error means the connection is unusable, as opposed to the host refusing.

    Only these errors justify dropping the pooled connection and retrying: retrying a refused
    operation would just repeat the refusal.
    """
    code = exc.get_error_code()
    domain = exc.get_error_domain()
    if domain == libvirt.VIR_FROM_RPC:
        return True
    if code == libvirt.VIR_ERR_INVALID_CONN:
        # The virConnect object was closed under us (e.g. close_all() from another thread).
        return True
    transport_code = code in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR)
    if transport_code and domain in _TRANSPORT_DOMAINS:
        message = libvirt_message(exc).lower()
        return any(phrase in message for phrase in _TRANSPORT_PHRASES)
    return False


_BY_CODE: dict[int, type[HypervisorError]] = {
    libvirt.VIR_ERR_NO_DOMAIN: DomainNotFound,
    libvirt.VIR_ERR_NO_STORAGE_POOL: PoolNotFound,
    libvirt.VIR_ERR_NO_STORAGE_VOL: VolumeNotFound,
    libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT: SnapshotNotFound,
    libvirt.VIR_ERR_MIGRATE_UNSAFE: MigrationFailed,
    libvirt.VIR_ERR_MIGRATE_PERSIST_FAILED: MigrationFailed,
    libvirt.VIR_ERR_MIGRATE_FINISH_OK: MigrationFailed,
}


def translate(exc: libvirt.libvirtError) -> HypervisorError:
    """Map a libvirt error onto the exception callers are expected to handle."""
    code = exc.get_error_code()
    message = libvirt_message(exc)
    if is_connection_failure(exc):
        return ConnectionFailed(message, code)
    return _BY_CODE.get(code, HypervisorError)(message, code)
