"""Console proxy benchmark: the portal's WebSocket console proxy against websockify, relaying one VNC stream.

Run from the repository root (see benchmarks/README.md); websockify comes with the `bench` extra:

    .venv/bin/python benchmarks/console_proxy.py
    .venv/bin/python benchmarks/console_proxy.py --width 1920 --height 1080 --updates 10 --repeat 7

One streaming RFB server (VNC authentication, raw framebuffer updates of incompressible pixels) is relayed by
both proxies, each in its own process as in production: the portal's ASGI application under uvicorn, with the
real ConsoleConsumer (session cookie, single-use ticket, VNC authentication on the client's behalf), and
`python -m websockify` in front of the same server. The portal runs on SQLite in a temporary data directory
(migrated here, removed at the end); the configured database is never touched.

It prints, per path and with the VNC server reached directly over TCP as the baseline: the throughput of back
to back full-screen updates, the round-trip time of a 1x1 update (so what a proxy adds to it), the time to open
a session, and the ratios cirrostack / websockify. The portal is measured twice: with a client that offers no
WebSocket extension (like for like: websockify compresses nothing), and offering permessage-deflate as every
browser does, which uvicorn accepts unless started with --ws-per-message-deflate=false.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compute.rfb import vnc_auth_response  # noqa: E402  (needs the path above; imports no Django)

MIB = 2**20
VNC_PASSWORD = "b3nch!pw"  # noqa: S105 (the throwaway VNC server's password)
# 32 bits per pixel, depth 24, little-endian, true colour (what QEMU announces).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
# Variables of the production configuration (or of a test run) the throwaway portal must not inherit.
NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CIRROSTACK_HYPERVISOR_CONNECTIONS",
                 "CIRROSTACK_CELERY_EAGER", "CIRROSTACK_LIVE_RELAY", "CIRROSTACK_DATA_DIR")


# --- the VNC server (its own process: `console_proxy.py --serve-vnc`) ----------------------------------

class StreamingRfbServer:
    """RFB 3.8 with VNC authentication, answering every FramebufferUpdateRequest with one raw rectangle of
    the requested region. The pixels are random, like the already compressed Tight/ZRLE data a real console
    mostly carries, so a proxy that compresses (permessage-deflate) pays its full price."""

    def __init__(self, width: int, height: int, password: str) -> None:
        self.width, self.height, self.password = width, height, password
        self.framebuffer = random.Random(7).randbytes(width * height * 4)
        self.full = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, width, height, 0) + self.framebuffer

    def update(self, x: int, y: int, w: int, h: int) -> bytes:
        x, y = min(x, self.width), min(y, self.height)
        w, h = min(w, self.width - x), min(h, self.height - y)
        if (x, y, w, h) == (0, 0, self.width, self.height):
            return self.full
        stride = self.width * 4
        rows = (self.framebuffer[(y + row) * stride + x * 4:(y + row) * stride + (x + w) * 4] for row in range(h))
        return struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", x, y, w, h, 0) + b"".join(rows)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"RFB 003.008\n")
            await reader.readexactly(12)
            writer.write(b"\x01\x02")  # one security type: VNC authentication
            await reader.readexactly(1)
            challenge = os.urandom(16)
            writer.write(challenge)
            if await reader.readexactly(16) != vnc_auth_response(self.password, challenge):
                reason = b"Authentication failed"
                writer.write(b"\x00\x00\x00\x01" + struct.pack(">I", len(reason)) + reason)
                await writer.drain()
                return
            writer.write(b"\x00\x00\x00\x00")
            await reader.readexactly(1)  # ClientInit
            name = b"cirrostack-bench"
            writer.write(struct.pack(">HH", self.width, self.height) + PIXEL_FORMAT
                         + struct.pack(">I", len(name)) + name)
            await writer.drain()
            while True:
                kind = (await reader.readexactly(1))[0]
                if kind == 3:  # FramebufferUpdateRequest: incremental, x, y, w, h
                    _incremental, x, y, w, h = struct.unpack(">BHHHH", await reader.readexactly(9))
                    writer.write(self.update(x, y, w, h))
                    await writer.drain()
                elif kind == 0:  # SetPixelFormat: ignored, the pixels are random anyway
                    await reader.readexactly(19)
                elif kind == 2:  # SetEncodings
                    (count,) = struct.unpack(">xH", await reader.readexactly(3))
                    await reader.readexactly(4 * count)
                elif kind == 4:  # KeyEvent
                    await reader.readexactly(7)
                elif kind == 5:  # PointerEvent
                    await reader.readexactly(5)
                else:
                    raise ConnectionError(f"unexpected client message {kind}")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            writer.close()


def serve_vnc(width: int, height: int) -> None:
    """Listen on a free loopback port, print it on stdout and serve until killed."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass  # the standard loop serves too, only a little slower

    async def main() -> None:
        server = StreamingRfbServer(width, height, VNC_PASSWORD)
        listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        print(listener.sockets[0].getsockname()[1], flush=True)
        await listener.serve_forever()

    asyncio.run(main())


