"""The live relay of the embedded default: one task per ASGI process turns job rows that changed in the
database into channel-layer messages (see portal.live for the whole picture).

Why a relay: the embedded default's channel layer is in-memory, private to the web process, while jobs run
in the agent, a separate process that could publish into that memory only through some extra server,
which the embedded default exists to avoid. The database is what both processes already share, and every
job change stamps the indexed `AsyncJob.updated`. So the relay asks it, about every INTERVAL seconds, for
the jobs changed since its last read, and group-sends them (with the VMs they are about) itself: one query
per tick for all browsers of the process, never one per connection, and none at all while no browser is
connected (the first consumer starts the task, it ends when the last one leaves).

Reading "changed since" is done with a look-back window rather than a strict cursor: a row is stamped when
it is written but becomes visible only when its transaction commits, possibly after a read that already
saw later stamps. Rows stamped within LOOKBACK of the newest stamp seen are read again each tick and sent
only if their stamp differs from the one already sent, so a late commit is still caught and nothing is
sent twice. LOOKBACK only has to exceed the time between stamping a job and committing it (short
transactions). With Redis (production) there is no relay: workers publish directly (portal.live).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer
from django.utils import timezone

from portal.live import Update, send_updates, updates_for
from portal.models import AsyncJob

logger = logging.getLogger(__name__)

INTERVAL = 0.5
LOOKBACK = timedelta(seconds=10)


class Relay:
    """Reads changed jobs for every socket of this process; `watchers` counts those sockets."""

    def __init__(self, layer: BaseChannelLayer, *, interval: float | None = None,
                 lookback: timedelta | None = None) -> None:
        self.layer = layer
        self.interval = INTERVAL if interval is None else interval
        self.lookback = LOOKBACK if lookback is None else lookback
        self.watchers = 0
        self.task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self.high_water: datetime = timezone.now()
        self._sent_jobs: dict[int, datetime] = {}  # job pk -> `updated` of what was sent, within the window
        self._sent_objects: dict[tuple[str, str], str] = {}  # (type, uuid) -> state sent, for the window's jobs

    def poll(self) -> list[Update]:
        """One read: the messages for what changed since the previous poll (synchronous, one query, plus
        one for the VMs when some changed jobs are about VMs)."""
        window = list(AsyncJob.objects.select_related("domain")
                      .filter(updated__gte=self.high_water - self.lookback).order_by("updated", "pk"))
        fresh = [job for job in window if self._sent_jobs.get(job.pk) != job.updated]
        self._sent_jobs = {job.pk: job.updated for job in window}
        if window:
            self.high_water = max(self.high_water, window[-1].updated)
        in_window = {(job.instance_type, job.instance_id) for job in window}
        self._sent_objects = {key: state for key, state in self._sent_objects.items() if key in in_window}
        if not fresh:
            return []
        updates: list[Update] = []
        for update in updates_for(fresh):
            if update.object_key is not None:
                # Objects are read again at every change of their job (progress...): send them only when
                # their state moved.
                if self._sent_objects.get(update.object_key) == update.state:
                    continue
                self._sent_objects[update.object_key] = update.state
            updates.append(update)
        return updates

    async def run(self) -> None:
        while self.watchers > 0:
            try:
                updates = await database_sync_to_async(self.poll)()
                await send_updates(self.layer, updates)
            except Exception:
                # A locked or restarting database must not end live updates for good.
                logger.exception("live relay: reading job changes failed; retrying")
            await asyncio.sleep(self.interval)

    def is_running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        """Start the task on the running loop unless it runs; a restarted relay reads from now on."""
        if self.is_running():
            return
        self._reset()
        self.loop = asyncio.get_running_loop()
        self.task = self.loop.create_task(self.run(), name="cirrostack-live-relay")


_relay: Relay | None = None


def watch(layer: BaseChannelLayer) -> Relay:
    """Called by a consumer that joined its groups: make sure this process's relay runs, and count it."""
    global _relay
    loop = asyncio.get_running_loop()
    relay = _relay
    if relay is None or relay.layer is not layer or (relay.is_running() and relay.loop is not loop):
        relay = _relay = Relay(layer)
    relay.watchers += 1
    relay.start()
    return relay


def unwatch(relay: Relay) -> None:
    """Called when a consumer disconnects; the relay stops after its current tick once nobody watches."""
    relay.watchers = max(0, relay.watchers - 1)


def current() -> Relay | None:
    """This process's relay, if one was started (for tests and diagnostics)."""
    return _relay
