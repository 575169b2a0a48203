"""VM snapshots through the service layer (compute.services_vm_snapshots), for real on libvirt's test driver."""

from __future__ import annotations

import pytest

from accounts.limits import ResourceCount, ResourceType
from compute import services, services_vm_ops
from compute.models import VirtualMachine, VMSnapshot
from compute.selectors_vm_snapshots import vm_snapshot_get, vm_snapshot_list
from compute.services_vm_snapshots import (
    vm_snapshot_busy,
    vm_snapshot_create,
    vm_snapshot_delete,
    vm_snapshot_revert,
    vm_snapshots_discard,
)
from infrastructure import hypervisor as hv
from portal.errors import InvalidParameter, InvalidState, LimitExceeded, NotFound, PermissionDenied, Unsupported
from portal.models import AsyncJob, ConfigurationValue, Event
from storage.models import Volume
from tests import factories
from tests.support.queries import assert_queries_constant
from tests.support.vms import running_vm, stop_vm

pytestmark = pytest.mark.django_db


def deploy(cloud, run_jobs, name="web1") -> VirtualMachine:
    return running_vm(cloud, run_jobs, name=name)


stop = stop_vm


def take(cloud, run_jobs, vm, **kwargs) -> tuple[VMSnapshot, AsyncJob]:
    with run_jobs():
        snapshot, job = vm_snapshot_create(caller=cloud.alice, vm=vm, **kwargs)
    snapshot.refresh_from_db()
    job.refresh_from_db()
    return snapshot, job


def rows(vm) -> list[dict]:
    return list(VMSnapshot.objects.filter(virtual_machine=vm).order_by("pk").values())


def vm_row(vm) -> dict:
    return VirtualMachine.objects.filter(pk=vm.pk).values().get()


def set_config(name: str, value: str) -> None:
    ConfigurationValue.objects.update_or_create(name=name, scope="global", scope_id=0, defaults={"value": value})


