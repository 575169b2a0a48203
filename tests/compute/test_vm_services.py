"""The VM slice through the service layer, executed for real on libvirt's test driver."""

from __future__ import annotations

import pytest

from compute import services
from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from portal.errors import InsufficientCapacity, InvalidState, PermissionDenied
from portal.models import AsyncJob, Event
from storage.models import Volume

pytestmark = pytest.mark.django_db


def deploy(cloud, run_jobs, caller=None, **kwargs):
    with run_jobs():
        vm, job = services.vm_deploy(caller=caller or cloud.alice, zone=cloud.zone,
                                     service_offering=cloud.offering, template=cloud.template, **kwargs)
    vm.refresh_from_db()
    job.refresh_from_db()
    return vm, job


def test_deploy_runs_vm_on_the_host_and_reserves_capacity(cloud, run_jobs):
    vm, job = deploy(cloud, run_jobs, name="web1")

    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert job.result == {"object": "virtualmachine", "id": str(vm.uuid)}
    assert vm.state == "Running"
    assert vm.host == cloud.host
    assert vm.instance_name == f"i-{cloud.alice.account_id}-{vm.pk}-VM"
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    cloud.host.refresh_from_db()
    assert cloud.host.cpu_allocated == 1000
    assert cloud.host.memory_allocated == 512 * 2**20
    root = Volume.objects.get(virtual_machine=vm)
    assert root.state == Volume.State.READY and root.host == cloud.host
    states = list(Event.objects.filter(job=job).order_by("id").values_list("state", flat=True))
    assert states == ["Scheduled", "Started", "Completed"]


def test_stop_start_reboot_destroy(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    url, name = cloud.host.url, vm.instance_name

    with run_jobs():
        job = services.vm_stop(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert (vm.state, vm.host, vm.last_host) == ("Stopped", None, cloud.host)
    assert hv.domain_state(url, name) == hv.DomainState.SHUTOFF
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (0, 0)

    with run_jobs():
        services.vm_start(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Running" and hv.domain_state(url, name) == hv.DomainState.RUNNING

    with run_jobs():
        job = services.vm_reboot(caller=cloud.alice, vm=vm)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED
    vm.refresh_from_db()
    assert vm.state == "Running"

    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Destroyed"
    assert hv.domain_state(url, name) == hv.DomainState.MISSING
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (0, 0)


def test_invalid_transition_is_refused_and_changes_nothing(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    jobs_before = AsyncJob.objects.count()

    with pytest.raises(InvalidState):
        services.vm_start(caller=cloud.alice, vm=vm)

    vm.refresh_from_db()
    assert vm.state == "Running"
    assert AsyncJob.objects.count() == jobs_before
    cloud.host.refresh_from_db()
    assert cloud.host.cpu_allocated == 1000


def test_no_room_fails_with_insufficient_capacity_and_creates_nothing(cloud, run_jobs):
    cloud.offering.memory = 16 * 1024
    cloud.offering.save()

    with pytest.raises(InsufficientCapacity) as info:
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, name="huge")

    assert info.value.errorcode == 533
    assert not VirtualMachine.objects.exists()
    assert not Volume.objects.exists()


def test_other_account_cannot_operate_the_vm(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")

    with pytest.raises(PermissionDenied):
        services.vm_stop(caller=cloud.bob, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Running"

    with run_jobs():
        services.vm_stop(caller=cloud.admin, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped"


def test_host_failure_during_deploy_puts_vm_in_error_and_releases_capacity(cloud, run_jobs):
    # A host whose libvirtd is gone: nothing listens on port 1, so the agent's connection is refused.
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"
    cloud.host.save()

    vm, job = deploy(cloud, run_jobs, name="web1")

    assert job.status == AsyncJob.Status.FAILED
    assert job.result_code == 530
    assert job.result["errorcode"] == 530
    assert "web1" in job.result["errortext"]
    assert vm.state == "Error" and vm.host is None
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (0, 0)
    assert Event.objects.filter(job=job, level="ERROR").exists()
