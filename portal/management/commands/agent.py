"""Run a host agent (a Celery worker for hypervisor work)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from infrastructure.agent import Agent


class Command(BaseCommand):
    help = "Run the host agent worker: every host (default) or the given ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", type=int, action="append", dest="hosts",
                            help="Serve only this host id (repeatable). Default: every host.")
        parser.add_argument("--no-hosts", action="store_true",
                            help="Serve no host: only the general job queue (a production web-side worker).")
        parser.add_argument("--no-default-queue", action="store_true",
                            help="Do not consume the general job queue.")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: object, **options: object) -> None:
        host_ids = [] if options["no_hosts"] else options["hosts"]
        Agent(host_ids=host_ids, default_queue=not options["no_default_queue"],
              concurrency=options["concurrency"], loglevel=options["loglevel"]).run()
