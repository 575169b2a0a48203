"""Affinity groups: creating and deleting them, changing a stopped VM's groups, and placement honouring them
on simulator hosts (anti-affinity spreads, affinity gathers, an impossible combination is a 533 that changes
nothing)."""

from __future__ import annotations

import pytest

from compute import services
from compute.models import AffinityGroup, VirtualMachine
from compute.selectors_affinity import affinity_group_get, affinity_group_list
from compute.services_affinity import (
    affinity_constraints,
    affinity_group_create,
    affinity_group_delete,
    vm_update_affinity_groups,
)
from infrastructure.placement import Request, plan
from portal.configuration import GLOBAL
from portal.errors import InsufficientCapacity, InvalidParameter, InvalidState, NotFound, PermissionDenied
from portal.models import AsyncJob
from portal.services_configuration import config_update
from tests import factories

pytestmark = pytest.mark.django_db

ANTI, TOGETHER = AffinityGroup.Type.HOST_ANTI_AFFINITY, AffinityGroup.Type.HOST_AFFINITY


@pytest.fixture
def two_hosts(cloud):
    return cloud.host, factories.HostFactory(cluster=cloud.host.cluster, name="second")


def group(cloud, name, group_type, caller=None):
    created, _job = affinity_group_create(caller=caller or cloud.alice, name=name, group_type=group_type)
    return created


def deploy(cloud, run_jobs, name, groups=(), caller=None):
    with run_jobs():
        vm, job = services.vm_deploy(caller=caller or cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                     template=cloud.template, name=name, affinity_groups=list(groups))
    vm.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    return vm


def test_create_records_a_finished_job_and_validates(cloud, run_jobs):
    with run_jobs():
        created, job = affinity_group_create(caller=cloud.alice, name="web", group_type=ANTI, description="d")
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert job.result == {"object": "affinitygroup", "id": str(created.uuid)}
    assert created.account == cloud.alice.account

    with pytest.raises(InvalidParameter, match="already exists"):
        affinity_group_create(caller=cloud.alice, name="web", group_type=TOGETHER)
    with pytest.raises(InvalidParameter, match="invalid affinity group type"):
        affinity_group_create(caller=cloud.alice, name="x", group_type="rack anti-affinity")
    affinity_group_create(caller=cloud.bob, name="web", group_type=ANTI)  # names are per account
    assert AffinityGroup.objects.count() == 2


def test_groups_are_scoped_to_their_account(cloud):
    mine = group(cloud, "web", ANTI)

    assert list(affinity_group_list(caller=cloud.bob)) == []
    with pytest.raises(NotFound):
        affinity_group_get(caller=cloud.bob, group_id=str(mine.uuid))
    with pytest.raises(NotFound):
        affinity_group_get(caller=cloud.bob, name="web")
    with pytest.raises(PermissionDenied):
        affinity_group_delete(caller=cloud.bob, group=mine)
    assert affinity_group_get(caller=cloud.admin, name="web", account=cloud.alice.account) == mine


def test_anti_affinity_vms_land_on_different_hosts_and_a_third_has_no_room(cloud, run_jobs, two_hosts):
    spread = group(cloud, "spread", ANTI)
    first = deploy(cloud, run_jobs, "a1", [spread])
    second = deploy(cloud, run_jobs, "a2", [spread])

    assert {first.host_id, second.host_id} == {host.pk for host in two_hosts}
    vms_before = VirtualMachine.objects.count()
    with pytest.raises(InsufficientCapacity, match="affinity"):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, name="a3", affinity_groups=[spread])
    assert VirtualMachine.objects.count() == vms_before
    # Outside the group the zone still has room.
    deploy(cloud, run_jobs, "free")


