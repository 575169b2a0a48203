"""Process-wide pool of libvirt connections, one per URI.

Opening a libvirt connection costs a TCP/TLS handshake and an RPC round-trip, and libvirt
connections are thread-safe, so every thread of a worker shares one connection per host.

Dead connections must be noticed, or every task for that host fails until the worker restarts.
Two mechanisms do that:

* libvirt's default event loop runs in a daemon thread, which lets remote connections send
  keepalives and deliver the *close callback*; the callback drops the connection from the pool
  within milliseconds of the daemon going away.
* ``get_connection`` asks ``isAlive()`` before handing out a pooled connection. Without the
  event loop a remote connection whose daemon died still claims to be alive, which is why the
  operations module additionally retries once on a connection-level error.

The event loop and the pool are per process. A process forked after opening connections (Celery
prefork) forgets the parent's connections, so workers should open connections after the fork
(``worker_process_init``), which is what lazily calling ``get_connection`` does anyway.

Credentials: the public API identifies a host by its URI alone, so the password a remote host
needs (SASL over ``qemu+tcp``/``qemu+tls``, password login over ``qemu+libssh``) is kept in a
per-process registry keyed by that URI. The agent registers a host's stored username and password
(``set_credentials``) before it first talks to the host; every later (re)connection to the URI
authenticates with them through ``libvirt.openAuth``. URIs without registered credentials open as
before, with ``libvirt.open`` (local sockets, ``auth_tcp = "none"``, SSH keys).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import libvirt

from .errors import ConnectionFailed, ConnectionsNotAllowed, libvirt_message

logger = logging.getLogger(__name__)

ENV_VAR = "CIRROSTACK_HYPERVISOR_CONNECTIONS"

# Send a keepalive after 5 s of silence, give up after 3 unanswered ones: a dead host is
# noticed in about 20 s even when no operation is in flight.
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3

_allowed = False

# Transports that run an SSH client: the login name goes into the URI (user@host), not through the
# auth callback.
SSH_SCHEME_SUFFIXES = ("+ssh", "+libssh", "+libssh2")


@dataclass(frozen=True)
class Credentials:
    """What a remote libvirtd may ask for while a connection opens."""

    username: str
    password: str = field(repr=False)  # never in logs or tracebacks


# _state_lock guards the dictionaries below and is never held across a libvirt call, so the
# close callback (which runs on the event-loop thread) can always take it without deadlocking.
_state_lock = threading.Lock()
_pool: dict[str, libvirt.virConnect] = {}
_open_locks: dict[str, threading.Lock] = {}
# Connections the close callback dropped; they are closed later from an ordinary thread rather
# than from inside the callback, which would re-enter libvirt from its own event dispatch.
_dead: list[libvirt.virConnect] = []
# Connections inherited through fork(): never used or closed in the child (closing would talk
# over the parent's socket), only kept referenced so their __del__ never runs.
_inherited: list[libvirt.virConnect] = []

_credentials: dict[str, Credentials] = {}

_loop_lock = threading.Lock()
_event_impl_registered = False
_loop_thread: threading.Thread | None = None


def allow_connections(allowed: bool = True) -> None:
    """Opt this process in (Celery worker, tests) or back out of opening hypervisor connections."""
    global _allowed
    _allowed = allowed


def connections_allowed() -> bool:
    """Whether get_connection may open connections in this process."""
    return _allowed or os.environ.get(ENV_VAR) == "1"


def set_credentials(uri: str, username: str, password: str) -> None:
    """Authenticate future connections to ``uri`` as ``username``/``password`` (both empty: forget).

    An already pooled connection is kept: it is authenticated, and cutting it would fail the calls
    other threads have in flight. New credentials apply from the next (re)connection on.
    """
    with _state_lock:
        if username or password:
            _credentials[uri] = Credentials(username, password)
        else:
            _credentials.pop(uri, None)


def registered_credentials(uri: str) -> Credentials | None:
    """The credentials the next connection to ``uri`` will log in with, if any."""
    with _state_lock:
        return _credentials.get(uri)


def get_connection(uri: str) -> libvirt.virConnect:
    """Return the shared live connection for ``uri``, opening or reopening it when needed.

    The returned object is shared with other threads: never ``close()`` it, call
    ``discard_connection`` if it turns out to be broken.
    """
    if not connections_allowed():
        raise ConnectionsNotAllowed(
            f"hypervisor connections are not allowed in this process (refused to open {uri!r}); "
            f"only workers call allow_connections(True) or set {ENV_VAR}=1"
        )
    _ensure_event_loop()
    _reap_dead()
    with _open_lock(uri):
        with _state_lock:
            conn = _pool.get(uri)
        if conn is not None:
            if _is_alive(conn):
                return conn
            logger.info("pooled libvirt connection to %s is dead, reconnecting", uri)
            discard_connection(uri, conn)
        conn = _open(uri)
        with _state_lock:
            _pool[uri] = conn
        return conn


def discard_connection(uri: str, conn: libvirt.virConnect) -> None:
    """Forget ``conn`` (if it is still the pooled one for ``uri``) and close it.

    Identity matters: another thread may already have replaced a broken connection, and that
    fresh replacement must not be thrown away.
    """
    with _state_lock:
        if _pool.get(uri) is conn:
            del _pool[uri]
    _close_quietly(conn)


def close_all() -> None:
    """Close every pooled connection (worker shutdown; tests use it to reset test:///default)."""
    with _state_lock:
        conns = list(_pool.values()) + _dead
        _pool.clear()
        _dead.clear()
    for conn in conns:
        _close_quietly(conn)


def pooled_uris() -> frozenset[str]:
    """URIs that currently have a pooled connection, for health checks and tests."""
    with _state_lock:
        return frozenset(_pool)


def _open_lock(uri: str) -> threading.Lock:
    # One lock per URI: opening a connection to an unreachable host can block for a TCP timeout,
    # and that must not stall threads talking to other hosts.
    with _state_lock:
        lock = _open_locks.get(uri)
        if lock is None:
            lock = _open_locks[uri] = threading.Lock()
        return lock


def _is_alive(conn: libvirt.virConnect) -> bool:
    try:
        return conn.isAlive() == 1
    except libvirt.libvirtError as exc:
        # A virConnect closed behind the pool's back raises "invalid connection pointer".
        logger.debug("isAlive() failed, treating connection as dead: %s", libvirt_message(exc))
        return False


def _open(uri: str) -> libvirt.virConnect:
    credentials = registered_credentials(uri)
    try:
        if credentials is None:
            conn = libvirt.open(uri)
        else:
            conn = libvirt.openAuth(uri_with_login(uri, credentials.username),
                                    [list(AUTH_CREDENTIAL_TYPES), answer_auth, credentials], 0)
    except libvirt.libvirtError as exc:
        raise ConnectionFailed(f"cannot connect to {uri}: {libvirt_message(exc)}", exc.get_error_code()) from exc
    try:
        if _enable_keepalive(uri, conn):
            conn.registerCloseCallback(_on_close, uri)
    except libvirt.libvirtError as exc:
        _close_quietly(conn)
        raise ConnectionFailed(
            f"cannot set up connection to {uri}: {libvirt_message(exc)}", exc.get_error_code()
        ) from exc
    logger.info("opened libvirt connection to %s", uri)
    return conn


# What answer_auth can answer. Prompts it cannot (an SSH host key to accept, a certificate
# question) fail the connection instead of being answered blindly.
AUTH_CREDENTIAL_TYPES = (
    libvirt.VIR_CRED_AUTHNAME,
    libvirt.VIR_CRED_USERNAME,
    libvirt.VIR_CRED_PASSPHRASE,
    libvirt.VIR_CRED_NOECHOPROMPT,
)


def answer_auth(requested: list[list], credentials: Credentials) -> int:
    """libvirt's auth callback: fill in each requested credential, or refuse (-1) the whole lot.

    Each request is ``[type, prompt, challenge, default, result]``; libvirt reads ``result``. SASL
    asks for AUTHNAME and PASSPHRASE, libssh for USERNAME and PASSPHRASE (or a NOECHOPROMPT
    "Password:" for keyboard-interactive logins).
    """
    for request in requested:
        kind = request[0]
        if kind in (libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_USERNAME):
            value = credentials.username or request[3]
        elif kind in (libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT):
            value = credentials.password
        else:
            logger.warning("libvirt asked for credential type %s (%r), which Cirrostack does not answer",
                           kind, request[1])
            return -1
        if not value:
            logger.warning("libvirt asked for credential type %s but none is stored for the host", kind)
            return -1
        request[4] = value
    return 0


def uri_with_login(uri: str, username: str) -> str:
    """For SSH transports, put the stored login name into a URI that names none (user@host).

    Other transports are returned unchanged: SASL asks for the name through the callback.
    """
    parts = urlsplit(uri)
    if not username or not parts.scheme.endswith(SSH_SCHEME_SUFFIXES) or not parts.hostname or "@" in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=f"{quote(username, safe='')}@{parts.netloc}"))


