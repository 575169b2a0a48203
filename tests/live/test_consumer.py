"""/ws/jobs/ end to end through the ASGI application: who may connect, what each user receives, and that
nobody receives another tenant's jobs or VMs. Jobs run for real on libvirt's test driver."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from guardian.shortcuts import assign_perm

from accounts.models import Account
from compute import services
from portal import relay
from portal.jobs import job_execute
from portal.models import AsyncJob
from tests import factories
from tests.live.conftest import (
    connect,
    job_messages,
    receive_until,
    run,
    socket,
    vm_messages,
    work,
)

pytestmark = pytest.mark.django_db(transaction=True)


def deploy(cloud, caller, name, **kwargs):
    return services.vm_deploy(caller=caller, zone=cloud.zone, service_offering=cloud.offering,
                              template=cloud.template, name=name, **kwargs)


def finished(job_id: str, vm_id: str, vm_state: str = "Running"):
    """done() for receive_until: the job ended and the VM reached vm_state."""
    def done(messages: list[dict]) -> bool:
        return any(j["status"] != "pending" for j in job_messages(messages, job_id)) and \
            any(v["state"] == vm_state for v in vm_messages(messages, vm_id))
    return done


def test_anonymous_connection_is_refused(cloud):
    async def scenario():
        communicator = await socket()
        connected, _code = await communicator.connect(timeout=5)
        assert not connected
        await communicator.disconnect()
    run(scenario)


def test_connection_from_a_foreign_origin_is_refused(cloud):
    async def scenario():
        communicator = await socket(cloud.alice, origin=b"http://evil.example")
        connected, _code = await communicator.connect(timeout=5)
        assert not connected
        await communicator.disconnect()
    run(scenario)


def test_user_of_a_disabled_account_is_refused(cloud):
    cloud.alice.account.state = Account.State.DISABLED
    cloud.alice.account.save()

    async def scenario():
        communicator = await socket(cloud.alice)
        connected, code = await communicator.connect(timeout=5)
        assert not connected and code == 4403
        await communicator.disconnect()
    run(scenario)


def test_user_follows_their_job_and_vm_and_nobody_else_does(cloud, live_mode, held_jobs):
    async def scenario():
        alice, bob = await socket(cloud.alice), await socket(cloud.bob)
        assert await connect(alice) == [] and await connect(bob) == []

        # The web request: the VM is Starting, its job pending, and no worker has taken the job yet.
        vm, job = await database_sync_to_async(deploy)(cloud, cloud.alice, "web1")
        job_id, vm_id = str(job.uuid), str(vm.uuid)
        first = await receive_until(alice, lambda m: job_messages(m, job_id) and vm_messages(m, vm_id))
        pending = job_messages(first, job_id)[0]
        assert pending["status"] == "pending" and pending["status_code"] == 0 and pending["progress"] == 0
        assert (pending["cmd"], pending["instance_type"], pending["instance_id"], pending["instance_name"]) == \
            ("deployVirtualMachine", "virtualmachine", vm_id, "web1")
        assert pending["url"] == f"/jobs/{job_id}/" and pending["completed"] is None and pending["error"] == ""
        assert vm_messages(first, vm_id)[0] == {"id": vm_id, "name": "web1", "state": "Starting",
                                                "url": f"/vms/{vm_id}/"}

        # The worker runs it.
        assert held_jobs == [job_id]
        await work(job_id)
        rest = await receive_until(alice, finished(job_id, vm_id))
        done = job_messages(rest, job_id)[-1]
        assert (done["status"], done["status_code"], done["progress"]) == ("succeeded", 1, 100)
        assert done["completed"] is not None
        assert vm_messages(rest, vm_id)[-1]["state"] == "Running"
        # Coalescing is allowed, going backwards is not.
        progress = [j["progress"] for j in job_messages(first + rest, job_id)]
        assert progress == sorted(progress)

        assert await bob.receive_nothing(timeout=0.5)
        await alice.disconnect()
        await bob.disconnect()
    run(scenario)


def test_direct_publishing_sends_every_step_of_a_job_run_by_run_jobs(cloud, settings, run_jobs):
    settings.CIRROSTACK_LIVE_RELAY = False

    def deploy_and_run():
        with run_jobs():
            return deploy(cloud, cloud.alice, "web1")

    async def scenario():
        alice, bob = await socket(cloud.alice), await socket(cloud.bob)
        await connect(alice)
        await connect(bob)
        vm, job = await database_sync_to_async(deploy_and_run)()
        messages = await receive_until(alice, finished(str(job.uuid), str(vm.uuid)))
        statuses = [(j["status"], j["progress"]) for j in job_messages(messages)]
        assert statuses[0] == ("pending", 0)
        assert ("pending", 10) in statuses and ("pending", 90) in statuses
        assert statuses[-1] == ("succeeded", 100)
        # Each publication carries the VM as it is (state, not deltas): it moves forward only.
        states = [v["state"] for v in vm_messages(messages)]
        assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s] == ["Starting", "Running"]
        assert await bob.receive_nothing(timeout=0.5)
        await alice.disconnect()
        await bob.disconnect()
    run(scenario)


def test_failed_job_carries_its_error(cloud, live_mode, held_jobs):
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"  # nothing listens there
    cloud.host.save()

    async def scenario():
        alice = await socket(cloud.alice)
        await connect(alice)
        vm, job = await database_sync_to_async(deploy)(cloud, cloud.alice, "web1")
        await work(str(job.uuid))
        messages = await receive_until(alice, finished(str(job.uuid), str(vm.uuid), vm_state="Error"))
        failed = job_messages(messages, str(job.uuid))[-1]
        assert (failed["status"], failed["status_code"]) == ("failed", 2)
        assert failed["error"] and failed["error"].split(":")[0] in (await database_sync_to_async(
            lambda: AsyncJob.objects.get(pk=job.pk).result["errortext"])())
        await alice.disconnect()
    run(scenario)


def test_root_admin_receives_every_tenants_updates(cloud, live_mode, held_jobs):
    async def scenario():
        admin = await socket(cloud.admin)
        await connect(admin)
        vm_a, job_a = await database_sync_to_async(deploy)(cloud, cloud.alice, "alice1")
        vm_b, job_b = await database_sync_to_async(deploy)(cloud, cloud.bob, "bob1")
        await work(str(job_a.uuid))
        await work(str(job_b.uuid))
        await receive_until(admin, lambda m: finished(str(job_a.uuid), str(vm_a.uuid))(m)
                            and finished(str(job_b.uuid), str(vm_b.uuid))(m))
        await admin.disconnect()
    run(scenario)


def test_domain_admin_receives_their_subtree_only(cloud, live_mode, held_jobs):
    sales = factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    emea = factories.DomainFactory(name="EMEA", parent=sales)
    sales_admin = factories.UserFactory(username="sales-admin", account__name="sales-admins",
                                        account__domain=sales, account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=emea)

    async def scenario():
        watcher = await socket(sales_admin)
        await connect(watcher)
        vm_c, job_c = await database_sync_to_async(deploy)(cloud, carol, "carol1")  # ROOT/Sales/EMEA/
        vm_a, job_a = await database_sync_to_async(deploy)(cloud, cloud.alice, "alice1")  # ROOT/
        await work(str(job_c.uuid))
        await work(str(job_a.uuid))
        messages = await receive_until(watcher, finished(str(job_c.uuid), str(vm_c.uuid)))
        messages += await _drain(watcher)
        assert not job_messages(messages, str(job_a.uuid)) and not vm_messages(messages, str(vm_a.uuid))
        await watcher.disconnect()
    run(scenario)


async def _drain(communicator, quiet: float = 0.6) -> list[dict]:
    """What else arrives until the socket stays quiet (the relay ticks every 0.1 s in these tests)."""
    messages = []
    while not await communicator.receive_nothing(timeout=quiet):
        messages.append(await communicator.receive_json_from())
    return messages


def test_a_granted_vm_is_live_for_its_grantee_but_the_owners_jobs_are_not(cloud, live_mode, held_jobs):
    vm, deploy_job = deploy(cloud, cloud.alice, "shared")
    job_execute(str(deploy_job.uuid))
    assign_perm("compute.operate_virtualmachine", cloud.bob, vm)

    async def scenario():
        bob = await socket(cloud.bob)
        await connect(bob)
        stop = await database_sync_to_async(lambda: services.vm_stop(caller=cloud.alice, vm=vm))()
        await work(str(stop.uuid))
        messages = await receive_until(bob, lambda m: any(v["state"] == "Stopped"
                                                           for v in vm_messages(m, str(vm.uuid))))
        messages += await _drain(bob)
        assert job_messages(messages) == []  # alice's job stays alice's
        await bob.disconnect()
    run(scenario)


def test_snapshot_lists_the_callers_pending_jobs_only(cloud, held_jobs):
    _vm_a, job_a = deploy(cloud, cloud.alice, "alice1")
    _vm_b, job_b = deploy(cloud, cloud.bob, "bob1")

    async def scenario():
        alice, admin = await socket(cloud.alice), await socket(cloud.admin)
        mine = await connect(alice)
        assert [(j["id"], j["status"], j["instance_name"]) for j in mine] == [(str(job_a.uuid), "pending",
                                                                               "alice1")]
        assert {j["id"] for j in await connect(admin)} == {str(job_a.uuid), str(job_b.uuid)}
        await alice.disconnect()
        await admin.disconnect()
    run(scenario)


def test_the_socket_ignores_what_browsers_send(cloud):
    async def scenario():
        alice = await socket(cloud.alice)
        await connect(alice)
        await alice.send_to(text_data="not json")
        await alice.send_json_to({"type": "job", "job": {"id": "x"}})
        assert await alice.receive_nothing(timeout=0.3)
        await alice.disconnect()
    run(scenario)


def test_one_relay_per_process_started_by_the_first_socket_and_ended_after_the_last(cloud):
    async def scenario():
        first, second = await socket(cloud.alice), await socket(cloud.bob)
        await connect(first)
        started = relay.current()
        assert started is not None and started.is_running() and started.watchers == 1
        await connect(second)
        assert relay.current() is started and started.watchers == 2
        await first.disconnect()
        await second.disconnect()
        assert started.watchers == 0
        await started.task  # ends by itself at its next tick
        assert not started.is_running()
    run(scenario)


def test_no_relay_runs_in_direct_mode(cloud, settings):
    settings.CIRROSTACK_LIVE_RELAY = False

    async def scenario():
        before = relay.current()
        alice = await socket(cloud.alice)
        await connect(alice)
        assert relay.current() is before and (before is None or not before.is_running())
        await alice.disconnect()
    run(scenario)


def test_relay_pushes_a_change_written_to_the_database_by_someone_else(cloud, held_jobs):
    """What the agent process does in the embedded default: an UPDATE of the row, no publisher involved."""
    _vm, job = deploy(cloud, cloud.alice, "web1")

    def worker_writes(**changes):
        AsyncJob.objects.filter(pk=job.pk).update(updated=timezone.now(), **changes)

    async def scenario():
        alice, bob = await socket(cloud.alice), await socket(cloud.bob)
        await connect(alice)
        await connect(bob)
        await database_sync_to_async(worker_writes)(progress=42)
        messages = await receive_until(alice, lambda m: any(j["progress"] == 42 for j in job_messages(m)))
        assert job_messages(messages)[-1]["id"] == str(job.uuid)
        await database_sync_to_async(worker_writes)(status=AsyncJob.Status.CANCELLED)
        messages = await receive_until(alice, lambda m: job_messages(m))
        assert (job_messages(messages)[0]["status"], job_messages(messages)[0]["status_code"]) == ("cancelled", 3)
        assert await bob.receive_nothing(timeout=0.5)
        await alice.disconnect()
        await bob.disconnect()
    run(scenario)
