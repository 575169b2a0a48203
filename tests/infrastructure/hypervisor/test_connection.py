"""Connection pool, guard, reconnect and retry, against real libvirt (no mocks).

Local behaviour uses libvirt's in-process test driver (``test:///default``). Behaviour that
only exists with a transport (keepalive, close callback, a daemon dying under an open
connection) uses a private, unprivileged libvirtd started by the test on its own unix socket
and serving the same test driver (``test+unix:///default?socket=...``); those tests skip where
no libvirtd binary is installed or the tests do not run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from infrastructure import hypervisor as hv
from infrastructure.hypervisor import connection, operations

TEST_URI = "test:///default"
REPO_ROOT = Path(__file__).resolve().parents[3]
LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"


@pytest.fixture(autouse=True)
def _hypervisor_connections():
    hv.allow_connections(True)
    yield
    hv.close_all()
    hv.allow_connections(False)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class PrivateLibvirtd:
    """An unprivileged libvirtd (session mode, as user nobody) listening on its own unix socket.

    It shares nothing with a system libvirtd that may run on the machine: state, sockets and
    logs all live in a temporary directory, and it exits by itself after 5 idle minutes should
    the test process die before stopping it.
    """

    def __init__(self) -> None:
        self.user = pwd.getpwnam("nobody")
        self.dir = Path(tempfile.mkdtemp(prefix="cs-lvd-"))
        os.chown(self.dir, self.user.pw_uid, -1)
        self.proc: subprocess.Popen | None = None

    @property
    def socket_path(self) -> str:
        return str(self.dir / "run" / "libvirt" / "libvirt-sock")

    @property
    def test_uri(self) -> str:
        return f"test+unix:///default?socket={self.socket_path}"

    @property
    def qemu_uri(self) -> str:
        return f"qemu+unix:///session?socket={self.socket_path}"

    @classmethod
    def available(cls) -> str | None:
        """Why the daemon cannot be used here, or None if it can."""
        if os.geteuid() != 0:
            return "needs root to run libvirtd as an unprivileged user"
        if not os.access(LIBVIRTD, os.X_OK):
            return "libvirtd is not installed"
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            return "no 'nobody' user"
        return None

    def start(self) -> None:
        env = {
            "HOME": str(self.dir),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_CACHE_HOME": str(self.dir / "cache"),
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        }
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        with open(self.dir / "libvirtd.log", "ab") as log:
            self.proc = subprocess.Popen(
                [LIBVIRTD, "--timeout", "300"],
                env=env,
                cwd=self.dir,
                user=self.user.pw_uid,
                group=self.user.pw_gid,
                extra_groups=[],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_for(self._accepting, timeout=20.0, interval=0.05):
            self.kill()
            raise RuntimeError(f"private libvirtd did not start; see {self.dir / 'libvirtd.log'}")

    def _accepting(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"private libvirtd exited with {self.proc.returncode}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(self.socket_path)
            except OSError:
                return False
        return True

    def kill(self) -> None:
        """SIGKILL, like a crash: the daemon gets no chance to close client connections politely."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self.kill()
        # virtlogd is spawned by this daemon for serial logs; end it too (by its own pid file).
        pidfile = self.dir / "run" / "libvirt" / "virtlogd.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_libvirtd():
    reason = PrivateLibvirtd.available()
    if reason:
        pytest.skip(reason)
    daemon = PrivateLibvirtd()
    daemon.start()
    yield daemon
    hv.close_all()
    daemon.stop()


# ------------------------------------------------------------------------------------ guard


def test_guard_refuses_when_not_allowed(monkeypatch):
    monkeypatch.delenv(connection.ENV_VAR, raising=False)
    hv.allow_connections(False)
    assert not hv.connections_allowed()
    with pytest.raises(hv.ConnectionsNotAllowed):
        hv.get_connection(TEST_URI)
    # Operations must not turn the refusal into "host down".
    with pytest.raises(hv.ConnectionsNotAllowed):
        hv.ping(TEST_URI)
    assert connection.pooled_uris() == frozenset()


def test_guard_is_a_hypervisor_error():
    assert issubclass(hv.ConnectionsNotAllowed, hv.HypervisorError)


def test_env_var_allows_connections(monkeypatch):
    hv.allow_connections(False)
    monkeypatch.setenv(connection.ENV_VAR, "1")
    assert hv.connections_allowed()
    assert hv.get_connection(TEST_URI).isAlive() == 1


def test_env_var_other_values_do_not_allow(monkeypatch):
    hv.allow_connections(False)
    monkeypatch.setenv(connection.ENV_VAR, "yes")
    assert not hv.connections_allowed()


def test_fresh_process_is_not_allowed_and_needs_no_django():
    env = {key: value for key, value in os.environ.items() if key != connection.ENV_VAR}
    code = "import sys, infrastructure.hypervisor as hv\nprint(hv.connections_allowed(), 'django' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------------------------- pool


def test_pool_reuses_one_connection_per_uri():
    first = hv.get_connection(TEST_URI)
    second = hv.get_connection(TEST_URI)
    assert first is second
    assert connection.pooled_uris() == {TEST_URI}


def test_pool_is_shared_by_threads():
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(hv.get_connection(TEST_URI))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(conn is results[0] for conn in results)


def test_event_loop_thread_runs_once():
    hv.get_connection(TEST_URI)
    hv.get_connection("test:///default")
    loops = [t for t in threading.enumerate() if t.name == "libvirt-event-loop"]
    assert len(loops) == 1
    assert loops[0].daemon
    assert loops[0].is_alive()


