"""The console proxy: a WebSocket consumer relaying a browser's noVNC to the VM's VNC server on its host.

It runs in the portal's own ASGI process (portal.asgi: behind the allowed-origins check and the session
middleware), so there is no separate proxy daemon to deploy, configure or secure. A door like the views:

- connect: the session's user, and a single-use ticket from the query string (`?token=`), which
  compute.services_console.console_redeem spends and checks (the user's, unexpired, still allowed to open
  this VM's console). Anything wrong and the handshake is refused before it is accepted.
- it connects to the address and port the agent recorded for the VM and passes VNC authentication with the
  VM's password (compute.rfb), then offers the browser an RFB session without authentication, and relays.
- every RECHECK seconds it asks again: is the session still logged in, may the user still open this console,
  is the VM still running where we connected? It closes with a code the page acts on (CLOSE_* below):
  MOVED makes the page fetch a new ticket and reconnect (to the VM's new host after a migration); the others
  are final. No input (keys, pointer, clipboard) for IDLE_TIMEOUT seconds closes it too.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from compute import rfb
from compute.services_console import FORBIDDEN, MOVED, STOPPED, ConsoleTarget, console_redeem, console_verdict
from portal.errors import NotAuthenticated, PermissionDenied, ServiceError

logger = logging.getLogger(__name__)

# Close codes (application range 4000-4999), read by static/console/console.js.
CLOSE_MOVED = 4000  # reconnect: the VM runs elsewhere now
CLOSE_VNC_LOST = 4001  # reconnect: the VNC server went away (QEMU exited, host unreachable)
CLOSE_LOGGED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_STOPPED = 4404
CLOSE_IDLE = 4408
VERDICT_CODES = {MOVED: CLOSE_MOVED, STOPPED: CLOSE_STOPPED, FORBIDDEN: CLOSE_FORBIDDEN}

CONNECT_TIMEOUT = 5.0
# How often a console in use extends its session (a database write), at most.
SESSION_TOUCH_SECONDS = 60.0
# Large reads keep the per-message overhead of the relay low on full-screen updates.
READ_CHUNK = 256 * 1024


def recheck_seconds() -> float:
    return float(getattr(settings, "CIRROSTACK_CONSOLE_RECHECK_SECONDS", 2.0))


def idle_timeout_seconds() -> float:
    return float(getattr(settings, "CIRROSTACK_CONSOLE_IDLE_TIMEOUT", 900))


def session_alive(session_key: str | None, user_id: int, *, in_use: bool = False) -> bool:
    """Whether the browser's session still logs in this user: logging out deletes (flushes) it, and an idle
    session expires (CIRROSTACK_SESSION_TIMEOUT). A console in use counts as use of the session, as page
    requests do (SESSION_SAVE_EVERY_REQUEST): saving it again pushes its expiry back."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    alive = str(store.get(SESSION_KEY)) == str(user_id)
    if alive and in_use:
        store.save()
    return alive


