"""Host administration and the heartbeat, on libvirt's test driver and an unreachable URI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compute import services as compute_services
from compute.models import VirtualMachine
from infrastructure import heartbeat, services_hosts
from infrastructure.models import Host
from infrastructure.placement import host_reserve
from infrastructure.states import HOST_RESOURCE_STATE_MACHINE, HOST_STATE_MACHINE, HostEvent, ResourceEvent
from portal.errors import InsufficientCapacity, InvalidParameter, InvalidState, PermissionDenied, ResourceInUse
from portal.models import AsyncJob, Event
from storage.models import Volume
from tests import factories

pytestmark = pytest.mark.django_db

UNREACHABLE = "qemu+tcp://127.0.0.1:1/system"


def _deploy(cloud, run_jobs, name="vm1") -> VirtualMachine:
    with run_jobs():
        vm, _job = compute_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                              template=cloud.template, name=name)
    vm.refresh_from_db()
    assert vm.state == "Running" and vm.host == cloud.host
    return vm


# ------------------------------------------------------------------------------------------- state machines

def test_status_table_has_every_cloudstack_status_and_heartbeat_ladder():
    assert set(Host.Status.values) == {"Up", "Connecting", "Disconnected", "Alert", "Down", "Maintenance",
                                       "PrepareForMaintenance", "ErrorInMaintenance"}
    assert HOST_STATE_MACHINE.next_state("Up", HostEvent.PING_TIMEOUT) == "Alert"
    assert HOST_STATE_MACHINE.next_state("Alert", HostEvent.AGENT_UNREACHABLE) == "Disconnected"
    assert HOST_STATE_MACHINE.next_state("Disconnected", HostEvent.HOST_DOWN) == "Down"
    assert HOST_STATE_MACHINE.next_state("Down", HostEvent.AGENT_CONNECTED) == "Up"
    assert not HOST_STATE_MACHINE.allows("Connecting", HostEvent.RECONNECT_REQUESTED)
    assert not HOST_STATE_MACHINE.allows("Up", HostEvent.HOST_DOWN)


def test_resource_state_table_follows_cloudstack_maintenance_flow():
    assert set(Host.ResourceState.values) == {"Enabled", "Disabled", "PrepareForMaintenance",
                                              "ErrorInMaintenance", "Maintenance"}
    r = HOST_RESOURCE_STATE_MACHINE
    assert r.next_state("Enabled", ResourceEvent.ADMIN_ASK_MAINTENANCE) == "PrepareForMaintenance"
    assert r.next_state("PrepareForMaintenance", ResourceEvent.INTERNAL_ENTER_MAINTENANCE) == "Maintenance"
    assert r.next_state("PrepareForMaintenance", ResourceEvent.UNABLE_TO_MIGRATE) == "ErrorInMaintenance"
    assert r.next_state("Maintenance", ResourceEvent.ADMIN_CANCEL_MAINTENANCE) == "Enabled"
    assert not r.allows("Maintenance", ResourceEvent.ENABLE)
    assert not r.allows("Maintenance", ResourceEvent.ADMIN_ASK_MAINTENANCE)


# ------------------------------------------------------------------------------------- add, tags, credentials

def test_add_host_with_tags_and_encrypted_credentials(cloud, run_jobs):
    with run_jobs():
        host, _job = services_hosts.host_add(
            caller=cloud.admin, cluster=cloud.host.cluster, name="tagged", url="test:///default?tagged",
            username="cloud", password="s3cret-pw", host_tags=" ssd, gpu,ssd,, ")
    host.refresh_from_db()
    assert host.status == "Up" and host.host_tags == "ssd,gpu" and host.tag_list == ["ssd", "gpu"]
    assert host.username == "cloud"
    assert "s3cret-pw" not in host.password_encrypted and host.password_encrypted
    assert services_hosts.host_password(host) == "s3cret-pw"


def test_add_host_refuses_a_pod_or_zone_that_is_not_the_clusters(cloud):
    other = factories.ClusterFactory()
    with pytest.raises(InvalidParameter):
        services_hosts.host_add(caller=cloud.admin, cluster=cloud.host.cluster, pod=other.pod, name="x",
                                url="test:///default?x")
    with pytest.raises(InvalidParameter):
        services_hosts.host_add(caller=cloud.admin, cluster=cloud.host.cluster, zone=other.zone, name="x",
                                url="test:///default?x")
    assert Host.objects.count() == 1


# ---------------------------------------------------------------------------------------------- updateHost

def test_update_host_renames_retags_and_disables_and_placement_skips_it(cloud):
    host = services_hosts.host_update(caller=cloud.admin, host=cloud.host, name="renamed", host_tags="a, b",
                                      allocation_state="Disable")
    host.refresh_from_db()
    assert (host.name, host.host_tags, host.resource_state) == ("renamed", "a,b", "Disabled")
    assert Event.objects.filter(type="HOST.UPDATE", user=cloud.admin).exists()
    with pytest.raises(InsufficientCapacity):
        host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=2**20)
    services_hosts.host_update(caller=cloud.admin, host=host, allocation_state="Enable")
    assert host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=2**20) == host


def test_update_host_refuses_bad_input_and_non_root_callers(cloud):
    with pytest.raises(InvalidParameter):
        services_hosts.host_update(caller=cloud.admin, host=cloud.host, allocation_state="Maintenance")
    with pytest.raises(InvalidParameter):
        services_hosts.host_update(caller=cloud.admin, host=cloud.host, name="  ")
    domain_admin = factories.UserFactory(account__account_type=2)
    for caller in (cloud.alice, domain_admin):
        with pytest.raises(PermissionDenied):
            services_hosts.host_update(caller=caller, host=cloud.host, name="mine")
    cloud.host.refresh_from_db()
    assert cloud.host.name != "mine" and cloud.host.resource_state == "Enabled"


# ------------------------------------------------------------------------------------------------- maintenance

def test_maintenance_of_an_idle_host_then_cancel(cloud, run_jobs):
    with run_jobs():
        job = services_hosts.host_prepare_maintenance(caller=cloud.admin, host=cloud.host)
    job.refresh_from_db()
    cloud.host.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED and job.queue == cloud.host.queue
    assert cloud.host.resource_state == "Maintenance" and cloud.host.status == "Up"
    with pytest.raises(InsufficientCapacity):
        host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=2**20)
    with pytest.raises(InvalidState):
        services_hosts.host_update(caller=cloud.admin, host=cloud.host, allocation_state="Enable")
    with run_jobs():
        job = services_hosts.host_cancel_maintenance(caller=cloud.admin, host=cloud.host)
    job.refresh_from_db()
    cloud.host.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED and cloud.host.resource_state == "Enabled"


def test_maintenance_with_running_vms_ends_in_error_in_maintenance_with_a_clear_message(cloud, run_jobs):
    _deploy(cloud, run_jobs)
    with run_jobs():
        job = services_hosts.host_prepare_maintenance(caller=cloud.admin, host=cloud.host)
    job.refresh_from_db()
    cloud.host.refresh_from_db()
    assert job.status == AsyncJob.Status.FAILED
    assert "still runs 1 VM" in job.result["errortext"]
    assert cloud.host.resource_state == "ErrorInMaintenance"
    with pytest.raises(InsufficientCapacity):  # never picked while in a maintenance state
        host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=2**20)
    with run_jobs():
        services_hosts.host_cancel_maintenance(caller=cloud.admin, host=cloud.host)
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Enabled"


def test_prepare_for_maintenance_stops_placement_before_the_job_runs(cloud):
    services_hosts.host_prepare_maintenance(caller=cloud.admin, host=cloud.host)  # job not run
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "PrepareForMaintenance"
    with pytest.raises(InsufficientCapacity):
        host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=2**20)
    with pytest.raises(InvalidState):  # asked twice
        services_hosts.host_prepare_maintenance(caller=cloud.admin, host=cloud.host)


def test_cancel_maintenance_of_an_enabled_host_is_refused(cloud):
    with pytest.raises(InvalidState):
        services_hosts.host_cancel_maintenance(caller=cloud.admin, host=cloud.host)
    assert not AsyncJob.objects.exists()


# ------------------------------------------------------------------------------------------------ reconnect

def test_reconnect_runs_on_the_hosts_queue_and_brings_it_back_up(cloud, run_jobs):
    Host.objects.filter(pk=cloud.host.pk).update(status="Disconnected", cpu_cores=1)
    cloud.host.refresh_from_db()
    with run_jobs():
        job = services_hosts.host_reconnect(caller=cloud.admin, host=cloud.host)
    job.refresh_from_db()
    cloud.host.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED and job.queue == f"host.{cloud.host.pk}"
    assert cloud.host.status == "Up" and cloud.host.cpu_cores == 16  # facts refreshed from libvirt


def test_reconnect_of_an_unreachable_host_fails_and_leaves_it_disconnected(cloud, run_jobs):
    host = factories.HostFactory(cluster=cloud.host.cluster, url=UNREACHABLE, domain_type="qemu")
    with run_jobs():
        job = services_hosts.host_reconnect(caller=cloud.admin, host=host)
    job.refresh_from_db()
    host.refresh_from_db()
    assert job.status == AsyncJob.Status.FAILED and job.result["errorcode"] == 534
    assert host.status == "Disconnected" and host.disconnected is not None


# --------------------------------------------------------------------------------------------------- delete

def test_delete_is_refused_while_vms_run_there_and_forced_needs_a_host_that_is_not_up(cloud, run_jobs):
    vm = _deploy(cloud, run_jobs)
    with pytest.raises(ResourceInUse):
        services_hosts.host_delete(caller=cloud.admin, host=cloud.host)
    with pytest.raises(InvalidState):
        services_hosts.host_delete(caller=cloud.admin, host=cloud.host, forced=True)
    Host.objects.filter(pk=cloud.host.pk).update(status="Down")
    cloud.host.refresh_from_db()
    # Forced: the VM is recorded Stopped, but its root volume on the host's local storage still blocks.
    with pytest.raises(ResourceInUse, match="volume"):
        services_hosts.host_delete(caller=cloud.admin, host=cloud.host, forced=True)
    assert Host.objects.filter(pk=cloud.host.pk).exists()
    vm.refresh_from_db()
    assert vm.state == "Running"  # the refusal rolled the forced stop back


def test_delete_of_an_empty_host(cloud):
    host = factories.HostFactory(cluster=cloud.host.cluster)
    services_hosts.host_delete(caller=cloud.admin, host=host)
    assert not Host.objects.filter(pk=host.pk).exists()
    assert Event.objects.filter(type="HOST.DELETE", user=cloud.admin).exists()
    with pytest.raises(PermissionDenied):
        services_hosts.host_delete(caller=cloud.alice, host=cloud.host)


def test_forced_delete_of_a_down_host_whose_vms_left_no_volumes(cloud, run_jobs):
    vm = _deploy(cloud, run_jobs)
    Volume.objects.filter(host=cloud.host).update(removed=timezone.now())
    Host.objects.filter(pk=cloud.host.pk).update(status="Down")
    cloud.host.refresh_from_db()
    services_hosts.host_delete(caller=cloud.admin, host=cloud.host, forced=True)
    vm.refresh_from_db()
    assert vm.state == "Stopped" and vm.host is None and vm.last_host is None
    assert not Host.objects.exists()


# ------------------------------------------------------------------------------------------------- heartbeat

def test_heartbeat_on_the_test_driver_updates_last_seen(cloud):
    Host.objects.filter(pk=cloud.host.pk).update(last_seen=None)
    assert heartbeat.submit_heartbeats([cloud.host.pk]) == 1  # eager Celery in tests: runs now
    cloud.host.refresh_from_db()
    assert cloud.host.status == "Up" and cloud.host.last_seen is not None


def test_heartbeat_ladder_on_an_unreachable_uri(cloud, settings):
    settings.CIRROSTACK_HOST_DOWN_AFTER = 60
    host = factories.HostFactory(cluster=cloud.host.cluster, url=UNREACHABLE, domain_type="qemu",
                                 last_seen=timezone.now())
    seen = []
    for _ in range(3):
        heartbeat.host_heartbeat(host.pk)
        host.refresh_from_db()
        seen.append(host.status)
    assert seen == ["Alert", "Disconnected", "Disconnected"]  # not Down before CIRROSTACK_HOST_DOWN_AFTER
    Host.objects.filter(pk=host.pk).update(disconnected=timezone.now() - timedelta(seconds=61))
    heartbeat.host_heartbeat(host.pk)
    host.refresh_from_db()
    assert host.status == "Down"
    types = list(Event.objects.filter(resource_id=str(host.uuid)).order_by("id").values_list("type", flat=True))
    assert types == ["HOST.ALERT", "HOST.DISCONNECTED", "HOST.DOWN"]


def test_heartbeat_brings_a_returning_host_back_up_with_an_event(cloud):
    Host.objects.filter(pk=cloud.host.pk).update(status="Alert")
    heartbeat.host_heartbeat(cloud.host.pk)
    cloud.host.refresh_from_db()
    assert cloud.host.status == "Up"
    assert Event.objects.filter(type="HOST.UP", resource_id=str(cloud.host.uuid)).exists()


def test_heartbeat_leaves_connecting_hosts_to_their_job(cloud):
    host = factories.HostFactory(cluster=cloud.host.cluster, url=UNREACHABLE, status="Connecting")
    heartbeat.host_heartbeat(host.pk)
    host.refresh_from_db()
    assert host.status == "Connecting"


class _OneTick:
    """Stands in for the agent's stop event: one interval elapses, then the agent stops."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return len(self.waits) > 1