def test_reconnects_when_pooled_connection_was_closed_behind_its_back():
    conn = hv.get_connection(TEST_URI)
    conn.close()
    fresh = hv.get_connection(TEST_URI)
    assert fresh is not conn
    assert fresh.isAlive() == 1
    assert "test" in hv.list_domains(TEST_URI)


def test_close_all_resets_the_test_driver():
    hv.define_domain(
        TEST_URI,
        hv.DomainSpec(
            name="ephemeral",
            uuid="0b0e7c1e-5a8f-4a57-bb39-1f6f2f2b3c4d",
            domain_type="test",
            vcpus=1,
            memory_mib=64,
        ),
    )
    assert "ephemeral" in hv.list_domains(TEST_URI)
    hv.close_all()
    assert connection.pooled_uris() == frozenset()
    assert "ephemeral" not in hv.list_domains(TEST_URI)


def test_unreachable_host_raises_connection_failed():
    # Port 1 on loopback: nothing listens there, so the connect is refused at once.
    with pytest.raises(hv.ConnectionFailed) as info:
        hv.get_connection("test+tcp://127.0.0.1:1/default")
    assert "127.0.0.1:1" in info.value.message
    assert info.value.code is not None
    assert not hv.ping("test+tcp://127.0.0.1:1/default")


def test_unknown_driver_raises_connection_failed():
    with pytest.raises(hv.ConnectionFailed):
        hv.get_connection("nosuchdriver:///system")


# ------------------------------------------------------------------------------------ retry


def test_operation_retries_once_on_a_connection_closed_mid_operation():
    seen = []

    def action(conn):
        seen.append(conn)
        if len(seen) == 1:
            conn.close()  # as if close_all() ran in another thread: libvirt says "invalid connection"
        return conn.getHostname()

    assert operations._with_connection(TEST_URI, action) == hv.host_facts(TEST_URI).hostname
    assert len(seen) == 2
    assert seen[0] is not seen[1]


def test_operation_gives_up_after_one_retry():
    calls = []

    def action(conn):
        calls.append(conn)
        conn.close()
        return conn.getHostname()

    with pytest.raises(hv.ConnectionFailed, match="failed again after reconnecting"):
        operations._with_connection(TEST_URI, action)
    assert len(calls) == 2


def test_refusals_are_not_retried():
    calls = []

    def action(conn):
        calls.append(conn)
        return conn.lookupByName("no-such-domain")

    with pytest.raises(hv.DomainNotFound) as info:
        operations._with_connection(TEST_URI, action)
    assert len(calls) == 1
    assert info.value.code == 42  # VIR_ERR_NO_DOMAIN


def test_forked_child_opens_its_own_connection():
    parent_conn = hv.get_connection(TEST_URI)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child process
        status = 1
        try:
            ok = connection.pooled_uris() == frozenset() and hv.get_connection(TEST_URI) is not parent_conn
            ok = ok and "test" in hv.list_domains(TEST_URI)
            os.write(write_end, b"ok" if ok else b"bad")
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read_end, 16)
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == b"ok"
    assert hv.get_connection(TEST_URI) is parent_conn


# ------------------------------------------------------------------ remote (private libvirtd)


def test_remote_connection_is_pooled_and_alive(private_libvirtd):
    uri = private_libvirtd.test_uri
    conn = hv.get_connection(uri)
    assert hv.get_connection(uri) is conn
    assert conn.isAlive() == 1
    assert hv.ping(uri)
    assert hv.list_domains(uri) == {"test": hv.DomainState.RUNNING}


def test_close_callback_drops_connection_when_daemon_dies(private_libvirtd):
    uri = private_libvirtd.test_uri
    conn = hv.get_connection(uri)
    assert uri in connection.pooled_uris()
    private_libvirtd.kill()
    try:
        # Delivered by the event-loop thread within milliseconds, no libvirt call needed.
        assert wait_for(lambda: uri not in connection.pooled_uris(), timeout=5.0)
        with pytest.raises(hv.ConnectionFailed):
            hv.get_connection(uri)
        assert not hv.ping(uri)
    finally:
        private_libvirtd.start()
    fresh = hv.get_connection(uri)
    assert fresh is not conn
    assert fresh.isAlive() == 1


def test_operations_recover_after_daemon_restart(private_libvirtd):
    uri = private_libvirtd.test_uri
    assert hv.domain_state(uri, "test") == hv.DomainState.RUNNING
    private_libvirtd.restart()
    assert hv.domain_state(uri, "test") == hv.DomainState.RUNNING
    assert hv.host_facts(uri).hypervisor_type == "TEST"


def test_retry_when_daemon_dies_between_checkout_and_call(private_libvirtd):
    uri = private_libvirtd.test_uri
    calls = []

    def action(conn):
        calls.append(conn)
        if len(calls) == 1:
            private_libvirtd.restart()  # the connection we hold is now dead
        return conn.getHostname()

    assert operations._with_connection(uri, action)
    assert len(calls) == 2
    assert calls[0] is not calls[1]


def test_connection_failed_when_retry_fails_too(private_libvirtd):
    uri = private_libvirtd.test_uri
    calls = []

    def action(conn):
        calls.append(conn)
        private_libvirtd.restart()
        return conn.getHostname()

    with pytest.raises(hv.ConnectionFailed, match="failed again after reconnecting") as info:
        operations._with_connection(uri, action)
    assert len(calls) == 2
    assert info.value.code is not None


def test_connection_failed_when_daemon_stays_down(private_libvirtd):
    uri = private_libvirtd.test_uri
    hv.get_connection(uri)
    private_libvirtd.kill()
    try:
        with pytest.raises(hv.ConnectionFailed):
            hv.list_domains(uri)
    finally:
        private_libvirtd.start()
    assert hv.ping(uri)