class ConsoleConsumer(AsyncWebsocketConsumer):
    # Declared like the views': the action console_redeem and console_verdict authorize.
    authz_action = "vm.console"

    async def connect(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task] = []
        self.stage = "version"
        self.pending = b""
        self.scanner = rfb.ClientMessageScanner()
        self.last_input = time.monotonic()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_LOGGED_OUT)  # before accept(): the handshake is refused
            return
        token = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        try:
            target: ConsoleTarget = await database_sync_to_async(console_redeem)(caller=user, token=token)
        except (PermissionDenied, NotAuthenticated) as exc:
            logger.info("console refused for %s: %s", user.username, exc)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        except ServiceError as exc:
            logger.info("console unavailable for %s: %s", user.username, exc)
            await self.close(code=CLOSE_STOPPED)
            return
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(target.address, target.port), CONNECT_TIMEOUT)
            await asyncio.wait_for(rfb.authenticate(self.reader, self.writer, target.password),
                                   rfb.HANDSHAKE_TIMEOUT)
        except (OSError, TimeoutError, rfb.RfbError) as exc:
            logger.warning("console of VM %s: cannot reach its VNC server at %s:%s: %s",
                           target.vm_id, target.address, target.port, exc)
            self._close_upstream()
            await self.close(code=CLOSE_VNC_LOST)
            return
        self.target, self.user_id = target, user.pk
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        await self.accept()
        await self.send(bytes_data=rfb.PROTOCOL_VERSION)
        self.tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._watch())]

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a hop to a worker thread each time;
        # relayed bytes touch no database (the re-checks use database_sync_to_async, which does it itself), and
        # the hop nearly doubled the latency of every key press (benchmarks/console_proxy.py).
        if message["type"] == "websocket.receive" and self.stage == "relay":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        self._close_upstream()

    def _close_upstream(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if not bytes_data:
            return  # RFB is binary; text frames carry nothing for us
        if self.stage == "relay":
            await self._forward(bytes_data)
            return
        self.pending += bytes_data
        if self.stage == "version" and len(self.pending) >= 12:
            version, self.pending = self.pending[:12], self.pending[12:]
            if not version.startswith(b"RFB 003."):
                await self.close(code=CLOSE_FORBIDDEN)
                return
            self.minor = int(version[8:11]) if version[8:11].isdigit() else 0
            if self.minor < 7:  # 3.3: the server decides, as a 32-bit number, and sends no result for None
                await self.send(bytes_data=struct.pack(">I", rfb.SECURITY_NONE))
                self.stage = "relay"
            else:
                await self.send(bytes_data=rfb.BROWSER_SECURITY_OFFER)
                self.stage = "security"
        if self.stage == "security" and self.pending:
            chosen, self.pending = self.pending[0], self.pending[1:]
            if chosen != rfb.SECURITY_NONE:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            if self.minor >= 8:  # 3.7 sends no security result for None
                await self.send(bytes_data=rfb.SECURITY_OK)
            self.stage = "relay"
        if self.stage == "relay" and self.pending:
            data, self.pending = self.pending, b""
            await self._forward(data)

    async def _forward(self, data: bytes) -> None:
        if self.writer is None:
            return
        if self.scanner.feed(data):
            self.last_input = time.monotonic()
        self.writer.write(data)
        try:
            await self.writer.drain()
        except ConnectionError as exc:
            logger.info("console of VM %s: VNC connection lost while sending: %s", self.target.vm_id, exc)
            await self.close(code=CLOSE_VNC_LOST)

    async def _pump(self) -> None:
        """VNC server -> browser, until the server closes (QEMU exited: stop, migration, crash)."""
        assert self.reader is not None
        try:
            while chunk := await self.reader.read(READ_CHUNK):
                await self.send(bytes_data=chunk)
        except ConnectionError as exc:
            logger.info("console of VM %s: VNC connection lost: %s", self.target.vm_id, exc)
        await self.close(code=await self._closing_code(CLOSE_VNC_LOST))

    async def _closing_code(self, default: int) -> int:
        """Why the VNC server went away, as far as the database already knows."""
        verdict = await database_sync_to_async(console_verdict)(user_id=self.user_id, target=self.target)
        return VERDICT_CODES.get(verdict, default) if verdict else default

    async def _watch(self) -> None:
        """The periodic re-check: session, permission, VM placement, idleness."""
        interval, idle = recheck_seconds(), idle_timeout_seconds()
        touched = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            # Input since the session was last pushed back, and a minute since then: push it back again.
            in_use = self.last_input > touched and time.monotonic() - touched > SESSION_TOUCH_SECONDS
            if in_use:
                touched = time.monotonic()
            if not await database_sync_to_async(session_alive)(self.session_key, self.user_id, in_use=in_use):
                await self.close(code=CLOSE_LOGGED_OUT)
                return
            verdict = await database_sync_to_async(console_verdict)(user_id=self.user_id, target=self.target)
            if verdict is not None:
                await self.close(code=VERDICT_CODES[verdict])
                return
            if time.monotonic() - self.last_input > idle:
                await self.close(code=CLOSE_IDLE)
                return