def test_affinity_vms_land_on_the_same_host(cloud, run_jobs, two_hosts):
    # userdispersing alone would put the account's second VM on the other host.
    config_update(caller=cloud.admin, name="vm.allocation.algorithm", value="userdispersing", target=GLOBAL)
    together = group(cloud, "together", TOGETHER)
    first = deploy(cloud, run_jobs, "t1", [together])
    others = [deploy(cloud, run_jobs, f"t{n}", [together]) for n in (2, 3)]
    loose = deploy(cloud, run_jobs, "loose")

    assert {vm.host_id for vm in others} == {first.host_id}
    assert loose.host_id != first.host_id


def test_constraints_combine_groups(cloud, run_jobs, two_hosts):
    host_a, host_b = two_hosts
    spread, together = group(cloud, "spread", ANTI), group(cloud, "together", TOGETHER)
    on_a = factories_vm(cloud, host_a, [spread, together])
    on_b = factories_vm(cloud, host_b, [together])
    newcomer = factories_vm(cloud, None, [spread, together])

    avoid, only = affinity_constraints(newcomer)
    assert avoid == frozenset({host_a.pk})
    assert only == frozenset({host_a.pk, host_b.pk})
    request = Request(zone=cloud.zone, account=newcomer.account, cpu_mhz=1000, memory_bytes=2**29,
                      affinity_avoid_hosts=avoid, affinity_only_hosts=only)
    assert plan(request) == [host_b.pk]
    # Host affinity with nobody placed yet constrains nothing; placed members elsewhere exclude everything.
    assert affinity_constraints(factories_vm(cloud, None, [])) == (frozenset(), None)
    assert on_b.pk != on_a.pk
    assert plan(Request(zone=cloud.zone, account=None, cpu_mhz=1000, memory_bytes=2**29,
                        affinity_only_hosts=frozenset())) == []


def factories_vm(cloud, host, groups):
    """A VM row placed on `host` (Running) or unplaced (Stopped), without running anything."""
    vm = VirtualMachine.objects.create(
        name=f"vm{VirtualMachine.objects.count()}", zone=cloud.zone, host=host,
        state="Running" if host else "Stopped", service_offering=cloud.offering, template=cloud.template,
        account=cloud.alice.account, cpu_number=1, cpu_speed=1000, memory=512)
    vm.affinity_groups.set(groups)
    return vm


def test_update_vm_groups_only_when_stopped(cloud, run_jobs, two_hosts):
    spread, other = group(cloud, "spread", ANTI), group(cloud, "other", TOGETHER)
    vm = deploy(cloud, run_jobs, "u1", [spread])

    with pytest.raises(InvalidState):
        vm_update_affinity_groups(caller=cloud.alice, vm=vm, groups=[other])
    assert list(vm.affinity_groups.all()) == [spread]

    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    with run_jobs():
        job = vm_update_affinity_groups(caller=cloud.alice, vm=vm, groups=[other])
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert job.result == {"object": "virtualmachine", "id": str(vm.uuid)}
    assert list(vm.affinity_groups.all()) == [other]

    bobs = group(cloud, "bobs", ANTI, caller=cloud.bob)
    with pytest.raises(InvalidParameter, match="another account"):
        vm_update_affinity_groups(caller=cloud.admin, vm=vm, groups=[bobs])
    with pytest.raises(PermissionDenied):
        vm_update_affinity_groups(caller=cloud.bob, vm=vm, groups=[bobs])
    vm_update_affinity_groups(caller=cloud.alice, vm=vm, groups=[])
    assert not vm.affinity_groups.exists()


def test_deleting_a_group_in_use_removes_the_memberships(cloud, run_jobs, two_hosts):
    spread = group(cloud, "spread", ANTI)
    vm = deploy(cloud, run_jobs, "d1", [spread])

    with run_jobs():
        job = affinity_group_delete(caller=cloud.alice, group=spread)
    job.refresh_from_db()

    assert job.status == AsyncJob.Status.SUCCEEDED
    assert not AffinityGroup.objects.exists()
    assert not vm.affinity_groups.exists()
    assert VirtualMachine.objects.filter(pk=vm.pk, state="Running").exists()
