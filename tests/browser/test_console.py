"""The VM console in a real browser: the VM page's Console button opens noVNC in a new tab, which gets a ticket,
connects through the portal's WebSocket proxy (compute.consumers) to a real RFB server standing in for QEMU's
VNC (tests.support.rfb_server), draws the VM's screen, and sends what is typed on it, Ctrl-Alt-Del and pasted
text as key events that arrive at that server. When the VNC connection drops (QEMU exits: migration, restart)
the page gets a new ticket and reconnects by itself; when the VM stops it says so and stops trying.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import REPO, Portal, login
from tests.support.rfb_server import COLOUR, RfbServer

pytestmark = pytest.mark.browser

XK_CONTROL_L, XK_ALT_L, XK_DELETE = 0xFFE3, 0xFFE9, 0xFFFF

# Run in the portal's own environment (its SQLite database, its secret key, which encrypts the VNC password):
# deploy a VM as the demo's admin, with jobs run right away on the simulated host, then record a console for
# it as the agent does for a domain with VNC graphics, pointing at the test's RFB server.
MAKE_VM = """
import os
from accounts.models import User
from compute import services
from compute.models import ServiceOffering, VirtualMachine
from compute.services_console import console_fields
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import Zone
from storage.models import Template

vm, job = services.vm_deploy(caller=User.objects.get(username="admin"), zone=Zone.objects.get(name="Zone1"),
                              service_offering=ServiceOffering.objects.get(name="Small Instance"),
                              template=Template.objects.get(name="Tiny Linux"), name=os.environ["VM_NAME"])
vm.refresh_from_db()
job.refresh_from_db()
assert vm.state == "Running", (vm.state, job.result)
endpoint = VncEndpoint(port=int(os.environ["VNC_PORT"]), password=os.environ["VNC_PASSWORD"])
VirtualMachine.objects.filter(pk=vm.pk).update(**console_fields(endpoint))
print(vm.uuid)
"""


@pytest.fixture
def vnc() -> Iterator[RfbServer]:
    server = RfbServer(password="brw-pw1").start()
    yield server
    server.stop()


def make_vm(portal: Portal, name: str, vnc: RfbServer) -> str:
    # This process runs the deploy job itself, as an agent would: eagerly, allowed to open the test driver.
    env = {**portal.env, "CIRROSTACK_CELERY_EAGER": "1", "CIRROSTACK_HYPERVISOR_CONNECTIONS": "1",
           "VM_NAME": name, "VNC_PORT": str(vnc.port), "VNC_PASSWORD": vnc.password}
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", MAKE_VM], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def set_state(portal: Portal, vm_id: str, state: str) -> None:
    """As the agent would record a stop: straight in the portal's database (the test has its own)."""
    with closing(sqlite3.connect(portal.data_dir / "cirrostack.sqlite3", timeout=10)) as db:
        db.execute("UPDATE compute_virtualmachine SET state = ? WHERE uuid = ?", (state, vm_id.replace("-", "")))
        db.commit()
        assert db.total_changes == 1


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def connected(page: Page) -> None:
    page.wait_for_selector("#console[data-state='connected']", state="attached")
    assert page.locator("#console-status-text").inner_text() == "Connected"


def centre_pixel(page: Page) -> list[int]:
    """The RGBA of the middle of noVNC's canvas, as drawn from the framebuffer updates."""
    return page.evaluate("""() => {
        const canvas = document.querySelector('#console-screen canvas');
        const pixel = canvas.getContext('2d').getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
        return [canvas.width, canvas.height, ...pixel];
    }""")


