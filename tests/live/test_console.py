"""/ws/console/ end to end through the ASGI application (origin check, session middleware, the consumer) to a
real RFB server standing in for QEMU's VNC: the proxy authenticates with the VM's password, speaks RFB to the
"browser" without one, relays keys, and refuses or closes whenever the ticket, the session, the permission or
the VM's placement says so."""

from __future__ import annotations

import asyncio
import struct
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from compute import consumers
from compute.models import ConsoleToken, VirtualMachine
from compute.services_console import console_fields, console_token_create, token_hash
from compute.services_grants import vm_grant, vm_revoke
from compute.states import VmState
from infrastructure.hypervisor import VncEndpoint
from portal.asgi import application
from portal.errors import PermissionDenied
from tests import factories
from tests.live.conftest import ORIGIN, run
from tests.support.rfb_server import HEIGHT, WIDTH, RfbServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vnc():
    server = RfbServer(password="pw-1234").start()
    yield server
    server.stop()


@pytest.fixture
def fast_checks(settings):
    settings.CIRROSTACK_CONSOLE_RECHECK_SECONDS = 0.1
    return settings


@pytest.fixture
def vm(console_vm, vnc):
    """alice's running VM (on the simulator), its console pointed at the test VNC server."""
    point_console(console_vm, vnc)
    return console_vm


def point_console(vm: VirtualMachine, server: RfbServer, password: str | None = None) -> None:
    endpoint = VncEndpoint(port=server.port, password=password or server.password)
    VirtualMachine.objects.filter(pk=vm.pk).update(**console_fields(endpoint))
    vm.refresh_from_db()


class Browser:
    """A signed-in browser: its Django test client holds the session the WebSocket presents."""

    def __init__(self, user) -> None:
        self.client = Client()
        self.client.force_login(user)
        self.user = user

    @property
    def cookie(self) -> bytes:
        return f"sessionid={self.client.cookies['sessionid'].value}".encode()

    def socket(self, token: str, *, origin: bytes = ORIGIN, path: str = "/ws/console/",
               root_path: str = "") -> WebsocketCommunicator:
        headers = [(b"origin", origin), (b"host", b"testserver"), (b"cookie", self.cookie)]
        communicator = WebsocketCommunicator(application, f"{root_path}{path}?token={token}", headers=headers)
        communicator.scope["root_path"] = root_path
        return communicator


async def read_bytes(communicator: WebsocketCommunicator, count: int, timeout: float = 5) -> bytes:
    """Exactly `count` bytes of the stream, whatever the frames (the rest waits for the next read)."""
    data = getattr(communicator, "unread", b"")
    while len(data) < count:
        message = await communicator.receive_output(timeout)
        assert message["type"] == "websocket.send", message
        data += message["bytes"]
    communicator.unread = data[count:]
    return data[:count]


async def rfb_handshake(communicator: WebsocketCommunicator) -> bytes:
    """What noVNC does: version 3.8, security None (the only type offered), ClientInit; returns ServerInit."""
    connected, code = await communicator.connect(timeout=5)
    assert connected, f"refused with {code}"
    assert await read_bytes(communicator, 12) == b"RFB 003.008\n"
    await communicator.send_to(bytes_data=b"RFB 003.008\n")
    assert await read_bytes(communicator, 2) == b"\x01\x01"  # one type: None; no password to the browser
    await communicator.send_to(bytes_data=b"\x01")
    assert await read_bytes(communicator, 4) == b"\x00\x00\x00\x00"
    await communicator.send_to(bytes_data=b"\x01")  # ClientInit, shared
    init = await read_bytes(communicator, 24)
    (name_length,) = struct.unpack(">I", init[20:24])
    return init + await read_bytes(communicator, name_length)


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    """Drain frames until the server closes the socket; its close code."""
    while True:
        message = await communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            return message.get("code", 1000)


def key(sym: int, down: bool = True) -> bytes:
    return struct.pack(">BBxxI", 4, int(down), sym)


def ticket(user, vm) -> str:
    return console_token_create(caller=user, vm=vm)[0]


