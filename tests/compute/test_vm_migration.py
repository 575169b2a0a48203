"""Live migration (compute.services_migration) between two simulator hosts, through the service layer and
through the CloudStack commands.

Two hosts on test:///default would share one libvirt instance (a migration would move nothing), so the second
host gets its own in-process test driver loaded from a node file: the domain really leaves the source's
libvirt and appears in the target's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compute import services
from compute.models import VirtualMachine
from compute.services_migration import hosts_for_migration, vm_migrate
from compute.services_vm_snapshots import vm_snapshot_create
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import InsufficientCapacity, InvalidParameter, InvalidState, PermissionDenied, Unsupported
from portal.models import AsyncJob, ConfigurationValue, Event
from tests import factories
from tests.cloudstack.conftest import api, api_json, keys  # noqa: F401 (registers the fixtures)
from tests.support.vms import running_vm

pytestmark = pytest.mark.django_db

NODE = ("<node><cpu><mhz>2000</mhz><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>8</cores>"
        "<threads>1</threads></cpu><memory>8388608</memory></node>")


@pytest.fixture
def target(cloud, tmp_path: Path, vm) -> Host:
    """A second host in the first host's cluster, on its own test driver instance (added after the VM's
    deploy, so the planner put the VM on cloud.host)."""
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    return factories.HostFactory(cluster=cloud.host.cluster, name="target", url=f"test://{node}")


@pytest.fixture
def pool(cloud):
    return factories.StoragePoolFactory(cluster=cloud.host.cluster, name="shared")


def deploy(cloud, run_jobs, name: str = "web1") -> VirtualMachine:
    return running_vm(cloud, run_jobs, name=name, host=None)


@pytest.fixture
def vm(cloud, run_jobs, pool) -> VirtualMachine:
    """A running VM on cloud.host with its root disk on the cluster's shared pool."""
    vm = deploy(cloud, run_jobs)
    assert vm.host_id == cloud.host.pk and vm.state == "Running"
    assert {v.storage_pool_id for v in vm.volumes.all()} == {pool.pk}
    return vm


def capacity(host: Host) -> tuple[int, int]:
    host.refresh_from_db()
    return host.cpu_allocated, host.memory_allocated


def vm_row(vm: VirtualMachine) -> dict:
    return VirtualMachine.objects.filter(pk=vm.pk).values().get()


def assert_migrated(cloud, vm: VirtualMachine, target: Host, before_src, before_dst) -> None:
    vm.refresh_from_db()
    assert vm.state == "Running"
    assert (vm.host_id, vm.last_host_id) == (target.pk, target.pk)
    assert hv.domain_state(target.url, vm.instance_name) == hv.DomainState.RUNNING
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.MISSING
    assert capacity(cloud.host) == (before_src[0] - vm.cpu_mhz, before_src[1] - vm.memory_bytes)
    assert capacity(target) == (before_dst[0] + vm.cpu_mhz, before_dst[1] + vm.memory_bytes)


def test_migrate_to_a_chosen_host_moves_the_domain_and_the_capacity(cloud, run_jobs, vm, target):
    before_src, before_dst = capacity(cloud.host), capacity(target)
    assert before_src[0] >= vm.cpu_mhz and before_dst == (0, 0)
    with run_jobs():
        job = vm_migrate(caller=cloud.admin, vm=vm, host=target)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert_migrated(cloud, vm, target, before_src, before_dst)


def test_migrate_without_a_host_lets_the_planner_pick_the_other_host(cloud, run_jobs, vm, target):
    before_src, before_dst = capacity(cloud.host), capacity(target)
    with run_jobs():
        vm_migrate(caller=cloud.admin, vm=vm)
    assert_migrated(cloud, vm, target, before_src, before_dst)


def test_refusals_change_nothing(cloud, run_jobs, vm, target):
    before, src, dst = vm_row(vm), capacity(cloud.host), capacity(target)
    with pytest.raises(PermissionDenied):
        vm_migrate(caller=cloud.alice, vm=vm, host=target)
    with pytest.raises(PermissionDenied):
        hosts_for_migration(caller=cloud.alice, vm=vm)
    with pytest.raises(InvalidParameter, match="already runs"):
        vm_migrate(caller=cloud.admin, vm=vm, host=cloud.host)
    elsewhere = factories.HostFactory(name="elsewhere")  # another cluster: does not reach the shared pool
    with pytest.raises(InvalidParameter):
        vm_migrate(caller=cloud.admin, vm=vm, host=elsewhere)
    assert vm_row(vm) == before
    assert (capacity(cloud.host), capacity(target)) == (src, dst)
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    assert hv.domain_state(target.url, vm.instance_name) == hv.DomainState.MISSING