def test_console_shows_the_screen_types_and_reconnects(portal: Portal, context: BrowserContext, vnc: RfbServer):
    vm_id = make_vm(portal, "console1", vnc)
    vm_page = context.new_page()
    login(vm_page, portal)
    vm_page.goto(f"{portal.base}/vms/{vm_id}/")
    button = vm_page.locator("a[data-vm-console]")
    assert button.get_attribute("target") == "_blank"
    with context.expect_page() as opened:
        button.click()
    page = opened.value
    page.wait_for_load_state()
    assert page.url == f"{portal.base}/vms/{vm_id}/console/"

    connected(page)
    assert vnc.clients == 1 and vnc.auth_failures == 0  # the proxy logged in with the VM's password
    # The test server's framebuffer is 64x48 of one colour, drawn on the canvas. (The server ignores noVNC's
    # SetPixelFormat, so noVNC reads its B, G, R bytes as R, G, B: either order is that colour.)
    colours = [[COLOUR[2], COLOUR[1], COLOUR[0], 255], [COLOUR[0], COLOUR[1], COLOUR[2], 255]]
    page.wait_for_function("""(colours) => {
        const canvas = document.querySelector('#console-screen canvas');
        if (!canvas || canvas.width < 2) { return false; }
        const pixel = canvas.getContext('2d').getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
        return colours.some((colour) => colour.every((value, index) => pixel[index] === value));
    }""", arg=colours, timeout=5000)
    width, height, *pixel = centre_pixel(page)
    assert (width, height) == (64, 48) and pixel in colours

    # Scaled to the window (the default) the 64x48 screen is drawn larger; unscaled, at its own size.
    drawn_width = "() => document.querySelector('#console-screen canvas').getBoundingClientRect().width"
    assert page.evaluate(drawn_width) > 64
    page.get_by_role("button", name="Scale to window").click()
    assert page.locator("#console-scale").get_attribute("aria-pressed") == "false"
    page.wait_for_function(f"() => ({drawn_width})() === 64")
    page.get_by_role("button", name="Scale to window").click()
    page.wait_for_function(f"() => ({drawn_width})() > 64")
    # Full screen shows the console (screen and toolbar) alone, and the same button leaves it.
    page.get_by_role("button", name="Full screen").click()
    page.wait_for_function("() => document.fullscreenElement && document.fullscreenElement.id === 'console'")
    page.get_by_role("button", name="Full screen").click()
    page.wait_for_function("() => document.fullscreenElement === null")

    # Typed on the canvas: key events through noVNC, the proxy, to the VNC server.
    page.locator("#console-screen canvas").click()
    page.keyboard.type("hello vm")
    wait_until(lambda: "hello vm" in vnc.typed(), "the typed text at the VNC server")

    page.get_by_role("button", name="Send Ctrl-Alt-Del").click()
    wait_until(lambda: {(XK_CONTROL_L, True), (XK_ALT_L, True), (XK_DELETE, True)} <= set(vnc.keys),
               "Ctrl-Alt-Del at the VNC server")
    presses = [sym for sym, down in vnc.keys if down]
    assert presses[-3:] == [XK_CONTROL_L, XK_ALT_L, XK_DELETE]

    page.locator("#console .console-paste summary").click()
    page.fill("#console-paste-text", "pasted: Line 1\nok")
    page.get_by_role("button", name="Type it").click()
    wait_until(lambda: "pasted: Line 1ok" in vnc.typed(), "the pasted text at the VNC server")
    assert (0xFF0D, True) in vnc.keys  # the newline, as Return
    assert page.locator("#console-paste-result").inner_text() == "Typed 17 characters."

    # QEMU goes away (as on a migration or restart): the page gets a new ticket and connects again by itself.
    page.evaluate("window.__sameLoad = true")
    vnc.drop_clients()
    wait_until(lambda: vnc.clients == 2, "the page to reconnect")
    connected(page)
    assert page.evaluate("window.__sameLoad") is True
    page.locator("#console-screen canvas").click()
    page.keyboard.type("again")
    wait_until(lambda: "again" in vnc.typed(), "typing after the reconnect")

    # The VM stops: the consumer's re-check closes the console for good, and the page says why.
    set_state(portal, vm_id, "Stopped")
    page.wait_for_selector("#console[data-state='disconnected']", state="attached")
    assert "The VM is not running any more." in page.locator("#console-status-text").inner_text()
    assert vnc.clients == 2
    # Reconnect asks for a ticket, which the portal refuses with its reason: shown, and no retrying.
    page.get_by_role("button", name="Reconnect").click()
    page.wait_for_function("() => document.querySelector('#console-status-text').textContent.includes('Stopped')")
    assert page.locator("#console").get_attribute("data-state") == "disconnected"
    assert page.get_by_role("button", name="Reconnect").is_visible()
    assert vnc.clients == 2


def test_console_page_opened_with_a_ticket_uses_it_once(portal: Portal, page: Page, vnc: RfbServer):
    """CloudStack's console URL carries a ticket: the page spends it on its first connection, and takes it out
    of the address bar; a dropped connection is then resumed with a ticket of its own."""
    vm_id = make_vm(portal, "console2", vnc)
    login(page, portal)
    ticket = page.evaluate("""async (url) => {
        const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken=')).split('=')[1];
        const response = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': csrf}});
        return (await response.json()).token;
    }""", f"/vms/{vm_id}/console/ticket/")
    tickets: list[str] = []
    page.on("request", lambda request: tickets.append(request.url) if request.url.endswith("/ticket/") else None)

    page.goto(f"{portal.base}/vms/{vm_id}/console/?token={ticket}")

    connected(page)
    assert tickets == [] and page.url == f"{portal.base}/vms/{vm_id}/console/"
    vnc.drop_clients()
    wait_until(lambda: vnc.clients == 2, "the page to reconnect")
    connected(page)
    assert len(tickets) == 1
