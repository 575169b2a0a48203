"""Run the whole portal for the embedded default: migrate, compile translations, seed, collect static files,
then serve the ASGI application and a host agent until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# Console frames are VNC data, mostly compressed already (Tight, ZRLE): per-message deflate, which browsers
# always offer, would cost the portal's event loop a zlib pass per frame for nothing: it cut the console's
# throughput 25-fold in benchmarks/console_proxy.py.
UVICORN_OPTIONS = ("--ws-per-message-deflate", "false")


def prefix_options() -> list[str]:
    """Behind a reverse proxy that mounts the portal under a path (CIRROSTACK_URL_PREFIX=/cloud, checked by the
    settings) and strips it before passing requests on: uvicorn's root path, which Channels' router strips."""
    return ["--root-path", settings.URL_PREFIX] if settings.URL_PREFIX else []


class Command(BaseCommand):
    help = "Migrate, seed the demo and serve the portal with its worker (embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=os.environ.get("CIRROSTACK_ADDR", "127.0.0.1:8000"),
                            help="HOST:PORT to listen on (env CIRROSTACK_ADDR).")
        parser.add_argument("--no-seed", action="store_true", help="Skip the demo seed.")

    def handle(self, *args: object, **options: object) -> None:
        host, _, port = str(options["addr"]).rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--addr must be HOST:PORT, not {options['addr']!r}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        if not options["no_seed"]:
            call_command("seed_demo")
        call_command("collectstatic", interactive=False, verbosity=0)

        manage = [sys.executable, os.path.join(os.getcwd(), "manage.py")]
        children = [
            subprocess.Popen([*manage, "agent"]),
            subprocess.Popen([sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", host,
                              "--port", port, "--log-level", "info", *UVICORN_OPTIONS, *prefix_options()]),
        ]
        self.stdout.write(self.style.SUCCESS(f"Cirrostack is running on http://{options['addr']}/ (Ctrl-C stops)"))

        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [child.args for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            raise CommandError(f"a portal process exited unexpectedly: {failed}")
