"""compute.rfb on its own: VNC authentication against a real RFB server, the refusals, and the scanner that
tells input from the frame requests noVNC sends by itself (the idle timeout's basis)."""

from __future__ import annotations

import asyncio
import struct

import pytest

from compute import rfb
from tests.support.rfb_server import RfbServer


async def _authenticate(server: RfbServer, password: str) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        await rfb.authenticate(reader, writer, password)
    finally:
        writer.close()


@pytest.fixture
def server():
    server = RfbServer(password="Ab3dE6gH").start()
    yield server
    server.stop()


def test_authenticates_with_the_right_password(server):
    asyncio.run(_authenticate(server, "Ab3dE6gH"))
    assert server.auth_failures == 0


def test_a_wrong_password_is_an_rfb_error_with_the_servers_reason(server):
    with pytest.raises(rfb.RfbError, match="Authentication failed"):
        asyncio.run(_authenticate(server, "wrong"))
    assert server.auth_failures == 1


def test_a_password_for_a_server_without_one_is_refused():
    server = RfbServer(password=None).start()
    try:
        with pytest.raises(rfb.RfbError, match="security types"):
            asyncio.run(_authenticate(server, "something"))
        asyncio.run(_authenticate(server, ""))  # none needed, none given: fine
    finally:
        server.stop()


def test_the_des_key_uses_eight_mirrored_password_bytes():
    challenge = bytes(range(16))
    # Only the first 8 characters count, as in every VNC server.
    assert rfb.vnc_auth_response("12345678", challenge) == rfb.vnc_auth_response("123456789", challenge)
    assert rfb.vnc_auth_response("12345678", challenge) != rfb.vnc_auth_response("12345679", challenge)
    assert len(rfb.vnc_auth_response("a", challenge)) == 16


def key_event(sym: int) -> bytes:
    return struct.pack(">BBxxI", 4, 1, sym)


FRAME_REQUEST = struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 480)
SET_ENCODINGS = struct.pack(">BxH", 2, 3) + struct.pack(">iii", 0, 1, -223)
POINTER = struct.pack(">BBHH", 5, 0, 10, 10)
QEMU_KEY = struct.pack(">BBHII", 255, 0, 1, 0x61, 30)


def test_frame_requests_and_encodings_are_not_input():
    scanner = rfb.ClientMessageScanner(client_init=False)
    assert not scanner.feed(SET_ENCODINGS + FRAME_REQUEST + FRAME_REQUEST)
    assert not scanner.lost


@pytest.mark.parametrize("message", [key_event(0x61), POINTER, QEMU_KEY,
                                     struct.pack(">Bxxxi", 6, 3) + b"abc"])
def test_keys_pointer_and_clipboard_are_input(message):
    assert rfb.ClientMessageScanner(client_init=False).feed(FRAME_REQUEST + message)


def test_messages_split_across_frames_are_followed():
    scanner = rfb.ClientMessageScanner(client_init=False)
    stream = FRAME_REQUEST + key_event(0x62) + FRAME_REQUEST
    assert not scanner.feed(stream[:5])
    assert not scanner.feed(stream[5:12])  # the key event is not complete yet
    assert scanner.feed(stream[12:20])
    assert not scanner.feed(stream[20:])
    assert not scanner.lost


def test_the_relay_starts_with_client_init_which_is_not_input():
    scanner = rfb.ClientMessageScanner()
    assert not scanner.feed(b"\x01")  # ClientInit: shared
    assert not scanner.feed(SET_ENCODINGS + FRAME_REQUEST)
    assert scanner.feed(key_event(0x61)) and not scanner.lost


def test_an_unknown_message_makes_everything_count_as_input():
    scanner = rfb.ClientMessageScanner(client_init=False)
    assert scanner.feed(b"\x63" + b"\x00" * 5)
    assert scanner.lost
    assert scanner.feed(FRAME_REQUEST)  # later frame requests too: idle can only fire late, never early
