"""Live updates across processes, as deployed: a real agent (Celery worker) process runs the job.

* embedded default (in-memory layer): the worker cannot reach the web process's layer; the relay in the
  web process (here: the test process) reads the worker's changes from the shared database.
* production (channels-redis): the publisher sends straight to Redis, first from this process, then from
  the worker process, and no relay runs.

The worker tests need a database both processes share (PostgreSQL: DATABASE_URL), like tests/integration.
"""

from __future__ import annotations

import os
import socket as sockets
import uuid
from urllib.parse import urlparse

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from compute import services
from portal import live, relay
from portal.celery import app as celery_app
from tests.live.conftest import connect, job_messages, receive_until, run, socket, vm_messages
from tests.support.agent import agent_process, shared_database_url
from tests.support.requirements import require

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = django_settings.REDIS_URL or os.environ.get("CIRROSTACK_TEST_REDIS_URL", "redis://127.0.0.1:56379/0")


def redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with sockets.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def redis_layer(settings, prefix: str) -> None:
    require(redis_reachable(REDIS_URL), f"Redis at {REDIS_URL} (the production channel layer)")
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix}}}
    settings.CIRROSTACK_LIVE_RELAY = None  # derived from the layer: direct


@pytest.fixture
def real_worker():
    shared_database_url()  # skips (or fails in CI) unless the database can be shared with another process
    celery_app.conf.task_always_eager = False


def deploy(cloud, caller, name):
    return services.vm_deploy(caller=caller, zone=cloud.zone, service_offering=cloud.offering,
                              template=cloud.template, name=name)


def ran_to(job_id: str, vm_id: str):
    def done(messages: list[dict]) -> bool:
        return any(j["status"] == "succeeded" for j in job_messages(messages, job_id)) and \
            any(v["state"] == "Running" for v in vm_messages(messages, vm_id))
    return done


def test_relay_delivers_what_a_worker_process_did(cloud, real_worker, tmp_path):
    assert live.relay_mode()

    async def scenario():
        alice, bob = await socket(cloud.alice), await socket(cloud.bob)
        await connect(alice)
        await connect(bob)
        vm, job = await database_sync_to_async(deploy)(cloud, cloud.alice, "web1")
        first = await receive_until(alice, lambda m: job_messages(m))
        assert job_messages(first)[0]["status"] == "pending"  # no worker runs yet
        with agent_process(tmp_path, host_ids=[cloud.host.pk]):
            messages = await receive_until(alice, ran_to(str(job.uuid), str(vm.uuid)), timeout=90)
        assert [v["state"] for v in vm_messages(first + messages)][-1] == "Running"
        assert await bob.receive_nothing(timeout=0.5)
        await alice.disconnect()
        await bob.disconnect()
    run(scenario)


def test_publisher_sends_straight_to_redis_and_no_relay_runs(cloud, settings, run_jobs):
    redis_layer(settings, prefix=f"cirrostack-test-{uuid.uuid4().hex[:8]}")
    assert not live.relay_mode()
    relay_before = relay.current()

    def deploy_and_run():
        with run_jobs():
            return deploy(cloud, cloud.alice, "web1")

    async def scenario():
        alice, bob, admin = await socket(cloud.alice), await socket(cloud.bob), await socket(cloud.admin)
        for communicator in (alice, bob, admin):
            await connect(communicator)
        vm, job = await database_sync_to_async(deploy_and_run)()
        for communicator in (alice, admin):
            messages = await receive_until(communicator, ran_to(str(job.uuid), str(vm.uuid)))
            assert job_messages(messages)[0]["status"] == "pending"
        assert await bob.receive_nothing(timeout=0.5)
        assert relay.current() is relay_before and (relay_before is None or not relay_before.is_running())
        for communicator in (alice, bob, admin):
            await communicator.disconnect()
    run(scenario)


def test_worker_process_publishes_straight_to_redis(cloud, settings, real_worker, tmp_path):
    # The worker takes its layer (and broker) from REDIS_URL, like this process's settings did at start.
    require(bool(django_settings.REDIS_URL), "REDIS_URL set for the whole run (the production configuration)")
    redis_layer(settings, prefix="asgi")  # channels-redis's default prefix, which the worker uses
    assert not live.relay_mode()

    async def scenario():
        alice, bob = await socket(cloud.alice), await socket(cloud.bob)
        await connect(alice)
        await connect(bob)
        with agent_process(tmp_path, host_ids=[cloud.host.pk]):
            vm, job = await database_sync_to_async(deploy)(cloud, cloud.alice, "web1")
            messages = await receive_until(alice, ran_to(str(job.uuid), str(vm.uuid)), timeout=90)
        # Steps only the worker saw, sent by the worker: started, progress.
        assert any(j["status"] == "pending" and j["progress"] == 90 for j in job_messages(messages))
        assert relay.current() is None or not relay.current().is_running()
        assert await bob.receive_nothing(timeout=0.5)
        await alice.disconnect()
        await bob.disconnect()
    run(scenario)