# --- the processes: VNC server, websockify, portal ---------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[2:4]} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on {port}:\n{log.read_text(errors='replace')[-3000:]}") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Stop one process this script started, and its children (websockify forks one per connection)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Processes:
    workdir: Path
    env: dict[str, str]
    started: list[subprocess.Popen] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], stdout: int | None = None) -> subprocess.Popen:
        with (self.workdir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=stdout or log, stderr=log,
                                    start_new_session=True)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            stop(proc)


def start_vnc_server(procs: Processes, width: int, height: int) -> int:
    proc = procs.spawn("vnc", [sys.executable, __file__, "--serve-vnc", "--width", str(width),
                               "--height", str(height)], stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        raise SystemExit(f"the VNC server did not start:\n{(procs.workdir / 'vnc.log').read_text()}")
    return int(line)


def start_websockify(procs: Processes, vnc_port: int) -> int:
    port = free_port()
    proc = procs.spawn("websockify", [sys.executable, "-m", "websockify", f"127.0.0.1:{port}",
                                      f"127.0.0.1:{vnc_port}"])
    wait_listening(port, proc, procs.workdir / "websockify.log")
    return port


def start_portal(procs: Processes, app: str, extra: list[str]) -> int:
    """uvicorn serving portal.asgi, as `manage.py serve` starts it (plus `extra` options, to try some)."""
    from portal.management.commands.serve import UVICORN_OPTIONS

    port = free_port()
    proc = procs.spawn("uvicorn", [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                                   str(port), "--log-level", "info", *UVICORN_OPTIONS, *extra])
    wait_listening(port, proc, procs.workdir / "uvicorn.log")
    return port


@dataclass
class Console:
    """What a client needs to open the VM's console through the portal."""

    user_id: int
    vm_id: int
    cookie: str  # the Cookie header of the logged-in session

    def ticket(self) -> str:
        from accounts.models import User
        from compute.models import VirtualMachine
        from compute.services_console import console_token_create

        token, _expires = console_token_create(caller=User.objects.get(pk=self.user_id),
                                               vm=VirtualMachine.objects.get(pk=self.vm_id))
        return token


def build_console(vnc_port: int) -> Console:
    """A user owning a Running VM whose console is the benchmark's VNC server, and a logged-in session."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import Account
    from compute.models import VirtualMachine
    from compute.services_console import console_fields
    from infrastructure.hypervisor import VncEndpoint
    from tests import factories

    root = factories.DomainFactory()
    admin_account = factories.AccountFactory(name="admin", domain=root, account_type=Account.Type.ROOT_ADMIN)
    host = factories.HostFactory()  # test:///default: its console address is 127.0.0.1
    owner = factories.UserFactory(username="bench", account__name="bench", account__domain=root)
    vm = VirtualMachine.objects.create(
        name="bench", account=owner.account, user=owner, zone=host.zone, host=host,
        service_offering=factories.ServiceOfferingFactory(name="Bench"),
        template=factories.TemplateFactory(name="bench", account=admin_account, domain=root),
        cpu_number=1, cpu_speed=1000, memory=512, state="Running",
        **console_fields(VncEndpoint(port=vnc_port, password=VNC_PASSWORD)))
    client = Client()
    client.force_login(owner)
    name = settings.SESSION_COOKIE_NAME
    return Console(user_id=owner.pk, vm_id=vm.pk, cookie=f"{name}={client.cookies[name].value}")


# --- the client: one RFB byte stream over TCP or over a WebSocket ------------------------------------

class TcpLink:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_exactly(self, count: int) -> bytes:
        return await self.reader.readexactly(count)

    async def skip(self, count: int) -> None:
        while count:
            chunk = await self.reader.read(min(count, 1 << 20))
            if not chunk:
                raise ConnectionError("the VNC server closed the connection")
            count -= len(chunk)

    async def close(self) -> None:
        self.writer.close()


class WsLink:
    """An RFB byte stream over WebSocket binary messages, cut wherever the proxy cut them."""

    def __init__(self, ws) -> None:
        self.ws, self.buffer = ws, bytearray()

    async def send(self, data: bytes) -> None:
        await self.ws.send(data)

    async def _more(self) -> bytes:
        message = await self.ws.recv()
        if isinstance(message, str):
            raise ConnectionError("the proxy sent a text message")
        return message

    async def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += await self._more()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def skip(self, count: int) -> None:
        """Receive `count` bytes without keeping them (the throughput loop: only lengths are counted)."""
        held = min(count, len(self.buffer))
        del self.buffer[:held]
        count -= held
        while count:
            message = await self._more()
            if len(message) > count:
                self.buffer += message[count:]
                return
            count -= len(message)

    async def close(self) -> None:
        await self.ws.close()


async def rfb_handshake(link: TcpLink | WsLink, password: str | None) -> tuple[int, int]:
    """The client side of RFB 3.8 up to ServerInit, with VNC authentication when the peer asks for it (the
    VNC server itself, or through websockify) or None (the portal's proxy). Returns the framebuffer size."""
    version = await link.read_exactly(12)
    if not version.startswith(b"RFB 003."):
        raise ConnectionError(f"not RFB: {version!r}")
    await link.send(b"RFB 003.008\n")
    offered = await link.read_exactly((await link.read_exactly(1))[0])
    if password is not None:
        if 2 not in offered:
            raise ConnectionError(f"VNC authentication not offered: {list(offered)}")
        await link.send(b"\x02")
        await link.send(vnc_auth_response(password, await link.read_exactly(16)))
    else:
        if 1 not in offered:
            raise ConnectionError(f"security type None not offered: {list(offered)}")
        await link.send(b"\x01")
    if await link.read_exactly(4) != b"\x00\x00\x00\x00":
        raise ConnectionError("security handshake failed")
    await link.send(b"\x01")  # ClientInit: shared
    width, height = struct.unpack(">HH", await link.read_exactly(4))
    await link.read_exactly(16)  # pixel format
    await link.read_exactly(struct.unpack(">I", await link.read_exactly(4))[0])  # name
    await link.send(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: raw only
    return width, height


def update_request(x: int, y: int, w: int, h: int) -> bytes:
    return struct.pack(">BBHHHH", 3, 0, x, y, w, h)  # not incremental: the server sends the region every time


# The routes on which the server accepted the client's offer of permessage-deflate.
negotiated: set[str] = set()


@dataclass
class Route:
    """One way to reach the VNC server: `open(ticket)` returns a ready RFB session (after ServerInit).
    `ticket` mints what the client needs first (the portal's console ticket, which a browser fetches before
    opening its socket), outside the connect time."""

    name: str
    open: Callable[[str], Awaitable[TcpLink | WsLink]]
    ticket: Callable[[], str] = str


def make_paths(vnc_port: int, websockify_port: int, portal_port: int, console: Console) -> list[Route]:
    from websockets.asyncio.client import connect

    negotiated.clear()

    async def direct(_ticket: str) -> TcpLink:
        link = TcpLink(*await asyncio.open_connection("127.0.0.1", vnc_port))
        await rfb_handshake(link, VNC_PASSWORD)
        return link

    async def websockify(_ticket: str) -> WsLink:
        ws = await connect(f"ws://127.0.0.1:{websockify_port}/", compression=None, max_size=None,
                           ping_interval=None)
        link = WsLink(ws)
        await rfb_handshake(link, VNC_PASSWORD)  # websockify only relays: the client authenticates
        return link

    def cirrostack(compression: str | None) -> Callable[[str], Awaitable[WsLink]]:
        async def open_(token: str) -> WsLink:
            ws = await connect(f"ws://127.0.0.1:{portal_port}/ws/console/?token={token}",
                               origin=f"http://127.0.0.1:{portal_port}",
                               additional_headers={"Cookie": console.cookie},
                               compression=compression, max_size=None, ping_interval=None)
            if ws.protocol.extensions:
                negotiated.add(f"cirrostack+{compression}")
            link = WsLink(ws)
            await rfb_handshake(link, None)  # the proxy authenticated to the VNC server for us
            return link
        return open_

    return [Route("direct TCP", direct), Route("websockify", websockify),
            Route("cirrostack", cirrostack(None), console.ticket),
            Route("cirrostack+deflate", cirrostack("deflate"), console.ticket)]


# --- measurements ------------------------------------------------------------------------------------

def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Figures:
    connect: list[float] = field(default_factory=list)  # seconds to a ready RFB session
    throughput: list[float] = field(default_factory=list)  # MiB/s, one per repetition
    rtt: list[float] = field(default_factory=list)  # seconds per 1x1 update round trip


async def opened(path: Route, figures: Figures) -> TcpLink | WsLink:
    ticket = await asyncio.to_thread(path.ticket)
    started = time.perf_counter()
    link = await path.open(ticket)
    figures.connect.append(time.perf_counter() - started)
    return link


async def measure_throughput(path: Route, figures: Figures, width: int, height: int, updates: int,
                             warmup: int) -> None:
    """Request `updates` full-screen updates at once and time receiving every byte of them."""
    full = update_request(0, 0, width, height)
    size = 4 + 12 + width * height * 4
    link = await opened(path, figures)
    try:
        for _ in range(warmup):
            await link.send(full)
            await link.skip(size)
        started = time.perf_counter()
        await link.send(full * updates)
        await link.skip(size * updates)
        figures.throughput.append(size * updates / MIB / (time.perf_counter() - started))
    finally:
        await link.close()


async def measure_latency(path: Route, figures: Figures, rounds: int, warmup: int) -> None:
    """One 1x1 update at a time: the time from sending the request to the last byte of the answer."""
    request, size = update_request(0, 0, 1, 1), 4 + 12 + 4
    link = await opened(path, figures)
    try:
        for index in range(warmup + rounds):
            started = time.perf_counter()
            await link.send(request)
            await link.read_exactly(size)
            if index >= warmup:
                figures.rtt.append(time.perf_counter() - started)
    finally:
        await link.close()


async def run(paths: list[Route], args: argparse.Namespace) -> dict[str, Figures]:
    """Throughput, then latency in blocks on new connections. Each measurement opens its own connection, so
    the connect times are sampled all along too."""
    figures = {path.name: Figures() for path in paths}
    deflate_updates = max(1, args.updates // 4)  # zlib on incompressible pixels is slow: fewer bytes
    # The paths take turns in every repetition, so a slower moment of the machine hits them all alike.
    for repetition in range(args.repeat + 1):
        for path in paths:
            updates = deflate_updates if "deflate" in path.name else args.updates
            scratch = Figures() if repetition == 0 else figures[path.name]  # repetition 0 warms up
            await measure_throughput(path, scratch, args.width, args.height, updates, warmup=2)
    for path in paths:
        if "deflate" not in path.name:
            await measure_latency(path, Figures(), rounds=args.rounds // 10, warmup=0)
    blocks = 5
    for _ in range(blocks):
        for path in paths:
            if "deflate" not in path.name:
                await measure_latency(path, figures[path.name], rounds=args.rounds // blocks, warmup=20)
    return figures


def report(figures: dict[str, Figures]) -> None:
    ms = 1000
    direct = figures["direct TCP"]
    direct_p50, direct_p95 = statistics.median(direct.rtt), percentile(direct.rtt, 0.95)
    print(f"\n{'path':<20} {'throughput MiB/s':>22} {'RTT 1x1 p50/p95 ms':>20} {'added p50/p95 ms':>18} "
          f"{'connect p50 ms':>15}")
    added: dict[str, tuple[float, float]] = {}
    for name, fig in figures.items():
        tput = (f"{statistics.median(fig.throughput):8.1f} ({min(fig.throughput):.0f}-{max(fig.throughput):.0f})"
                if fig.throughput else "")
        if fig.rtt:
            p50, p95 = statistics.median(fig.rtt), percentile(fig.rtt, 0.95)
            added[name] = (p50 - direct_p50, p95 - direct_p95)
            rtt = f"{p50 * ms:.3f} / {p95 * ms:.3f}"
            extra = "" if name == "direct TCP" else f"{added[name][0] * ms:.3f} / {added[name][1] * ms:.3f}"
        else:
            rtt = extra = "-"
        print(f"{name:<20} {tput:>22} {rtt:>20} {extra:>18} {statistics.median(fig.connect) * ms:15.2f}")

    def ratio(ours: float, theirs: float) -> str:
        return f"{ours / theirs:.2f}" if theirs > 0 else "n/a (websockify adds nothing measurable)"

    ours, theirs = figures["cirrostack"], figures["websockify"]
    tput_ours, tput_theirs = statistics.median(ours.throughput), statistics.median(theirs.throughput)
    print(f"\nthroughput: cirrostack {tput_ours:.1f} MiB/s, websockify {tput_theirs:.1f} MiB/s, "
          f"ratio {ratio(tput_ours, tput_theirs)} (higher is better for cirrostack)")
    deflate = figures["cirrostack+deflate"]
    tput_deflate = statistics.median(deflate.throughput)
    accepted = "accepted" if "cirrostack+deflate" in negotiated else "declined"
    print(f"throughput as a browser connects (offering permessage-deflate; uvicorn {accepted}): cirrostack "
          f"{tput_deflate:.1f} MiB/s, ratio to websockify {ratio(tput_deflate, tput_theirs)}")
    for label, index in (("p50", 0), ("p95", 1)):
        print(f"added latency {label}: cirrostack {added['cirrostack'][index] * ms:.3f} ms, websockify "
              f"{added['websockify'][index] * ms:.3f} ms, ratio "
              f"{ratio(added['cirrostack'][index], added['websockify'][index])} (lower is better for cirrostack)")
    print(f"connect: cirrostack {statistics.median(ours.connect) * ms:.1f} ms (session, ticket redeemed, VNC auth "
          f"by the proxy), websockify {statistics.median(theirs.connect) * ms:.1f} ms, ratio "
          f"{ratio(statistics.median(ours.connect), statistics.median(theirs.connect))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--updates", type=int, default=20,
                        help="full-screen updates per throughput repetition (a quarter of them with deflate)")
    parser.add_argument("--repeat", type=int, default=10, help="throughput repetitions per path, after a warm-up")
    parser.add_argument("--rounds", type=int, default=500, help="1x1 update round trips per path")
    parser.add_argument("--asgi-app", default="portal.asgi:application",
                        help="the ASGI application uvicorn serves (a variant to compare, importable from the root)")
    parser.add_argument("--uvicorn-arg", action="append", default=[],
                        help="an extra uvicorn option, e.g. --uvicorn-arg=--ws-per-message-deflate=false")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--serve-vnc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_vnc:
        serve_vnc(args.width, args.height)
        return

    workdir = Path(tempfile.mkdtemp(prefix="cirrostack-console-bench-"))
    for name in NOT_INHERITED:
        os.environ.pop(name, None)
    os.environ.update(CIRROSTACK_DATA_DIR=str(workdir / "data"), DJANGO_SETTINGS_MODULE="portal.settings",
                      PYTHONUNBUFFERED="1")
    procs = Processes(workdir=workdir, env=dict(os.environ))
    try:
        started = time.perf_counter()
        vnc_port = start_vnc_server(procs, args.width, args.height)
        websockify_port = start_websockify(procs, vnc_port)

        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        call_command("migrate", interactive=False, verbosity=0)
        console = build_console(vnc_port)
        portal_port = start_portal(procs, args.asgi_app, args.uvicorn_arg)
        print(f"set up in {time.perf_counter() - started:.1f} s: VNC server {args.width}x{args.height}x4 "
              f"({args.width * args.height * 4 / MIB:.1f} MiB per full update), websockify, "
              f"uvicorn {' '.join([args.asgi_app, *args.uvicorn_arg])}; temporary directory {workdir}")
        started = time.perf_counter()
        paths = make_paths(vnc_port, websockify_port, portal_port, console)
        figures = asyncio.run(run(paths, args))
        print(f"measured in {time.perf_counter() - started:.1f} s: throughput {args.repeat} x {args.updates} "
              f"full updates per path (median, range), latency {args.rounds} round trips per path")
        report(figures)
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
