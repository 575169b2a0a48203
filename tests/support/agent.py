"""Start a real host agent (a Celery worker process) against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.support.requirements import require

REPO = Path(settings.BASE_DIR)


def shared_database_url() -> str:
    """A URL the worker process can use to reach the very database this test runs against."""
    db = connection.settings_dict
    require(db["ENGINE"] == "django.db.backends.postgresql",
            "a worker process needs a database it can share with the tests: set DATABASE_URL to PostgreSQL")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextmanager
def agent_process(tmp_path: Path, *, host_ids: list[int] | None = None) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "CIRROSTACK_LOG_LEVEL": "INFO",
           "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(REPO / "manage.py"), "agent", "--concurrency", "2"]
    for host_id in host_ids or []:
        args.append(f"--host={host_id}")
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            sys.stderr.write(f"--- agent log ({log_path}) tail:\n")
            sys.stderr.write("\n".join(log_path.read_text(errors="replace").splitlines()[-25:]) + "\n")


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.25,
             what: str = "condition", process: subprocess.Popen | None = None) -> object:
    """Poll until predicate() is truthy; fail at once if the process doing the work has died."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the agent exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
