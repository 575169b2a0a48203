"""The host agent: a Celery worker that consumes the queues of the hosts it serves.

In the embedded default one worker serves every host (and picks up hosts added later); in production one
worker runs per host with `manage.py agent --host <id>`. Only agent processes may open hypervisor
connections: the web process never does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery.signals import worker_ready, worker_shutting_down
from django.db import close_old_connections

from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.celery import app
from portal.jobs import DEFAULT_QUEUE

logger = logging.getLogger(__name__)

HOST_POLL_SECONDS = 5.0
# How long a timer waits when its interval setting cannot be read.
FALLBACK_INTERVAL_SECONDS = 60.0


class Agent:
    def __init__(self, *, host_ids: list[int] | None, default_queue: bool, concurrency: int,
                 loglevel: str = "INFO") -> None:
        self.host_ids = host_ids  # None: every host, including ones added later
        self.default_queue = default_queue
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.hostname = ""
        self.served: set[int] = set()
        self._stop = threading.Event()

    def hosts(self) -> list[Host]:
        hosts = Host.objects.all()
        if self.host_ids is not None:
            hosts = hosts.filter(pk__in=self.host_ids)
        return list(hosts.order_by("pk"))

    def queues(self) -> list[str]:
        queues = [DEFAULT_QUEUE] if self.default_queue else []
        return queues + [host.queue for host in self.hosts()]

    def run(self) -> None:
        from infrastructure.tasks import host_sync

        hv.allow_connections(True)
        hosts = self.hosts()
        self.served = {host.pk for host in hosts}
        # Reconcile before consuming anything, so no queued job acts on a host the agent has not seen yet.
        for host in hosts:
            host_sync(host.pk)
        worker_ready.connect(self._on_ready, weak=False)
        worker_shutting_down.connect(lambda **_: self._stop.set(), weak=False)
        queues = self.queues()
        if not queues:
            raise SystemExit("agent: nothing to serve (no default queue and no matching hosts)")
        app.worker_main([
            "worker", "-Q", ",".join(queues), "--pool=threads", f"--concurrency={self.concurrency}",
            f"--loglevel={self.loglevel}", "--without-gossip", "--without-mingle",
        ])

    def _on_ready(self, sender: object = None, **_: object) -> None:
        self.hostname = getattr(sender, "hostname", "") or ""
        if self.host_ids is None:
            threading.Thread(target=self._watch_new_hosts, name="agent-host-watch", daemon=True).start()
        threading.Thread(target=self._heartbeat, name="agent-heartbeat", daemon=True).start()
        threading.Thread(target=self._metrics, name="agent-metrics", daemon=True).start()
        if self.default_queue:  # one expunge round per cloud, not one per host agent
            threading.Thread(target=self._expunge, name="agent-expunge", daemon=True).start()

    def _every(self, what: str, interval: Callable[[], float], action: Callable[[float], None]) -> None:
        """The agent's timers: wait `interval()` (read each round, so a changed setting applies), then run
        `action(interval)`, until the worker stops. A database or broker hiccup is logged and the timer goes
        on: it must not end heartbeats, metrics or expunging for good."""
        while True:
            try:
                close_old_connections()
                wait = interval()
            except Exception:  # the database may be briefly away; try again a minute later
                logger.exception("agent: reading the %s interval failed", what)
                wait = FALLBACK_INTERVAL_SECONDS
            if self._stop.wait(wait):
                return
            try:
                close_old_connections()
                action(wait)
            except Exception:
                logger.exception("agent: submitting %s failed", what)

    def _heartbeat(self) -> None:
        """Every heartbeat interval, queue a heartbeat for each served host (infrastructure.heartbeat)."""
        from infrastructure.heartbeat import heartbeat_interval, submit_heartbeats

        self._every("heartbeats", heartbeat_interval, lambda _wait: submit_heartbeats(sorted(self.served)))

    def _metrics(self) -> None:
        """Every vm.stats.interval, queue a VM metrics collection per served host, and from the agent serving
        the default queue the downsampling and pruning (compute.tasks_metrics)."""
        from compute.tasks_metrics import metrics_wait, submit_metrics

        self._every("VM metrics collection", metrics_wait,
                    lambda _wait: submit_metrics(sorted(self.served), maintain=self.default_queue))

    def _expunge(self) -> None:
        """Every expunge.interval, queue CloudStack's expunge round (compute.tasks.vm_expunge_due_task): VMs
        destroyed longer than expunge.delay ago are expunged. A round not started within one interval expires."""
        from compute.tasks import vm_expunge_due_task
        from portal.configuration import config_value

        self._every("the expunge round", lambda: float(config_value("expunge.interval")),
                    lambda wait: vm_expunge_due_task.apply_async(queue=DEFAULT_QUEUE, expires=wait))

    def _sync(self, host_id: int) -> None:
        from infrastructure.tasks import host_sync

        host_sync.apply_async(args=[host_id], queue=f"host.{host_id}")

    def _watch_new_hosts(self) -> None:
        """Hosts registered while the agent runs get their queue consumed without a restart."""
        while not self._stop.wait(HOST_POLL_SECONDS):
            close_old_connections()
            new = {host.pk for host in self.hosts()} - self.served
            for host_id in sorted(new):
                logger.info("agent: now serving host %s", host_id)
                app.control.add_consumer(f"host.{host_id}", destination=[self.hostname], reply=False)
                self.served.add(host_id)
                self._sync(host_id)
