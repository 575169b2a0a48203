"""Deployment planners and host allocators (infrastructure.placement.planners) on simulator hosts."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.limits import ResourceCount
from compute import services as compute_services
from compute.models import VirtualMachine
from infrastructure import placement
from infrastructure.models import Host
from infrastructure.placement import Request, place_vm, plan, planners
from portal.configuration import GLOBAL, target_for
from portal.errors import InsufficientCapacity
from portal.services_configuration import config_update
from storage.models import Volume
from tests import factories
from tests.support.queries import assert_queries_constant

pytestmark = pytest.mark.django_db

GIB = 2**30


@pytest.fixture
def zone_of_three(cloud):
    """cloud.host plus two more hosts: one more in its cluster, one in a second cluster of a second pod."""
    first = cloud.host
    sibling = factories.HostFactory(cluster=first.cluster, name="sibling")
    other_cluster = factories.ClusterFactory(pod=factories.PodFactory(zone=cloud.zone))
    far = factories.HostFactory(cluster=other_cluster, name="far")
    return first, sibling, far


def _set(cloud, name, value, **scope):
    config_update(caller=cloud.admin, name=name, value=value, target=target_for(**scope) if scope else GLOBAL)


def _request(cloud, **kwargs) -> Request:
    values = {"zone": cloud.zone, "account": cloud.alice.account, "cpu_mhz": 1000, "memory_bytes": 512 * 2**20}
    return Request(**{**values, **kwargs})


def _deploy(cloud, run_jobs, name, offering=None, caller=None) -> VirtualMachine:
    with run_jobs():
        vm, _job = compute_services.vm_deploy(caller=caller or cloud.alice, zone=cloud.zone,
                                              service_offering=offering or cloud.offering,
                                              template=cloud.template, name=name)
    vm.refresh_from_db()
    return vm


def test_firstfit_allocator_orders_hosts_by_age_within_the_roomiest_cluster(cloud, zone_of_three):
    first, sibling, far = zone_of_three
    _set(cloud, "vm.allocation.algorithm", "firstfit")
    # FirstFitPlanner: the cluster with more free CPU first (two empty hosts beat one).
    assert plan(_request(cloud)) == [first.pk, sibling.pk, far.pk]
    Host.objects.filter(pk__in=[first.pk, sibling.pk]).update(cpu_allocated=10000)
    assert plan(_request(cloud)) == [far.pk, first.pk, sibling.pk]


def test_least_consumed_allocator_prefers_the_emptiest_host(cloud, zone_of_three):
    first, sibling, _far = zone_of_three
    _set(cloud, "vm.allocation.algorithm", "firstfitleastconsumed")
    Host.objects.filter(pk=first.pk).update(cpu_allocated=4000)
    order = plan(_request(cloud))
    assert order.index(sibling.pk) < order.index(first.pk)


def test_random_allocator_is_random_but_seedable(cloud, zone_of_three):
    _set(cloud, "vm.allocation.algorithm", "random")
    orders = set()
    for seed in range(20):
        placement.rng.seed(seed)
        orders.add(tuple(plan(_request(cloud))))
    assert len(orders) > 1  # not always the same order...
    placement.rng.seed(7)
    again = plan(_request(cloud))
    placement.rng.seed(7)
    assert plan(_request(cloud)) == again  # ...but reproducible


def test_user_dispersing_planner_spreads_an_accounts_vms_over_clusters_and_hosts(cloud, zone_of_three, run_jobs):
    _set(cloud, "vm.deployment.planner", "UserDispersingPlanner")
    _set(cloud, "vm.allocation.algorithm", "userdispersing")
    hosts = [_deploy(cloud, run_jobs, f"d{n}").host_id for n in range(3)]
    assert sorted(hosts) == sorted(h.pk for h in zone_of_three)  # one VM on each host
    # Another account's VMs do not count against alice: bob's first VM may go anywhere, alice's fourth
    # goes to a host holding one of hers (all hold one) — the spread is per account.
    assert VirtualMachine.objects.filter(account=cloud.alice.account).values("host").distinct().count() == 3


def test_user_concentrated_pod_planner_keeps_an_account_in_its_pod(cloud, zone_of_three, run_jobs):
    _first, _sibling, far = zone_of_three
    _set(cloud, "vm.deployment.planner", "UserConcentratedPodPlanner")
    _set(cloud, "vm.allocation.algorithm", "userconcentratedpod_firstfit")
    # Alice's first VM lands in far's pod because it is placed there explicitly; later ones follow it.
    with run_jobs():
        vm, _ = compute_services.vm_deploy(caller=cloud.admin, zone=cloud.zone, service_offering=cloud.offering,
                                           template=cloud.template, name="seed", account=cloud.alice.account)
    Host.objects.filter(pk=vm.host_id).update(memory_allocated=0, cpu_allocated=0)
    VirtualMachine.objects.filter(pk=vm.pk).update(host=far)
    for n in range(2):
        assert _deploy(cloud, run_jobs, f"c{n}").host.pod_id == far.pod_id


def test_offering_planner_wins_over_the_global_setting(cloud, zone_of_three, run_jobs):
    _set(cloud, "vm.deployment.planner", "FirstFitPlanner")
    _set(cloud, "vm.allocation.algorithm", "userdispersing")
    dispersing = factories.ServiceOfferingFactory(name="spread", deployment_planner="UserDispersingPlanner")
    clusters = {_deploy(cloud, run_jobs, f"o{n}", offering=dispersing).host.cluster_id for n in range(2)}
    assert len(clusters) == 2  # FirstFit would have filled the roomier cluster first


def test_host_tags_of_the_offering_exclude_other_hosts(cloud, zone_of_three, run_jobs):
    first, sibling, far = zone_of_three
    Host.objects.filter(pk=far.pk).update(host_tags="ssd,gpu")
    Host.objects.filter(pk=first.pk).update(host_tags="gpux")  # a tag that merely contains "gpu"
    tagged = factories.ServiceOfferingFactory(name="gpu", host_tags="gpu")
    for n in range(4):
        assert _deploy(cloud, run_jobs, f"t{n}", offering=tagged).host_id == far.pk
    Host.objects.filter(pk=far.pk).update(memory_allocated=8 * GIB)
    with pytest.raises(InsufficientCapacity, match="host tags gpu"):
        _deploy(cloud, run_jobs, "none-left", offering=tagged)
    assert not VirtualMachine.objects.filter(name="none-left").exists()
    untagged = plan(_request(cloud))
    assert set(untagged) == {first.pk, sibling.pk}  # no tag asked for: any host with room


def test_cluster_over_its_disable_threshold_is_skipped(cloud, zone_of_three):
    first, sibling, far = zone_of_three
    Host.objects.filter(pk__in=[first.pk, sibling.pk]).update(memory_allocated=7 * GIB)  # 87.5% > 85%
    assert plan(_request(cloud)) == [far.pk]
    _set(cloud, "cluster.memory.allocated.capacity.disablethreshold", "0.95", cluster=first.cluster)
    assert set(plan(_request(cloud))) == {first.pk, sibling.pk, far.pk}


def test_overprovisioning_is_applied_in_the_filter(cloud):
    Host.objects.filter(pk=cloud.host.pk).update(memory_allocated=8 * GIB)
    _set(cloud, "cluster.memory.allocated.capacity.disablethreshold", "1")
    assert plan(_request(cloud)) == []
    cluster = cloud.host.cluster
    cluster.memory_overprovisioning = 2.0
    cluster.save()
    assert plan(_request(cloud)) == [cloud.host.pk]


def test_avoid_set_excludes_hosts_from_the_plan_and_the_reservation(cloud, zone_of_three):
    first, sibling, far = zone_of_three
    _set(cloud, "vm.allocation.algorithm", "firstfit")
    assert plan(_request(cloud), avoid={first.pk}) == [sibling.pk, far.pk]
    result = place_vm(_request(cloud), avoid={first.pk, sibling.pk})
    assert result.host == far and result.avoided == {first.pk, sibling.pk}
    with pytest.raises(InsufficientCapacity):
        place_vm(_request(cloud), avoid={first.pk, sibling.pk, far.pk})


def test_a_host_whose_storage_is_full_is_released_and_the_next_one_tried(cloud, zone_of_three, run_jobs):
    first, _sibling, far = zone_of_three
    _set(cloud, "vm.allocation.algorithm", "firstfit")
    factories.StoragePoolFactory(cluster=first.cluster, capacity_bytes=2**20)  # first's cluster: no room
    roomy = factories.StoragePoolFactory(cluster=far.cluster)
    result = place_vm(_request(cloud, root_size=64 * 2**20))
    assert result.host == far and result.storage_pool == roomy
    assert first.pk in result.avoided
    first.refresh_from_db()
    assert first.memory_allocated == 0 and first.cpu_allocated == 0  # its reservation was given back


def test_storage_tags_choose_the_pool_and_a_host_that_reaches_it(cloud, zone_of_three, run_jobs):
    first, _sibling, far = zone_of_three
    factories.StoragePoolFactory(cluster=first.cluster, tags="hdd")
    fast = factories.StoragePoolFactory(cluster=far.cluster, tags="ssd")
    offering = factories.ServiceOfferingFactory(name="fast", storage_tags="ssd")
    vm = _deploy(cloud, run_jobs, "on-ssd", offering=offering)
    assert vm.host_id == far.pk
    root = Volume.objects.get(virtual_machine=vm)
    assert root.storage_pool == fast
    fast.refresh_from_db()
    assert fast.allocated_bytes == root.size


def test_no_pool_with_room_fails_with_533_and_leaves_nothing(cloud, zone_of_three):
    first, _sibling, _far = zone_of_three
    factories.StoragePoolFactory(cluster=first.cluster, capacity_bytes=2**20)  # far too small
    with pytest.raises(InsufficientCapacity, match="primary storage"):
        compute_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                   template=cloud.template, name="nowhere")
    assert not VirtualMachine.objects.filter(name="nowhere").exists()
    assert not Volume.objects.filter(account=cloud.alice.account).exists()
    assert not ResourceCount.objects.filter(account=cloud.alice.account, count__gt=0).exists()
    assert not Host.objects.filter(memory_allocated__gt=0).exists()


def test_zone_without_primary_storage_keeps_host_local_disks(cloud, run_jobs):
    vm = _deploy(cloud, run_jobs, "local")
    assert Volume.objects.get(virtual_machine=vm).storage_pool is None


def test_expunging_a_vm_gives_its_root_disk_room_back_to_the_pool(cloud, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, path="/cirrostack/test/expunge-pool")
    vm = _deploy(cloud, run_jobs, "short-lived")
    pool.refresh_from_db()
    assert pool.allocated_bytes == cloud.template.size
    with run_jobs():
        compute_services.vm_destroy(caller=cloud.admin, vm=vm)
    with run_jobs():
        compute_services.vm_expunge(caller=cloud.admin, vm=VirtualMachine.objects.get(pk=vm.pk))
    pool.refresh_from_db()
    assert pool.allocated_bytes == 0


def test_a_host_filled_by_a_racing_deploy_after_planning_is_avoided(cloud, zone_of_three, monkeypatch):
    """Between the plan and the reservation another deploy takes the first host's last room (simulated by
    filling it right after planning): the reservation fails, the host joins the avoid set, the next is used."""
    first, sibling, _far = zone_of_three
    _set(cloud, "vm.allocation.algorithm", "firstfit")
    real_plan = planners._plan

    def plan_then_lose_the_first_host(request, avoid):
        order = real_plan(request, avoid)
        Host.objects.filter(pk=first.pk).update(memory_allocated=8 * GIB)
        return order

    monkeypatch.setattr(planners, "_plan", plan_then_lose_the_first_host)
    result = place_vm(_request(cloud))
    assert result.host == sibling and result.avoided == {first.pk}
    first.refresh_from_db()
    assert first.memory_allocated == 8 * GIB  # untouched by the failed reservation


@pytest.mark.parametrize("planner,algorithm", [("FirstFitPlanner", "firstfit"),
                                               ("UserDispersingPlanner", "userdispersing"),
                                               ("UserConcentratedPodPlanner", "firstfitleastconsumed")])
def test_a_placement_decision_costs_the_same_queries_whatever_the_number_of_hosts(cloud, planner, algorithm):
    _set(cloud, "vm.allocation.algorithm", algorithm)
    factories.StoragePoolFactory(cluster=cloud.host.cluster)

    def grow():
        for _ in range(3):
            cluster = factories.ClusterFactory(pod=factories.PodFactory(zone=cloud.zone))
            for _ in range(4):
                factories.HostFactory(cluster=cluster, memory_allocated=8 * GIB)  # full: filtered out in SQL
        for _ in range(4):
            factories.HostFactory(cluster=cloud.host.cluster)  # candidates, each reaching the pool

    def decide():
        with transaction.atomic():
            result = place_vm(_request(cloud, planner=planner, root_size=2**20))
            transaction.set_rollback(True)
        return result

    before, after = assert_queries_constant(decide, grow, at_most=18)
    assert before.storage_pool is not None and after.storage_pool is not None


def test_a_first_deploy_that_fails_on_its_host_is_retried_on_another(cloud, run_jobs):
    from portal.models import AsyncJob, Event

    _set(cloud, "vm.allocation.algorithm", "firstfit")
    broken = cloud.host  # the first host firstfit picks, whose libvirt does not answer
    Host.objects.filter(pk=broken.pk).update(url="qemu+tcp://127.0.0.1:1/system", domain_type="qemu")
    good = factories.HostFactory(cluster=broken.cluster, name="good")
    with run_jobs():
        vm, job = compute_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                             template=cloud.template, name="retried")
    vm.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert vm.state == "Running" and vm.host == good
    assert job.queue == good.queue and job.params["avoid"] == [broken.pk]
    broken.refresh_from_db()
    assert broken.memory_allocated == 0 and broken.cpu_allocated == 0  # its reservation went back
    assert Event.objects.filter(type="VM.START", level="WARN", description__contains=broken.name).exists()


def test_a_failed_deploy_with_no_other_host_ends_in_error(cloud, run_jobs):
    from portal.models import AsyncJob

    Host.objects.filter(pk=cloud.host.pk).update(url="qemu+tcp://127.0.0.1:1/system", domain_type="qemu")
    with run_jobs():
        vm, job = compute_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                             template=cloud.template, name="stuck")
    vm.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.FAILED and vm.state == "Error"
    cloud.host.refresh_from_db()
    assert cloud.host.memory_allocated == 0