def _enable_keepalive(uri: str, conn: libvirt.virConnect) -> bool:
    """Turn on keepalive; False when the driver runs in-process and has no transport to lose.

    Only connections with a transport get a close callback: in-process drivers never call it,
    and registering one would just pin the callback data for the life of the process.
    """
    try:
        result = conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        logger.debug("driver for %s runs in-process (no keepalive support)", uri)
        return False
    if result == 1:
        # An old daemon: the transport can still die, the close callback still reports it.
        logger.info("libvirtd at %s does not support keepalive; relying on isAlive/retry", uri)
    return True


def _on_close(conn: libvirt.virConnect, reason: int, uri: str) -> None:
    """Close callback, run on the event-loop thread when the transport goes away."""
    with _state_lock:
        if _pool.get(uri) is conn:
            del _pool[uri]
            _dead.append(conn)
    logger.warning("libvirt connection to %s closed (%s)", uri, _CLOSE_REASONS.get(reason, reason))


_CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "transport error",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "end of file",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive timeout",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed by client",
}


def _reap_dead() -> None:
    with _state_lock:
        dead = list(_dead)
        _dead.clear()
    for conn in dead:
        _close_quietly(conn)


def _close_quietly(conn: libvirt.virConnect) -> None:
    # Closing a connection that is already broken fails in predictable ways (the socket is
    # gone, or the object was closed before); neither should mask the caller's real problem.
    try:
        conn.unregisterCloseCallback()
    except libvirt.libvirtError as exc:
        logger.debug("unregisterCloseCallback on a closing connection: %s", libvirt_message(exc))
    try:
        conn.close()
    except libvirt.libvirtError as exc:
        logger.debug("close() on a broken connection: %s", libvirt_message(exc))


