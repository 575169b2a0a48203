"""A private libvirtd that demands a SASL login over TCP, to test remote-host credentials for real.

It runs unprivileged (user nobody, session mode, own XDG directories) on a free 127.0.0.1 port with
``auth_tcp = "sasl"``; Cyrus SASL reads its configuration from ``SASL_CONF_PATH`` (DIGEST-MD5, the
mechanism libvirt accepts on an unencrypted TCP transport, against a private sasldb holding one user). It
serves the test driver (``test+tcp://127.0.0.1:PORT/default``) and the session QEMU driver
(``qemu+tcp://127.0.0.1:PORT/session``). Shares nothing with the system libvirtd.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.requirements import require

LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
SASLPASSWD = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SaslLibvirtd:
    def __init__(self, username: str, password: str) -> None:
        require(os.geteuid() == 0, "the SASL libvirtd runs as user nobody, which needs root to start")
        require(os.access(LIBVIRTD, os.X_OK), "libvirtd is not installed (package libvirt-daemon-system)")
        require(os.access(SASLPASSWD, os.X_OK), "saslpasswd2 is not installed (package sasl2-bin)")
        self.username = username
        self.user = pwd.getpwnam("nobody")
        self.dir = Path(tempfile.mkdtemp(prefix="cs-sasl-lvd-"))
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        sasl = self.dir / "sasl"
        sasl.mkdir()
        (sasl / "libvirt.conf").write_text(f"mech_list: digest-md5\nsasldb_path: {sasl / 'passwd.db'}\n")
        subprocess.run([SASLPASSWD, "-p", "-c", "-a", "libvirt", "-f", str(sasl / "passwd.db"), username],
                       input=password.encode(), check=True, capture_output=True)
        (self.dir / "libvirtd.conf").write_text(
            f'listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "127.0.0.1"\ntcp_port = "{self.port}"\n'
            'auth_tcp = "sasl"\n')
        for path in (self.dir, *self.dir.rglob("*")):
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    @property
    def test_uri(self) -> str:
        return f"test+tcp://127.0.0.1:{self.port}/default"

    @property
    def qemu_uri(self) -> str:
        return f"qemu+tcp://127.0.0.1:{self.port}/session"

    def storage_dir(self, name: str) -> str:
        """A directory the daemon (user nobody) may use as a host's local storage pool."""
        path = self.dir / "storage" / name
        path.mkdir(parents=True, exist_ok=True)
        for part in (path.parent, path):
            os.chown(part, self.user.pw_uid, self.user.pw_gid)
        return str(path)

    def start(self) -> None:
        env = {"HOME": str(self.dir), "XDG_RUNTIME_DIR": str(self.dir / "run"),
               "XDG_CONFIG_HOME": str(self.dir / "config"), "XDG_CACHE_HOME": str(self.dir / "cache"),
               "SASL_CONF_PATH": str(self.dir / "sasl"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        with open(self.dir / "libvirtd.log", "ab") as log:
            # --timeout: it exits by itself should the test process die before stopping it.
            self.proc = subprocess.Popen(
                [LIBVIRTD, "--listen", "--timeout", "300", "-f", str(self.dir / "libvirtd.conf")],
                env=env, cwd=self.dir, user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log_text = (self.dir / "libvirtd.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"SASL libvirtd did not start:\n{log_text}")
            time.sleep(0.05)

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # the session daemon may have spawned virtlogd for itself; end it by its own pid file
        pidfile = self.dir / "run" / "libvirt" / "virtlogd.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)
