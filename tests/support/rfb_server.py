"""A small real RFB server for tests: it listens on a TCP port like QEMU's VNC server and speaks enough of the
protocol for the console proxy and noVNC: version 3.8, VNC authentication (or none), ServerInit, and a raw
framebuffer update of a solid colour for every update request. It records the key events it receives, so a
test can prove keystrokes travelled browser -> proxy -> VNC server.

It runs its own event loop in a thread, so it serves sync tests, async tests and browser tests alike.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
from dataclasses import dataclass, field

from compute.rfb import vnc_auth_response

WIDTH, HEIGHT = 64, 48
# 32 bits per pixel, depth 24, little-endian, true colour, 8 bits per channel (red at bit 16).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
COLOUR = bytes([0x40, 0xA0, 0xE0, 0x00])  # B, G, R, pad: a light orange-blue, anything but black


@dataclass
class RfbServer:
    password: str | None = "s3cret!x"
    host: str = "127.0.0.1"
    port: int = 0
    keys: list[tuple[int, bool]] = field(default_factory=list)
    clients: int = 0
    auth_failures: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _writers: set = field(default_factory=set)

    def start(self) -> RfbServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True, name="rfb-server").start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shut() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def drop_clients(self) -> None:
        """Close every open connection, as a QEMU that exits (stop, migration) does."""
        async def drop() -> None:
            for writer in list(self._writers):
                writer.close()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(10)

    def typed(self) -> str:
        """The printable characters received as key presses, in order."""
        return "".join(chr(sym) for sym, down in self.keys if down and 0x20 <= sym < 0x7F)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            writer.write(b"RFB 003.008\n")
            await reader.readexactly(12)
            if self.password:
                writer.write(b"\x01\x02")
                await reader.readexactly(1)
                challenge = os.urandom(16)
                writer.write(challenge)
                response = await reader.readexactly(16)
                if response != vnc_auth_response(self.password, challenge):
                    self.auth_failures += 1
                    reason = b"Authentication failed"
                    writer.write(b"\x00\x00\x00\x01" + struct.pack(">I", len(reason)) + reason)
                    await writer.drain()
                    return
            else:
                writer.write(b"\x01\x01")
                await reader.readexactly(1)
            writer.write(b"\x00\x00\x00\x00")
            await reader.readexactly(1)  # ClientInit
            name = b"cirrostack-test"
            writer.write(struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT + struct.pack(">I", len(name)) + name)
            self.clients += 1
            await writer.drain()
            await self._messages(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: nothing to clean up beyond closing
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _messages(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            kind = (await reader.readexactly(1))[0]
            if kind == 0:
                await reader.readexactly(19)
            elif kind == 2:
                _pad, count = struct.unpack(">BH", await reader.readexactly(3))
                await reader.readexactly(4 * count)
            elif kind == 3:
                await reader.readexactly(9)
                header = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, WIDTH, HEIGHT, 0)
                writer.write(header + COLOUR * (WIDTH * HEIGHT))
                await writer.drain()
            elif kind == 4:
                down, _pad, sym = struct.unpack(">BHI", await reader.readexactly(7))
                self.keys.append((sym, bool(down)))
            elif kind == 5:
                await reader.readexactly(5)
            elif kind == 6:
                _pad, length = struct.unpack(">3si", await reader.readexactly(7))
                await reader.readexactly(abs(length))
            elif kind == 255:
                sub = (await reader.readexactly(1))[0]
                if sub == 0:  # QEMU extended key event: down flag, keysym, scancode
                    down, sym, _code = struct.unpack(">HII", await reader.readexactly(10))
                    self.keys.append((sym, bool(down)))
                else:
                    raise ConnectionError(f"unsupported QEMU message {sub}")
            else:
                raise ConnectionError(f"unsupported client message {kind}")
