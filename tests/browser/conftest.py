"""Browser tests: Playwright drives the system Chromium (nothing is downloaded) against a portal served for
real, in the embedded default configuration: SQLite in a temporary data directory, the filesystem broker,
the in-memory channel layer, the simulated host.

The portal's processes are started one by one rather than through `manage.py serve`: the ASGI server
(uvicorn) for the whole module, the agent (the Celery worker running jobs) only when a test asks for it.
That is how a test can submit a job while no agent runs, see it pending, then start the agent and watch
the page follow the job, which the simulated host would otherwise finish within milliseconds.

Playwright is started here, per module, instead of by pytest-playwright's session fixtures (overridden
below: `playwright`, `browser`, `context`, `page`): while started, its synchronous API leaves an asyncio
loop marked as running in the main thread, and every later test of the session would then fail on ORM
calls (SynchronousOnlyOperation) and async_to_sync.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.requirements import require

REPO = Path(settings.BASE_DIR)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN_PASSWORD = "browser-test-password-1"
# Variables of the production configuration (or of the test run) the embedded portal must not inherit.
NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CIRROSTACK_HYPERVISOR_CONNECTIONS",
                 "CIRROSTACK_CELERY_EAGER", "DJANGO_SETTINGS_MODULE", "CIRROSTACK_LIVE_RELAY")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Portal:
    base: str
    data_dir: Path
    env: dict[str, str]
    logs: Path
    admin_password: str = ADMIN_PASSWORD

    def manage(self, *args: str) -> None:
        with (self.logs / "setup.log").open("ab") as log:
            subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, stdout=log,
                           stderr=subprocess.STDOUT, check=True, timeout=180)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("ab") as log:
            return subprocess.Popen(args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    @contextmanager
    def agent(self) -> Iterator[subprocess.Popen]:
        """The host agent, running while inside: queued jobs run, on the simulated host."""
        proc = self.spawn("agent", [sys.executable, "manage.py", "agent", "--concurrency", "2"])
        try:
            yield proc
        finally:
            stop(proc)

    def host_status(self) -> str:
        """Read straight from the portal's database file (the test process has its own database)."""
        with closing(sqlite3.connect(self.data_dir / "cirrostack.sqlite3", timeout=10)) as db:
            row = db.execute("SELECT status FROM infrastructure_host ORDER BY id LIMIT 1").fetchone()
        return row[0] if row else ""

    def wait_host_up(self, agent: subprocess.Popen, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.host_status() != "Up":
            assert agent.poll() is None, f"the agent exited:\n{self.log_tail('agent')}"
            assert time.monotonic() < deadline, f"the host never came up:\n{self.log_tail('agent')}"
            time.sleep(0.3)


@contextmanager
def served_portal(root: Path, *, uvicorn_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                  check_path: str = "/login/") -> Iterator[Portal]:
    """The portal's web process on a free port, with a seeded demo cloud whose simulated host is Up, and no
    agent running. `uvicorn_args` and `env` add to how it is served (e.g. --root-path behind a proxy)."""
    data_dir, logs = root / "data", root / "logs"
    logs.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    environment.update(CIRROSTACK_DATA_DIR=str(data_dir), CIRROSTACK_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       PYTHONUNBUFFERED="1", **(env or {}))
    port = free_port()
    server = Portal(base=f"http://127.0.0.1:{port}", data_dir=data_dir, env=environment, logs=logs)
    # What `manage.py serve` does before starting its processes.
    server.manage("migrate", "--no-input", "-v", "0")
    server.manage("compilemessages", "--ignore", ".venv", "--ignore", "var", "-v", "0")
    server.manage("seed_demo")
    # The seeded host is Connecting until an agent has reached it once; it stays Up afterwards.
    with server.agent() as agent:
        server.wait_host_up(agent)

    web = server.spawn("web", [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--log-level", "info", *uvicorn_args])
    try:
        deadline = time.monotonic() + 60
        while True:
            assert web.poll() is None, f"uvicorn exited:\n{server.log_tail('web')}"
            try:
                if requests.get(f"{server.base}{check_path}", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still starting up
                pass
            assert time.monotonic() < deadline, f"the portal did not answer:\n{server.log_tail('web')}"
            time.sleep(0.3)
        yield server
    finally:
        stop(web)
        sys.stderr.write(f"--- web log tail:\n{server.log_tail('web')}\n--- agent log tail:\n"
                         f"{server.log_tail('agent')}\n")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with served_portal(tmp_path_factory.mktemp("portal")) as server:
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require(Path(CHROMIUM).exists(), f"the system Chromium at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def login(page: Page, portal: Portal, username: str = "admin", password: str | None = None) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{portal.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or portal.admin_password)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{portal.base}/")


def deploy_with_wizard(page: Page, portal: Portal, name: str) -> str:
    """Deploy through the deploy wizard's pages, taking the first zone, image and offering, and return the
    VM's id from the VM page it lands on."""
    page.goto(f"{portal.base}/vms/deploy/")
    for step, choice in (("zone", "input[name=zone]"), ("image", "input[name=template]"),
                         ("offering", "input[name=service_offering]"), ("disk", ""), ("access", ""),
                         ("affinity", ""), ("details", "")):
        page.wait_for_selector(f"form[data-deploy-step='{step}']")
        if choice:
            page.locator(choice).first.check()
        if step == "details":
            page.fill("#id_name", name)
        page.locator("form[data-deploy-step] button[value=next]").click()
    page.wait_for_selector("form[data-deploy-step='review']")
    page.locator("form[data-deploy-step='review'] button[value=deploy]").click()
    page.wait_for_url(re.compile(r"/vms/[0-9a-f-]{36}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]