def test_a_stopped_vm_is_refused(cloud, run_jobs, vm, target):
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    before, dst = vm_row(vm), capacity(target)
    with pytest.raises(InvalidState, match="running"):
        vm_migrate(caller=cloud.admin, vm=vm, host=target)
    with pytest.raises(InvalidState):
        hosts_for_migration(caller=cloud.admin, vm=vm)
    assert vm_row(vm) == before and capacity(target) == dst


def test_a_vm_with_vm_snapshots_is_refused(cloud, run_jobs, vm, target):
    with run_jobs():
        vm_snapshot_create(caller=cloud.alice, vm=vm, name="s1", memory=True)
    vm.refresh_from_db()
    assert vm.vm_snapshots.exists()
    before, src, dst = vm_row(vm), capacity(cloud.host), capacity(target)
    with pytest.raises(InvalidState, match="snapshots"):
        vm_migrate(caller=cloud.admin, vm=vm, host=target)
    assert vm_row(vm) == before and (capacity(cloud.host), capacity(target)) == (src, dst)


def test_a_vm_on_local_storage_is_refused(cloud, run_jobs, tmp_path):
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    target = factories.HostFactory(cluster=cloud.host.cluster, name="target", url=f"test://{node}")
    vm = deploy(cloud, run_jobs)  # no primary storage in the zone: the root disk is on its host's local pool
    source = vm.host
    before, dst = vm_row(vm), capacity(target if source.pk != target.pk else cloud.host)
    other = cloud.host if source.pk == target.pk else target
    with pytest.raises(Unsupported, match="local storage"):
        vm_migrate(caller=cloud.admin, vm=vm, host=other)
    with pytest.raises(Unsupported, match="local storage"):
        vm_migrate(caller=cloud.admin, vm=vm)
    assert vm_row(vm) == before and capacity(other) == dst
    [candidate] = hosts_for_migration(caller=cloud.admin, vm=vm)
    assert candidate.host == other and not candidate.suitable and candidate.requires_storage_motion