# Transactional: the timer thread calls close_old_connections(), which (rightly) drops a connection left inside
# a transaction, and on PostgreSQL that would throw away the test's own wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_agent_timer_submits_heartbeats_for_served_hosts_every_interval(cloud, settings):
    from infrastructure.agent import Agent

    settings.CIRROSTACK_HOST_HEARTBEAT_SECONDS = 7
    Host.objects.filter(pk=cloud.host.pk).update(last_seen=None)
    agent = Agent(host_ids=None, default_queue=True, concurrency=1)
    agent.served = {cloud.host.pk}
    agent._stop = tick = _OneTick()
    agent._heartbeat()  # in the test's thread: the eager broker runs each heartbeat inline
    assert tick.waits == [7.0, 7.0]
    assert Host.objects.get(pk=cloud.host.pk).last_seen is not None


@pytest.mark.django_db(transaction=True)
def test_agent_timers_outlive_an_unreadable_interval_and_a_failed_submission():
    """Every agent timer (heartbeats, metrics, expunge rounds) shares one loop: an interval it cannot read
    waits the fallback minute, and a submission that raises is logged, not the end of the timer."""
    from infrastructure.agent import FALLBACK_INTERVAL_SECONDS, Agent

    class _Ticks(_OneTick):
        def wait(self, timeout: float) -> bool:
            self.waits.append(timeout)
            return len(self.waits) > 2

    intervals = iter([RuntimeError("database away"), 5.0, 5.0])

    def interval() -> float:
        value = next(intervals)
        if isinstance(value, Exception):
            raise value
        return value

    submitted: list[float] = []

    def action(wait: float) -> None:
        submitted.append(wait)
        raise RuntimeError("broker away")

    agent = Agent(host_ids=[], default_queue=True, concurrency=1)
    agent._stop = tick = _Ticks()
    agent._every("test rounds", interval, action)
    assert tick.waits == [FALLBACK_INTERVAL_SECONDS, 5.0, 5.0]
    assert submitted == [FALLBACK_INTERVAL_SECONDS, 5.0]


@pytest.mark.django_db(transaction=True)
def test_agent_expunge_timer_queues_a_round_that_expires_with_its_interval(monkeypatch):
    from compute import tasks
    from infrastructure.agent import Agent
    from portal.jobs import DEFAULT_QUEUE
    from portal.models import ConfigurationValue

    ConfigurationValue.objects.create(name="expunge.interval", scope="global", scope_id=0, value="30")
    queued: list[dict] = []
    monkeypatch.setattr(tasks.vm_expunge_due_task, "apply_async", lambda **kwargs: queued.append(kwargs))
    agent = Agent(host_ids=[], default_queue=True, concurrency=1)
    agent._stop = tick = _OneTick()
    agent._expunge()
    assert tick.waits == [30.0, 30.0]
    assert queued == [{"queue": DEFAULT_QUEUE, "expires": 30.0}]
