"""The embedded default as a user runs it: `manage.py serve` with no DATABASE_URL or REDIS_URL (SQLite, the
filesystem broker, the simulated host), driven over HTTP through the UI login and the REST API. The VM must
survive a restart of the whole portal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings

pytestmark = pytest.mark.smoke

REPO = Path(settings.BASE_DIR)
PASSWORD = "smoke-test-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def portal(data_dir: Path, port: int, log: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CIRROSTACK_HYPERVISOR_CONNECTIONS",
                        "DJANGO_SETTINGS_MODULE")}
    env.update(CIRROSTACK_DATA_DIR=str(data_dir), CIRROSTACK_ADMIN_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{port}"], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"serve exited early:\n{log.read_text()[-3000:]}"
            try:
                if requests.get(f"{base}/login/", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still loading its first page
                pass
            assert time.monotonic() < deadline, f"portal did not answer:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def login(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base}/login/", data={"username": "admin", "password": PASSWORD,
                                                  "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{base}/login/"}, timeout=10)
    assert answer.status_code == 200 and "/login/" not in answer.url, "login failed"
    session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/"})
    return session


def wait_job(session: requests.Session, url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = session.get(url, timeout=10).json()
        if job["status"] != "pending":
            return job
        assert time.monotonic() < deadline, f"job still pending: {job}"
        time.sleep(0.5)


def test_embedded_portal_deploys_and_keeps_vms_across_restart(tmp_path):
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"

    with portal(data_dir, port, log) as base:
        api = login(base)
        zone = api.get(f"{base}/api/v1/zones/", timeout=10).json()["results"][0]["id"]
        offering = api.get(f"{base}/api/v1/service-offerings/", timeout=10).json()["results"][0]["id"]
        template = api.get(f"{base}/api/v1/templates/", timeout=10).json()["results"][0]["id"]

        job = None
        for _attempt in range(30):  # the simulated host is Connecting until the agent has reached it
            answer = api.post(f"{base}/api/v1/virtual-machines/", json={
                "zone": zone, "service_offering": offering, "template": template, "name": "smoke1"}, timeout=10)
            assert answer.status_code == 202, answer.text
            job = wait_job(api, answer.headers["Location"])
            if job["status"] == "succeeded":
                break
            time.sleep(1)
        assert job["status"] == "succeeded", job
        vm_id = job["resource"]["id"]
        assert api.get(f"{base}/api/v1/virtual-machines/{vm_id}/", timeout=10).json()["state"] == "Running"

    # Same data directory, new processes: the VM is still there and still operable.
    with portal(data_dir, port, log) as base:
        api = login(base)
        vm = api.get(f"{base}/api/v1/virtual-machines/{vm_id}/", timeout=10).json()
        assert vm["state"] == "Running"
        answer = api.post(f"{base}/api/v1/virtual-machines/{vm_id}/stop/", json={}, timeout=10)
        assert answer.status_code == 202, answer.text
        assert wait_job(api, answer.headers["Location"])["status"] == "succeeded"
        assert api.get(f"{base}/api/v1/virtual-machines/{vm_id}/", timeout=10).json()["state"] == "Stopped"
    assert (data_dir / "cirrostack.sqlite3").exists()
    assert "restoring VM" in log.read_text()
