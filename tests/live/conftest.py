"""Fixtures of the live-update tests: WebSocket clients of the real ASGI application (session cookie,
allowed origin, AuthMiddlewareStack), a fresh channel layer per test, and a held job queue standing in for
a worker that has not picked a job up yet.

Consumers read the database through channels' database_sync_to_async, which closes connections around
each call; that would end the per-test transaction, so these tests commit for real (transaction=True).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal import jobs, relay
from portal.asgi import application

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ORIGIN = b"http://testserver"


@pytest.fixture(autouse=True)
def fresh_layer(settings, monkeypatch):
    """A new in-memory layer per test (changing the setting drops channels' cached instance), in the mode
    the configuration implies (relay) unless a test says otherwise; fast relay ticks."""
    settings.CHANNEL_LAYERS = IN_MEMORY
    settings.CIRROSTACK_LIVE_RELAY = None
    monkeypatch.setattr(relay, "INTERVAL", 0.1)
    return settings


@pytest.fixture(params=["relay", "direct"])
def live_mode(request, settings) -> str:
    """Both ways changes reach the layer; "direct" with the in-memory layer is what Redis does, in-process."""
    settings.CIRROSTACK_LIVE_RELAY = request.param == "relay"
    return request.param


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def socket(user=None, *, origin: bytes = ORIGIN, path: str = "/ws/jobs/") -> WebsocketCommunicator:
    """A not yet connected client of the ASGI application, signed in as user (a real session)."""
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(session_cookie)(user)))
    return WebsocketCommunicator(application, path, headers=headers)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async scenario from a sync test; ORM calls inside go through database_sync_to_async, which
    runs them on this (the test's) thread."""
    return async_to_sync(scenario)()


async def connect(communicator: WebsocketCommunicator) -> list[dict]:
    """Open the socket and return the snapshot's jobs (the first message of every connection)."""
    connected, code = await communicator.connect(timeout=5)
    assert connected, f"refused with {code}"
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "snapshot"
    return first["jobs"]


async def receive_until(communicator: WebsocketCommunicator, done: Callable[[list[dict]], bool],
                        timeout: float = 10) -> list[dict]:
    """Collect messages until done(messages) holds; fail with what arrived if it never does."""
    messages: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(messages):
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"timed out; received {messages}")
        try:
            messages.append(await communicator.receive_json_from(timeout=remaining))
        except TimeoutError as exc:
            raise AssertionError(f"timed out; received {messages}") from exc
    return messages


def job_messages(messages: list[dict], job_id: str | None = None) -> list[dict]:
    return [m["job"] for m in messages if m["type"] == "job" and (job_id is None or m["job"]["id"] == job_id)]


def vm_messages(messages: list[dict], vm_id: str | None = None) -> list[dict]:
    return [m["vm"] for m in messages if m["type"] == "vm" and (vm_id is None or m["vm"]["id"] == vm_id)]


@pytest.fixture
def held_jobs(monkeypatch) -> list[str]:
    """Jobs submitted while this is active wait, like in a broker with no worker yet; run them with
    `work(uuid)`, which is what the worker process does with the message."""
    held: list[str] = []
    monkeypatch.setattr(jobs, "_enqueue", lambda job: held.append(str(job.uuid)))
    return held


work = database_sync_to_async(jobs.job_execute)
