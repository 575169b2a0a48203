"""The portal behind a reverse proxy, mounted under a path prefix, over https: nginx runs the configuration
documented in docs/deploy/nginx.conf (only its ports, certificate and server name replaced for this machine),
the portal runs as `manage.py serve` runs it with CIRROSTACK_URL_PREFIX=/cloud, and Chromium signs in at
https://127.0.0.1:PORT/cloud/, opens a VM's console over wss:// through nginx and types into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser

from portal.logmask import MASK
from portal.management.commands.serve import UVICORN_OPTIONS
from tests.browser.conftest import ADMIN_PASSWORD, REPO, Portal, free_port, served_portal, stop
from tests.browser.test_console import connected, make_vm, wait_until
from tests.support.requirements import require
from tests.support.rfb_server import RfbServer

# The test certificate is self-signed: requests is told not to verify it, and says so.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]

PREFIX = "/cloud"
DOCUMENTED = REPO / "docs" / "deploy" / "nginx.conf"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal served as `manage.py serve` serves it with CIRROSTACK_URL_PREFIX set (uvicorn's root path)."""
    with served_portal(tmp_path_factory.mktemp("portal"), uvicorn_args=(*UVICORN_OPTIONS, "--root-path", PREFIX),
                       env={"CIRROSTACK_URL_PREFIX": PREFIX, "CIRROSTACK_TRUSTED_PROXIES": "1"}) as server:
        yield server


def nginx_site(upstream_port: int, port: int, certificate: Path, key: Path) -> str:
    """docs/deploy/nginx.conf with this machine's ports and a test certificate; the rest as documented."""
    text = DOCUMENTED.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "server_name cloud.example.com;": "server_name 127.0.0.1;",
        "/etc/ssl/certs/cloud.example.com.pem": str(certificate),
        "/etc/ssl/private/cloud.example.com.key": str(key),
    }
    for documented, local in replacements.items():
        assert documented in text, f"docs/deploy/nginx.conf no longer has {documented!r}"
        text = text.replace(documented, local)
    return text


@pytest.fixture(scope="module")
def nginx(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists(), "nginx (Debian's nginx-light)")
    work = tmp_path_factory.mktemp("nginx")
    certificate, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)], check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    upstream = int(portal.base.rsplit(":", 1)[1])
    (work / "site.conf").write_text(nginx_site(upstream, port, certificate, key))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user}daemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log info;\nevents {{}}\n"
        f"http {{\n  access_log {work}/access.log;\n  client_body_temp_path {work}/body;\n"
        f"  proxy_temp_path {work}/proxy;\n  include {work}/site.conf;\n}}\n")
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([binary, "-p", str(work), "-c", str(work / "nginx.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"https://127.0.0.1:{port}{PREFIX}"

    def answers() -> bool:
        assert proc.poll() is None, (work / "error.log").read_text(errors="replace")
        try:
            return requests.get(f"{base}/login/", timeout=5, verify=False).status_code == 200  # noqa: S501
        except requests.ConnectionError:
            return False

    try:
        wait_until(answers, "nginx in front of the portal", timeout=30)
        yield base
    finally:
        stop(proc)


@pytest.fixture
def vnc() -> Iterator[RfbServer]:
    server = RfbServer(password="prx-pw1").start()
    yield server
    server.stop()


def test_the_console_works_behind_nginx_under_a_prefix_over_https(portal: Portal, nginx: str, browser: Browser,
                                                                   vnc: RfbServer):
    vm_id = make_vm(portal, "proxied1", vnc)
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda socket: sockets.append(socket.url))
        page.goto(f"{nginx}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", ADMIN_PASSWORD)
        page.locator(f"form[action='{PREFIX}/login/'] button[type=submit]").click()
        page.wait_for_url(f"{nginx}/")

        page.goto(f"{nginx}/vms/{vm_id}/")
        assert page.locator("a[data-vm-console]").get_attribute("href") == f"{PREFIX}/vms/{vm_id}/console/"
        page.goto(f"{nginx}/vms/{vm_id}/console/")
        connected(page)
        assert page.locator("#console").get_attribute("data-rfb-module").startswith(f"{PREFIX}/static/novnc/")
        consoles = [url for url in sockets if "/ws/console/" in url]
        host = nginx.split("//", 1)[1].split("/", 1)[0]
        assert consoles and consoles[0].startswith(f"wss://{host}{PREFIX}/ws/console/?token="), sockets
        assert vnc.clients == 1 and vnc.auth_failures == 0

        page.locator("#console-screen canvas").click()
        page.keyboard.type("px")
        wait_until(lambda: vnc.typed().endswith("px"), "keys typed behind the proxy at the VNC server")
    finally:
        context.close()
    # The ticket in the console's WebSocket address reached the portal's log masked only.
    web_log = (portal.logs / "web.log").read_text(errors="replace")
    assert f"{PREFIX}/ws/console/?token={MASK}" in web_log or f"/ws/console/?token={MASK}" in web_log
    token = consoles[0].split("token=", 1)[1]
    assert token not in web_log