def _log_libvirt_error(_ctx: object, err: tuple) -> None:
    # libvirt's default handler prints every error to stderr, including the ones we expect and
    # translate (lookups of missing domains); the translated exceptions carry the message.
    logger.debug("libvirt: %s", err[2] if len(err) > 2 else err)


def _ensure_event_loop() -> None:
    """Start libvirt's default event loop once per process.

    Keepalive and close callbacks only work while something runs the loop; libvirt requires
    the implementation to be registered before the connections that should use it are opened.
    """
    global _event_impl_registered, _loop_thread
    with _loop_lock:
        if _loop_thread is not None and _loop_thread.is_alive():
            return
        if not _event_impl_registered:
            libvirt.registerErrorHandler(_log_libvirt_error, None)
            libvirt.virEventRegisterDefaultImpl()
            _event_impl_registered = True
        _loop_thread = threading.Thread(target=_run_event_loop, name="libvirt-event-loop", daemon=True)
        _loop_thread.start()


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError as exc:
            # One failed iteration must not end keepalive handling for the whole process.
            logger.error("libvirt event loop iteration failed: %s", libvirt_message(exc))
            time.sleep(0.1)


def _reset_after_fork() -> None:
    global _state_lock, _loop_lock, _loop_thread
    _inherited.extend(_pool.values())
    _inherited.extend(_dead)
    _pool.clear()
    _dead.clear()
    _open_locks.clear()
    # Locks may have been held by threads that do not exist in the child.
    _state_lock = threading.Lock()
    _loop_lock = threading.Lock()
    _loop_thread = None


os.register_at_fork(after_in_child=_reset_after_fork)