def test_hosts_for_migration_reports_suitability(cloud, vm, target):
    disabled = factories.HostFactory(cluster=cloud.host.cluster, name="disabled", resource_state="Disabled")
    tagged = factories.HostFactory(cluster=cloud.host.cluster, name="full", memory_total=vm.memory_bytes // 2)
    candidates = hosts_for_migration(caller=cloud.admin, vm=vm)
    by_name = {c.host.name: c for c in candidates}
    assert set(by_name) == {"target", "disabled", "full"}
    assert candidates[0].host == target  # suitable hosts first
    assert by_name["target"].suitable and not by_name["target"].requires_storage_motion
    assert by_name["target"].has_enough_capacity and by_name["target"].reason == ""
    assert not by_name["disabled"].suitable and "enabled" in by_name["disabled"].reason
    assert not by_name["full"].suitable and not by_name["full"].has_enough_capacity
    assert not by_name["full"].requires_storage_motion
    assert (disabled.name, tagged.name) == ("disabled", "full")


def test_cloudstack_find_hosts_and_migrate(cloud, request, run_jobs, vm, target):
    call = request.getfixturevalue("api_json")
    status, body = call("admin", "findHostsForMigration", virtualmachineid=str(vm.uuid))
    assert status == 200 and body["count"] == 1, body
    [host] = body["host"]
    assert host["id"] == str(target.uuid) and host["name"] == "target"
    assert host["suitableformigration"] is True and host["requiresStorageMotion"] is False
    assert host["hasenoughcapacity"] is True
    before_src, before_dst = capacity(cloud.host), capacity(target)
    with run_jobs():
        status, body = call("admin", "migrateVirtualMachine", virtualmachineid=str(vm.uuid),
                                hostid=str(target.uuid))
    assert status == 200 and body["jobid"], body
    status, result = call("admin", "queryAsyncJobResult", jobid=body["jobid"])
    assert status == 200 and result["jobstatus"] == 1, result
    assert result["jobresult"]["virtualmachine"]["hostid"] == str(target.uuid)
    assert_migrated(cloud, vm, target, before_src, before_dst)


def test_cloudstack_migrate_refusals(cloud, request, run_jobs, vm, target):
    call = request.getfixturevalue("api_json")
    status, body = call("admin", "migrateVirtualMachine", virtualmachineid=str(vm.uuid),
                            hostid=str(cloud.host.uuid))
    assert status == 431 and "already runs" in body["errortext"], body
    status, _body = call("alice", "migrateVirtualMachine", virtualmachineid=str(vm.uuid),
                             hostid=str(target.uuid))
    assert status == 401
    vm.refresh_from_db()
    assert (vm.state, vm.host_id) == ("Running", cloud.host.pk)
    assert hv.domain_state(target.url, vm.instance_name) == hv.DomainState.MISSING


def test_a_failed_migration_keeps_the_vm_running_on_its_source(cloud, run_jobs, vm, tmp_path):
    """The target's libvirt cannot be reached (its node file is missing): the job fails, the VM is Running on
    its source as before, and the target's reservation is released."""
    broken = factories.HostFactory(cluster=cloud.host.cluster, name="broken",
                                   url=f"test://{tmp_path / 'missing.xml'}")
    before_src = capacity(cloud.host)
    with run_jobs():
        job = vm_migrate(caller=cloud.admin, vm=vm, host=broken)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.FAILED, job.result
    vm.refresh_from_db()
    assert (vm.state, vm.host_id) == ("Running", cloud.host.pk)
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    assert capacity(cloud.host) == before_src and capacity(broken) == (0, 0)
    assert Event.objects.filter(type="VM.MIGRATE", level=Event.Level.ERROR, resource_id=str(vm.uuid)).exists()


def test_hosts_for_migration_names_hosts_that_do_not_reach_the_disks_or_lack_tags(cloud, vm, target):
    other_cluster = factories.ClusterFactory(pod=cloud.host.pod)
    factories.HostFactory(cluster=other_cluster, name="elsewhere")
    factories.HostFactory(name="other-zone")  # another zone: never a candidate
    cloud.offering.host_tags = "ssd"
    cloud.offering.save()
    tagged = factories.HostFactory(cluster=cloud.host.cluster, name="tagged", host_tags="ssd")
    by_name = {c.host.name: c for c in hosts_for_migration(caller=cloud.admin, vm=vm)}
    assert set(by_name) == {"target", "elsewhere", "tagged"}
    assert not by_name["elsewhere"].suitable and by_name["elsewhere"].requires_storage_motion
    assert not by_name["target"].suitable and "tags" in by_name["target"].reason
    assert by_name["tagged"].suitable
    with pytest.raises(InvalidParameter, match="host tags"):
        vm_migrate(caller=cloud.admin, vm=vm, host=target)
    with pytest.raises(InvalidParameter, match="primary storage"):
        vm_migrate(caller=cloud.admin, vm=vm, host=by_name["elsewhere"].host)
    assert tagged.host_tags == "ssd"


def test_no_room_on_the_chosen_host_or_anywhere_is_insufficient_capacity(cloud, vm, target):
    Host.objects.filter(pk=target.pk).update(memory_allocated=target.memory_total)
    before, src = vm_row(vm), capacity(cloud.host)
    with pytest.raises(InsufficientCapacity):
        vm_migrate(caller=cloud.admin, vm=vm, host=target)
    with pytest.raises(InsufficientCapacity):
        vm_migrate(caller=cloud.admin, vm=vm)  # the planner finds no other host with room
    assert vm_row(vm) == before and capacity(cloud.host) == src
    assert capacity(target) == (0, target.memory_total)


def test_a_vm_started_on_another_host_is_defined_there_only(cloud, run_jobs, vm, target):
    """Stopped on one host and started on another (shared storage), a VM leaves no shut-off definition behind:
    otherwise destroying it would undefine it on one host and leave the other."""
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.SHUTOFF
    with run_jobs():
        services.vm_start(caller=cloud.admin, vm=vm, host=target)
    vm.refresh_from_db()
    assert (vm.state, vm.host_id) == ("Running", target.pk)
    assert hv.domain_state(target.url, vm.instance_name) == hv.DomainState.RUNNING
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.MISSING

    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    assert {hv.domain_state(h.url, vm.instance_name) for h in (cloud.host, target)} == {hv.DomainState.MISSING}


def test_a_vm_with_snapshots_starts_where_its_snapshots_are(cloud, run_jobs, vm, target):
    """libvirt keeps snapshot records with the definition on the host the VM last ran on: the planner is not
    asked, even though it would pick the emptier host."""
    ConfigurationValue.objects.create(name="vm.allocation.algorithm", scope="global", scope_id=0,
                                      value="firstfitleastconsumed")
    with run_jobs():  # cloud.host is now the fuller host
        services.vm_deploy(caller=cloud.admin, account=cloud.alice.account, zone=cloud.zone,
                           service_offering=cloud.offering, template=cloud.template, name="filler",
                           host=cloud.host)
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    with run_jobs():
        vm_snapshot_create(caller=cloud.alice, vm=vm, name="before")
    for _ in range(3):
        with run_jobs():
            services.vm_start(caller=cloud.alice, vm=vm)
        vm.refresh_from_db()
        assert vm.host_id == cloud.host.pk
        assert hv.snapshot_list(cloud.host.url, vm.instance_name) != []
        with run_jobs():
            services.vm_stop(caller=cloud.alice, vm=vm)