def test_console_relays_to_the_vms_vnc_server_with_its_password(cloud, vm, vnc):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        communicator = browser.socket(token)
        init = await rfb_handshake(communicator)
        assert struct.unpack(">HH", init[:4]) == (WIDTH, HEIGHT)
        assert init.endswith(b"cirrostack-test")
        for char in "ok":
            await communicator.send_to(bytes_data=key(ord(char)) + key(ord(char), down=False))
        # A framebuffer update request gets the server's pixels back through the proxy.
        await communicator.send_to(bytes_data=struct.pack(">BBHHHH", 3, 0, 0, 0, WIDTH, HEIGHT))
        update = await read_bytes(communicator, 16 + WIDTH * HEIGHT * 4)
        assert update[16:20] != b"\x00\x00\x00\x00"
        await communicator.disconnect()
    run(scenario)
    assert vnc.typed() == "ok" and vnc.auth_failures == 0
    assert ConsoleToken.objects.get(token_hash=token_hash(token)).used is not None


def test_a_ticket_is_single_use(cloud, vm):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        first = browser.socket(token)
        await rfb_handshake(first)
        second = browser.socket(token)
        connected, _code = await second.connect(timeout=5)
        assert not connected
        await first.disconnect()
    run(scenario)


def test_an_expired_ticket_is_refused(cloud, vm):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)
    ConsoleToken.objects.filter(token_hash=token_hash(token)).update(expires=timezone.now() - timedelta(seconds=1))

    async def scenario():
        connected, _code = await browser.socket(token).connect(timeout=5)
        assert not connected
    run(scenario)
    assert ConsoleToken.objects.get(token_hash=token_hash(token)).used is None


def test_another_users_ticket_is_refused_and_stays_its_owners(cloud, vm, vnc):
    token = ticket(cloud.alice, vm)
    alice, bob = Browser(cloud.alice), Browser(cloud.bob)

    async def scenario():
        connected, _code = await bob.socket(token).connect(timeout=5)
        assert not connected
        await rfb_handshake(alice.socket(token))
    run(scenario)
    assert vnc.clients == 1


@pytest.mark.parametrize("token", ["", "not-a-ticket"])
def test_a_missing_or_made_up_ticket_is_refused(cloud, vm, token):
    browser = Browser(cloud.alice)

    async def scenario():
        connected, _code = await browser.socket(token).connect(timeout=5)
        assert not connected
    run(scenario)


def test_a_wrong_origin_is_refused_and_the_ticket_is_not_spent(cloud, vm):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        connected, _code = await browser.socket(token, origin=b"http://evil.example").connect(timeout=5)
        assert not connected
    run(scenario)
    assert ConsoleToken.objects.get(token_hash=token_hash(token)).used is None


def test_a_logged_out_session_is_refused(cloud, vm):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)
    communicator = browser.socket(token)  # with the cookie the browser still sends after logging out
    browser.client.logout()

    async def scenario():
        connected, code = await communicator.connect(timeout=5)
        assert not connected and code == consumers.CLOSE_LOGGED_OUT
    run(scenario)


def test_logging_out_closes_an_open_console(cloud, vm, fast_checks):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)
    session_key = browser.client.cookies["sessionid"].value

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        # The logout view flushes the session; done directly, as another process's request would.
        await database_sync_to_async(SessionStore(session_key).delete)()
        assert await closed_with(communicator) == consumers.CLOSE_LOGGED_OUT
    run(scenario)


def test_a_console_only_grant_is_enough_and_losing_it_closes_the_console(cloud, vm, fast_checks):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    browser = Browser(cloud.bob)
    token = ticket(cloud.bob, vm)

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        await database_sync_to_async(vm_revoke)(caller=cloud.alice, vm=vm, grantee=cloud.bob,
                                                 permission="console")
        assert await closed_with(communicator) == consumers.CLOSE_FORBIDDEN
    run(scenario)
    with pytest.raises(PermissionDenied):
        ticket(cloud.bob, vm)


def test_nothing_less_than_a_console_grant_opens_it(cloud, vm):
    with pytest.raises(PermissionDenied):
        ticket(cloud.bob, vm)
    other_domain_admin = factories.UserFactory(account__account_type=Account.Type.DOMAIN_ADMIN,
                                               account__domain=factories.DomainFactory(name="elsewhere"))
    with pytest.raises(PermissionDenied):
        ticket(other_domain_admin, vm)