def test_memory_snapshot_of_a_running_vm_and_revert_keeps_it_running(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    snapshot, job = take(cloud, run_jobs, vm, name="before-upgrade", description="first", memory=True)
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert (snapshot.state, snapshot.snapshot_type, snapshot.current) == ("Ready", "DiskAndMemory", True)
    assert snapshot.display_name == "before-upgrade"
    assert snapshot.name.startswith(f"{vm.instance_name}_VS_")
    assert snapshot.name in hv.snapshot_list(cloud.host.url, vm.instance_name)
    assert Event.objects.filter(type="VMSNAPSHOT.CREATE", state=Event.State.COMPLETED).exists()

    second, _job = take(cloud, run_jobs, vm, memory=True)
    assert second.parent == snapshot and second.current
    assert second.display_name == second.name  # no name given: CloudStack's generated one
    snapshot.refresh_from_db()
    assert not snapshot.current

    with run_jobs():
        job = vm_snapshot_revert(caller=cloud.alice, snapshot=snapshot)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert job.result == {"object": "virtualmachine", "id": str(vm.uuid)}
    vm.refresh_from_db()
    snapshot.refresh_from_db()
    second.refresh_from_db()
    assert vm.state == "Running"
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    assert (snapshot.state, snapshot.current, second.current) == ("Ready", True, False)
    assert Event.objects.filter(type="VMSNAPSHOT.REVERTTOSNAPSHOT", state=Event.State.COMPLETED).exists()


def test_disk_snapshot_of_a_stopped_vm_revert_restores_offering_and_size(cloud, run_jobs):
    vm = stop(cloud, run_jobs, deploy(cloud, run_jobs))
    snapshot, job = take(cloud, run_jobs, vm, name="small")
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert (snapshot.state, snapshot.snapshot_type) == ("Ready", "Disk")
    assert (snapshot.service_offering, snapshot.cpu_number, snapshot.memory) == (cloud.offering, 1, 512)

    bigger = factories.ServiceOfferingFactory(name="Medium", cpu_number=2, cpu_speed=1000, memory=1024)
    services_vm_ops.vm_change_offering(caller=cloud.alice, vm=vm, service_offering=bigger)
    with run_jobs():
        job = vm_snapshot_revert(caller=cloud.alice, snapshot=snapshot)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    assert (vm.service_offering, vm.cpu_number, vm.cpu_speed, vm.memory) == (
        cloud.offering, cloud.offering.cpu_number, cloud.offering.cpu_speed, 512)
    counts = dict(ResourceCount.objects.filter(account=cloud.alice.account).values_list("resource_type", "count"))
    assert counts[ResourceType.CPU] == 1 and counts[ResourceType.MEMORY] == 512

    with run_jobs():
        services.vm_start(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Running"


def test_refusals_change_nothing(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    memory_snapshot, _job = take(cloud, run_jobs, vm, name="mem", memory=True)
    before_vm, before_rows = vm_row(vm), rows(vm)
    jobs = AsyncJob.objects.count()
    with pytest.raises(InvalidParameter, match="disk-only"):
        vm_snapshot_create(caller=cloud.alice, vm=vm)
    with pytest.raises(InvalidParameter, match="already exists"):
        vm_snapshot_create(caller=cloud.alice, vm=vm, name="mem", memory=True)
    with pytest.raises(PermissionDenied):
        vm_snapshot_create(caller=cloud.bob, vm=vm, memory=True)
    with pytest.raises(PermissionDenied):
        vm_snapshot_revert(caller=cloud.bob, snapshot=memory_snapshot)
    with pytest.raises(PermissionDenied):
        vm_snapshot_delete(caller=cloud.bob, snapshot=memory_snapshot)
    assert (vm_row(vm), rows(vm), AsyncJob.objects.count()) == (before_vm, before_rows, jobs)

    vm = stop(cloud, run_jobs, vm)
    before_vm, before_rows = vm_row(vm), rows(vm)
    jobs = AsyncJob.objects.count()
    with pytest.raises(InvalidParameter, match="Can not snapshot memory"):
        vm_snapshot_create(caller=cloud.alice, vm=vm, memory=True)
    with pytest.raises(InvalidParameter, match="VM state change"):
        vm_snapshot_revert(caller=cloud.alice, snapshot=memory_snapshot)
    assert (vm_row(vm), rows(vm), AsyncJob.objects.count()) == (before_vm, before_rows, jobs)


def test_a_running_vm_cannot_revert_to_a_disk_only_snapshot(cloud, run_jobs):
    vm = stop(cloud, run_jobs, deploy(cloud, run_jobs))
    disk, _job = take(cloud, run_jobs, vm)
    with run_jobs():
        services.vm_start(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    before = rows(vm)
    with pytest.raises(InvalidParameter, match="VM state change"):
        vm_snapshot_revert(caller=cloud.alice, snapshot=disk)
    assert rows(vm) == before


def test_one_snapshot_operation_per_vm_and_vm_states(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    # Outside run_jobs the job stays pending: the snapshot is still Creating.
    creating, _job = vm_snapshot_create(caller=cloud.alice, vm=vm, memory=True)
    assert creating.state == "Creating" and vm_snapshot_busy(vm)
    with pytest.raises(InvalidState, match="active vm snapshot"):
        vm_snapshot_create(caller=cloud.alice, vm=vm, memory=True)
    with pytest.raises(InvalidState, match="Created or Error"):
        vm_snapshot_delete(caller=cloud.alice, snapshot=creating)
    VirtualMachine.objects.filter(pk=vm.pk).update(state="Migrating")
    with pytest.raises(InvalidState, match="running or Stopped"):
        vm_snapshot_create(caller=cloud.alice, vm=vm, memory=True)
    assert VMSnapshot.objects.filter(virtual_machine=vm).count() == 1


def test_max_snapshots_per_vm(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    set_config("vmsnapshot.max", "2")
    take(cloud, run_jobs, vm, memory=True)
    take(cloud, run_jobs, vm, memory=True)
    with pytest.raises(LimitExceeded, match="can just have : 2"):
        vm_snapshot_create(caller=cloud.alice, vm=vm, memory=True)
    assert VMSnapshot.objects.filter(virtual_machine=vm).count() == 2


def test_only_qcow2_volumes_and_created_disks(cloud, run_jobs):
    vm = stop(cloud, run_jobs, deploy(cloud, run_jobs))
    Volume.objects.filter(virtual_machine=vm).update(format="RAW")
    with pytest.raises(Unsupported, match="QCOW2"):
        vm_snapshot_create(caller=cloud.alice, vm=vm)
    with run_jobs():
        fresh, _job = services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                         template=cloud.template, name="later", start_vm=False)
    fresh.refresh_from_db()
    with pytest.raises(InvalidState, match="root disk"):
        vm_snapshot_create(caller=cloud.alice, vm=fresh)
    assert not VMSnapshot.objects.exists()


def test_delete_reparents_children_and_removes_from_the_host(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    first, _job = take(cloud, run_jobs, vm, name="a", memory=True)
    second, _job = take(cloud, run_jobs, vm, name="b", memory=True)
    third, _job = take(cloud, run_jobs, vm, name="c", memory=True)
    with run_jobs():
        job = vm_snapshot_delete(caller=cloud.alice, snapshot=second)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.state == "Removed" and second.removed is not None
    assert third.parent == first
    assert second.name not in hv.snapshot_list(cloud.host.url, vm.instance_name)
    assert [s.display_name for s in vm_snapshot_list(caller=cloud.alice, vm=vm)] == ["c", "a"]
    with pytest.raises(NotFound):
        vm_snapshot_get(caller=cloud.alice, snapshot_id=str(second.uuid))
    # The current one goes: its parent becomes current, as in libvirt's tree.
    with run_jobs():
        vm_snapshot_delete(caller=cloud.alice, snapshot=third)
    first.refresh_from_db()
    assert first.current
    assert Event.objects.filter(type="VMSNAPSHOT.DELETE", state=Event.State.COMPLETED).count() == 2


def test_discard_removes_every_snapshot_of_a_vm(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    take(cloud, run_jobs, vm, memory=True)
    take(cloud, run_jobs, vm, memory=True)
    assert vm_snapshots_discard(vm) == 2
    assert set(VMSnapshot.objects.filter(virtual_machine=vm).values_list("state", flat=True)) == {"Removed"}
    assert not vm_snapshot_list(caller=cloud.alice, vm=vm).exists()


def test_list_is_scoped_to_visible_vms(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    take(cloud, run_jobs, vm, memory=True)
    assert vm_snapshot_list(caller=cloud.alice).count() == 1
    assert vm_snapshot_list(caller=cloud.admin).count() == 1
    assert vm_snapshot_list(caller=cloud.bob).count() == 0


def test_list_query_count_is_constant(cloud, run_jobs):
    vm = deploy(cloud, run_jobs)
    take(cloud, run_jobs, vm, memory=True)

    def listing() -> list[str]:
        return [f"{s.virtual_machine.name}/{s.parent}/{s.account.name}/{s.domain.name}/{s.virtual_machine.zone.name}"
                for s in vm_snapshot_list(caller=cloud.alice)]

    def grow() -> None:
        take(cloud, run_jobs, vm, memory=True)
        other = deploy(cloud, run_jobs, name="web2")
        take(cloud, run_jobs, other, memory=True)

    before, after = assert_queries_constant(listing, grow)
    assert (len(before), len(after)) == (1, 3)
