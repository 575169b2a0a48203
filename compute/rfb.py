"""The bits of the RFB (VNC) protocol the console proxy speaks itself.

The proxy stands between two RFB handshakes. Towards the VM's VNC server it is the client and answers the
VNC-authentication challenge with the password the agent recorded; towards the browser it is the server and
offers no authentication, because the browser already proved who it is (session + single-use ticket). After
both handshakes it relays bytes unchanged. So the password never leaves the portal's processes, and noVNC needs
no configuration.

ClientMessageScanner follows the browser's messages just enough to tell input (keys, pointer, clipboard)
from the frame requests noVNC sends on its own, which is what the idle timeout needs.
RFC 6143 is the reference; the extensions are those noVNC sends (QEMU extended key events and audio, fences,
continuous updates, desktop size).
"""

from __future__ import annotations

import asyncio
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

PROTOCOL_VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
SECURITY_VNC = 2
SECURITY_OK = b"\x00\x00\x00\x00"
HANDSHAKE_TIMEOUT = 10.0


class RfbError(Exception):
    """The VNC server did not complete the handshake (wrong password, unsupported security, garbage)."""


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """RFB's VNC authentication: the 16-byte challenge DES-encrypted with the password as key (its first 8
    bytes, zero-padded, each byte's bits mirrored: a quirk of the original implementation every server follows).
    A 24-byte key of three equal thirds makes TripleDES single DES."""
    key = bytes(_reverse_bits(b) for b in password.encode("latin-1", "replace")[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305 (the protocol fixes DES-ECB)
    return encryptor.update(challenge) + encryptor.finalize()


async def _read(reader: asyncio.StreamReader, count: int) -> bytes:
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError as exc:
        raise RfbError("the VNC server closed the connection during the handshake") from exc


async def _failure_reason(reader: asyncio.StreamReader) -> str:
    (length,) = struct.unpack(">I", await _read(reader, 4))
    return (await _read(reader, min(length, 4096))).decode("utf-8", "replace")


async def authenticate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, password: str) -> None:
    """Run the client side of the handshake up to a successful security result; RfbError otherwise. What the
    server sends next (ServerInit, after the ClientInit the browser sends) is relayed, not read here."""
    version = await _read(reader, 12)
    if not version.startswith(b"RFB 003."):
        raise RfbError("not an RFB server")
    minor = int(version[8:11]) if version[8:11].isdigit() else 0
    if minor < 7:
        # 3.3: the server picks the security type alone (a 32-bit number), without a result for "none".
        writer.write(b"RFB 003.003\n")
        await writer.drain()
        (chosen,) = struct.unpack(">I", await _read(reader, 4))
        if chosen == 0:
            raise RfbError(await _failure_reason(reader))
        offered = [chosen]
    else:
        writer.write(PROTOCOL_VERSION)
        await writer.drain()
        (count,) = await _read(reader, 1)
        if count == 0:
            raise RfbError(await _failure_reason(reader))
        offered = list(await _read(reader, count))
    if password and SECURITY_VNC in offered:
        chosen = SECURITY_VNC
    elif not password and SECURITY_NONE in offered:
        chosen = SECURITY_NONE
    else:
        raise RfbError(f"the VNC server offers security types {offered}, not the one its password needs")
    if minor >= 7:
        writer.write(bytes([chosen]))
        await writer.drain()
    if chosen == SECURITY_VNC:
        writer.write(vnc_auth_response(password, await _read(reader, 16)))
        await writer.drain()
    if chosen == SECURITY_VNC or minor >= 8:
        result = await _read(reader, 4)
        if result != SECURITY_OK:
            reason = await _failure_reason(reader) if minor >= 8 else ""
            raise RfbError(f"the VNC server refused the password {reason}".strip())


# The browser's side of the proxy's own handshake: version, then the one security type offered (None).
BROWSER_SECURITY_OFFER = bytes([1, SECURITY_NONE])

# Client-to-server message types: fixed lengths, and which of them a person causes.
_FIXED = {0: 20, 3: 10, 4: 8, 5: 6, 150: 10, 250: 4}
_INPUT = {4, 5, 6}


class ClientMessageScanner:
    """Splits the browser's byte stream into RFB client messages across WebSocket frames, and reports
    whether any of them was input. Once it meets a message it does not know, it stops parsing and counts
    all further traffic as input: the idle timeout may then fire later than it should, never earlier."""

    def __init__(self, *, client_init: bool = True) -> None:
        self._buffer = b""
        self.lost = False
        # The relay starts with ClientInit (one byte, the shared flag), which is no message of the stream.
        self._skip = 1 if client_init else 0

    def feed(self, data: bytes) -> bool:
        """True when ``data`` completes any input message (or the scanner lost track)."""
        if self.lost:
            return True
        if self._skip:
            skipped, data = data[: self._skip], data[self._skip :]
            self._skip -= len(skipped)
        self._buffer += data
        saw_input = False
        while self._buffer:
            length, is_input = self._next_length()
            if length is None:
                break  # incomplete: wait for more bytes
            if length < 0:
                self.lost, self._buffer = True, b""
                return True
            self._buffer = self._buffer[length:]
            saw_input = saw_input or is_input
        return saw_input

    def _next_length(self) -> tuple[int | None, bool]:
        buf = self._buffer
        kind = buf[0]
        if kind in _FIXED:
            length = _FIXED[kind]
        elif kind == 2 and len(buf) >= 4:  # SetEncodings
            length = 4 + 4 * struct.unpack(">H", buf[2:4])[0]
        elif kind == 6 and len(buf) >= 8:  # ClientCutText (negative length: extended clipboard)
            length = 8 + abs(struct.unpack(">i", buf[4:8])[0])
        elif kind == 248 and len(buf) >= 9:  # ClientFence
            length = 9 + buf[8]
        elif kind == 251 and len(buf) >= 8:  # SetDesktopSize
            length = 8 + 16 * buf[6]
        elif kind == 255 and len(buf) >= 2:  # QEMU: extended key event, audio
            if buf[1] == 0:
                return (12 if len(buf) >= 12 else None), True
            if buf[1] == 1 and len(buf) >= 4:
                length = 10 if struct.unpack(">H", buf[2:4])[0] == 2 else 4
            elif buf[1] == 1:
                return None, False
            else:
                return -1, True
        elif kind in (2, 6, 248, 251, 255):
            return None, False
        else:
            return -1, True
        if len(buf) < length:
            return None, False
        return length, kind in _INPUT
