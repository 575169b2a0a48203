"""The browser console end to end: Chromium (Playwright, the system browser) opens the console page of the tiny
guest running on a real libvirtd, noVNC connects through the portal's WebSocket proxy to QEMU's VNC server
(password set by the agent), the screen is drawn, and keys typed in the page run a command in the guest:
`echo CONSOLE-OK > /dev/ttyS0`, found in the guest's serial log. The page's serial view shows it too. Then the
VM is live-migrated to the other host: the page reconnects by itself and typing still reaches the guest.

The portal runs for real (uvicorn, the ASGI application) on the test's PostgreSQL database, with the lab's
agent process serving both hosts (tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connections as databases
from django.test import Client
from playwright.sync_api import BrowserContext, Page, sync_playwright

from accounts import crypto
from accounts.models import User
from compute import services as compute_services
from compute.models import VirtualMachine
from compute.services_console import VNC_PASSWORD_PURPOSE
from compute.services_migration import vm_migrate
from infrastructure import hypervisor as hv
from portal.logmask import MASK
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, free_port, stop
from tests.e2e.conftest import Console, Lab, shared_pool
from tests.support.agent import shared_database_url, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A non-blank screen: some pixel of the canvas differs from the first one.
CANVAS_DRAWN = """() => {
  const canvas = document.querySelector('#console-screen canvas');
  if (!canvas || !canvas.width || !canvas.height) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 4; i < data.length; i += 4) {
    if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) return true;
  }
  return false;
}"""


@contextmanager
def portal_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The ASGI application under uvicorn, as `manage.py serve` runs it, on the tests' database."""
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "CIRROSTACK_LOG_LEVEL": "INFO"}
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1",
                                 "--port", str(port), "--ws-per-message-deflate", "false"],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/login/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, timeout=60, what="uvicorn serving the portal", process=proc)
        yield base, log_path
    finally:
        stop(proc)


def sign_in(context: BrowserContext, base: str, user: User) -> None:
    """A logged-in browser: a real session in the database, its cookie in the browser. (The tests' fast password
    hasher is not one the served portal accepts, so the login form is not used here; tests/browser covers it.)"""
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])


def console_sessions(page: Page) -> int:
    return int(page.locator("#console").get_attribute("data-connections") or 0)


def wait_connected(page: Page, *, after: int) -> None:
    """Until the page's console has connected more than `after` times and is connected now."""
    page.wait_for_function(
        f"""() => {{ const root = document.getElementById('console');
                    return root.dataset.state === 'connected' && Number(root.dataset.connections || 0) > {after}; }}""",
        timeout=60_000)


def type_into_guest(page: Page, text: str) -> None:
    """Key by key, holding Shift where a US keyboard needs it: a person's browser sends that Shift press too,
    and QEMU goes by the scan codes noVNC forwards, so a capital sent alone would arrive in lower case."""
    page.locator("#console-screen canvas").click()
    for char in text:
        if char.isupper():
            page.keyboard.press(f"Shift+Key{char}")
        elif char == ">":
            page.keyboard.press("Shift+Period")
        else:
            page.keyboard.type(char)
        page.wait_for_timeout(20)
    page.keyboard.press("Enter")


def paste_into_guest(page: Page, text: str) -> None:
    """The page's "Paste text": typed as key presses, Shift held where the character needs it."""
    page.locator(".console-paste summary").click()
    page.fill("#console-paste-text", text)
    page.click("#console-paste-send")


def test_the_console_of_a_real_guest_types_into_it_and_follows_a_live_migration(lab: Lab, tmp_path, monkeypatch):
    # Playwright's sync API leaves an asyncio loop marked running in this thread while it is started; the ORM
    # calls below are ordinary synchronous ones, which Django's guard would refuse because of that marker.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shared_pool(lab)
    vm, job = compute_services.vm_deploy(caller=lab.user, zone=lab.hosts["a"].zone, service_offering=lab.offering,
                                         template=lab.template, name="console1")
    lab.vms.append(vm)
    lab.wait(job, "the deploy job", timeout=120)
    first = lab.runs_on(vm)
    other = "b" if first == "a" else "a"
    serial = Console(vm)
    serial.wait_boots(1)

    # The agent gave the domain a password and recorded it; VNC listens on the host's console address only.
    vm.refresh_from_db()
    endpoint = hv.vnc_endpoint(lab.hosts[first].url, vm.instance_name)
    assert endpoint is not None and len(endpoint.password or "") == 8 and vm.vnc_port == endpoint.port
    assert crypto.decrypt(vm.vnc_password_encrypted, purpose=VNC_PASSWORD_PURPOSE) == endpoint.password
    assert "listen='127.0.0.1'" in hv.domain_xml(lab.hosts[first].url, vm.instance_name)

    with portal_server(tmp_path) as (base, log_path), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            sign_in(context, base, lab.user)
            page = context.new_page()
            page.goto(f"{base}/vms/{vm.uuid}/")
            with page.context.expect_page() as opened:
                page.get_by_role("link", name=re.compile("Console")).first.click()
            console = opened.value
            wait_connected(console, after=0)
            console.wait_for_function(CANVAS_DRAWN, timeout=30_000)
            assert endpoint.password not in console.content()

            type_into_guest(console, "echo CONSOLE-OK > /dev/ttyS0")
            wait_for(lambda: "CONSOLE-OK" in serial.text(), timeout=30,
                     what="CONSOLE-OK typed in the browser, in the guest's serial log")
            # The typed line itself is on the VGA screen only: the serial log has the command's output.
            assert "echo CONSOLE-OK" not in serial.text()

            paste_into_guest(console, "echo PASTED-OK > /dev/ttyS0\n")
            wait_for(lambda: "PASTED-OK" in serial.text(), timeout=30,
                     what="PASTED-OK pasted in the browser, in the guest's serial log")

            console.click("#console-serial-read")
            console.wait_for_function(
                "() => document.getElementById('console-serial-text').textContent.includes('CONSOLE-OK')",
                timeout=60_000)

            before = console_sessions(console)
            job = vm_migrate(caller=lab.admin, vm=vm, host=lab.hosts[other])
            lab.wait(job, "the migration job", timeout=120)
            assert lab.runs_on(vm) == other
            wait_connected(console, after=before)
            vm.refresh_from_db()
            assert vm.host_id == lab.hosts[other].pk
            type_into_guest(console, "echo MIGRATED-OK > /dev/ttyS0")
            wait_for(lambda: "MIGRATED-OK" in serial.text(), timeout=30,
                     what="MIGRATED-OK typed after the migration, in the guest's serial log")
            assert serial.boots() == 1  # the same guest, never rebooted
        finally:
            browser.close()
            # The ORM calls made while Playwright ran opened connections of their own (Django's connections
            # are per asyncio context, and Playwright marks one running): close them, or they outlive the test.
            databases.close_all()
    log = log_path.read_text(errors="replace")
    tickets = re.findall(r"token=([^&\s\"']+)", log)
    assert tickets and set(tickets) == {MASK}, "console tickets must appear masked in the server log"
    assert VirtualMachine.objects.get(pk=vm.pk).state == "Running"