def test_a_ticket_minted_before_the_grant_was_revoked_is_refused(cloud, vm):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    token = ticket(cloud.bob, vm)
    vm_revoke(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    bob = Browser(cloud.bob)

    async def scenario():
        connected, _code = await bob.socket(token).connect(timeout=5)
        assert not connected
    run(scenario)


def test_stopping_the_vm_closes_the_console(cloud, vm, vnc, fast_checks):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        await database_sync_to_async(VirtualMachine.objects.filter(pk=vm.pk).update)(
            state=VmState.STOPPED, host=None, **console_fields(None))
        vnc.drop_clients()  # QEMU exits with the guest
        assert await closed_with(communicator) == consumers.CLOSE_STOPPED
    run(scenario)


def test_a_vm_that_moved_closes_with_the_reconnect_code_and_a_new_ticket_reaches_it(cloud, vm, vnc, fast_checks):
    """What a migration looks like from the console: the VM's port (and host) change; the page reconnects."""
    target = RfbServer(password="other-pw").start()
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)
    try:
        async def scenario():
            communicator = browser.socket(token)
            await rfb_handshake(communicator)
            await database_sync_to_async(point_console)(vm, target)
            assert await closed_with(communicator) == consumers.CLOSE_MOVED
            again = browser.socket(await database_sync_to_async(ticket)(cloud.alice, vm))
            await rfb_handshake(again)
            await again.disconnect()
        run(scenario)
        assert target.clients == 1 and target.auth_failures == 0
    finally:
        target.stop()


def test_a_lost_vnc_connection_closes_with_the_reconnect_code(cloud, vm, vnc, fast_checks):
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        vnc.drop_clients()
        assert await closed_with(communicator) == consumers.CLOSE_VNC_LOST
    run(scenario)


def test_a_wrong_vnc_password_refuses_the_handshake(cloud, vm, vnc):
    point_console(vm, vnc, password="not-it")
    token = ticket(cloud.alice, vm)
    browser = Browser(cloud.alice)

    async def scenario():
        connected, _code = await browser.socket(token).connect(timeout=5)
        assert not connected
    run(scenario)
    assert vnc.auth_failures == 1


def test_an_idle_console_closes_and_input_keeps_it_open(cloud, vm, settings, fast_checks):
    settings.CIRROSTACK_CONSOLE_IDLE_TIMEOUT = 0.6
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        for _ in range(6):  # 1.2 s of typing: longer than the timeout, never idle for it
            await communicator.send_to(bytes_data=key(0x61) + key(0x61, down=False))
            await asyncio.sleep(0.2)
        assert await communicator.receive_nothing(0.1)
        # Frame requests alone are not input (noVNC sends them by itself).
        request = struct.pack(">BBHHHH", 3, 1, 0, 0, 1, 1)
        await communicator.send_to(bytes_data=request)
        assert await closed_with(communicator, timeout=3) == consumers.CLOSE_IDLE
    run(scenario)


def test_the_console_works_under_a_path_prefix(cloud, vm, vnc):
    """Behind a reverse proxy mounting the portal at /cloud, the ASGI server passes root_path=/cloud and the
    full path; the consumer is still found and relays."""
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)

    async def scenario():
        communicator = browser.socket(token, root_path="/cloud")
        await rfb_handshake(communicator)
        await communicator.disconnect()
    run(scenario)
    assert vnc.clients == 1


def test_typing_in_the_console_keeps_the_session_alive(cloud, vm, fast_checks, monkeypatch):
    monkeypatch.setattr(consumers, "SESSION_TOUCH_SECONDS", 0.0)
    browser = Browser(cloud.alice)
    token = ticket(cloud.alice, vm)
    session_key = browser.client.cookies["sessionid"].value

    async def scenario():
        communicator = browser.socket(token)
        await rfb_handshake(communicator)
        # (Connecting saved the session like any request does.) Close to expiring now:
        await database_sync_to_async(Session.objects.filter(session_key=session_key).update)(
            expire_date=timezone.now() + timedelta(seconds=5))
        await asyncio.sleep(0.3)  # no input yet: the session is left as it is
        assert (await database_sync_to_async(expiry)(session_key) - timezone.now()).total_seconds() < 5
        await communicator.send_to(bytes_data=key(0x61) + key(0x61, down=False))
        await asyncio.sleep(0.4)
        assert (await database_sync_to_async(expiry)(session_key) - timezone.now()).total_seconds() > 60
        await communicator.disconnect()
    run(scenario)


def expiry(session_key: str):
    return Session.objects.get(session_key=session_key).expire_date
