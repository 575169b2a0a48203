"""VM operations through the service layer (compute.services_vm_ops), on libvirt's test driver."""

from __future__ import annotations

import base64

import pytest

from accounts.limits import ResourceCount, ResourceLimit, ResourceType
from compute import services, services_vm_ops
from compute.cloudinit import check_user_data, decode_user_data
from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from portal.errors import InvalidParameter, InvalidState, LimitExceeded, PermissionDenied
from portal.models import AsyncJob
from tests import factories
from tests.support.vms import deploy_vm, stop_vm

pytestmark = pytest.mark.django_db


deploy = deploy_vm


def stopped(cloud, run_jobs):
    return stop_vm(cloud, run_jobs, deploy_vm(cloud, run_jobs, name="web1"))


def _snapshot(vm: VirtualMachine) -> dict:
    return VirtualMachine.objects.filter(pk=vm.pk).values().get()


def test_update_changes_names_group_os_type_and_user_data(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    VirtualMachine.objects.filter(pk=vm.pk).update(config_drive_path="/drives/old.iso")
    services_vm_ops.vm_update(caller=cloud.alice, vm=vm, name="web2", display_name="Web two", group="front",
                              os_type="Debian GNU/Linux 12 (64-bit)", user_data="#cloud-config\n")
    vm.refresh_from_db()
    assert (vm.name, vm.display_name, vm.group, vm.os_type) == ("web2", "Web two", "front",
                                                                "Debian GNU/Linux 12 (64-bit)")
    assert vm.effective_os_type == "Debian GNU/Linux 12 (64-bit)"
    assert vm.user_data == "#cloud-config\n"
    assert vm.config_drive_path == ""  # the next start rebuilds the config drive


def test_update_refusals_change_nothing(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    before = _snapshot(vm)
    with pytest.raises(InvalidParameter):
        services_vm_ops.vm_update(caller=cloud.alice, vm=vm, display_name="ok", name="-bad-")
    with pytest.raises(InvalidParameter, match="HA"):
        services_vm_ops.vm_update(caller=cloud.alice, vm=vm, group="g", ha_enabled=True)
    with pytest.raises(PermissionDenied):
        services_vm_ops.vm_update(caller=cloud.bob, vm=vm, display_name="owned")
    assert _snapshot(vm) == before


def test_ha_is_accepted_when_the_offering_offers_it(cloud, run_jobs):
    cloud.offering.offer_ha = True
    cloud.offering.save()
    vm = deploy(cloud, run_jobs, name="web1")
    services_vm_ops.vm_update(caller=cloud.alice, vm=vm, ha_enabled=True)
    vm.refresh_from_db()
    assert vm.ha_enabled


def test_user_data_is_base64_within_32_kb():
    assert decode_user_data(base64.b64encode(b"#!/bin/sh\necho hi\n").decode()) == \
        "#!/bin/sh\necho hi\n"
    with pytest.raises(InvalidParameter, match="base64"):
        decode_user_data("not base64!")
    with pytest.raises(InvalidParameter, match="32768"):
        decode_user_data("A" * 32772)
    # Wrapped base64 (as `base64` prints it) is the same text; its line breaks do not count against the bound.
    wrapped = base64.encodebytes(b"x" * 24576).decode()
    assert len(wrapped) > 32768 and decode_user_data(wrapped) == "x" * 24576
    with pytest.raises(InvalidParameter, match="24576 bytes"):
        check_user_data("x" * 24577)  # as text (web form, REST): what 32768 base64 characters decode to


def test_iso_attach_and_detach_on_a_stopped_vm_is_recorded(cloud, run_jobs):
    vm = stopped(cloud, run_jobs)
    iso = factories.TemplateFactory(name="debian-netinst", format="ISO")
    with run_jobs():
        job = services_vm_ops.vm_attach_iso(caller=cloud.alice, vm=vm, iso=iso)
    job.refresh_from_db()
    vm.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED and vm.iso == iso
    with pytest.raises(InvalidState, match="already"):
        services_vm_ops.vm_attach_iso(caller=cloud.alice, vm=vm, iso=iso)
    with run_jobs():
        services_vm_ops.vm_detach_iso(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.iso is None
    with pytest.raises(InvalidState, match="no ISO"):
        services_vm_ops.vm_detach_iso(caller=cloud.alice, vm=vm)


def test_a_template_is_not_an_iso(cloud, run_jobs):
    vm = stopped(cloud, run_jobs)
    with pytest.raises(InvalidParameter, match="not an ISO"):
        services_vm_ops.vm_attach_iso(caller=cloud.alice, vm=vm, iso=cloud.template)
    assert _snapshot(vm)["iso_id"] is None


def test_iso_attach_and_detach_on_a_running_vm_changes_the_cd_drive(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    iso = factories.TemplateFactory(name="tools", format="ISO")
    with run_jobs():
        job = services_vm_ops.vm_attach_iso(caller=cloud.alice, vm=vm, iso=iso)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    vm.refresh_from_db()
    assert vm.iso == iso
    assert f"{iso.uuid}.iso" in hv.domain_xml(cloud.host.url, vm.instance_name)
    with run_jobs():
        services_vm_ops.vm_detach_iso(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.iso is None
    assert f"{iso.uuid}.iso" not in hv.domain_xml(cloud.host.url, vm.instance_name)


def test_change_offering_of_a_stopped_vm_counts_the_difference(cloud, run_jobs):
    vm = stopped(cloud, run_jobs)
    bigger = factories.ServiceOfferingFactory(name="Medium", cpu_number=2, cpu_speed=1000, memory=1024)
    services_vm_ops.vm_change_offering(caller=cloud.alice, vm=vm, service_offering=bigger)
    vm.refresh_from_db()
    assert (vm.service_offering, vm.cpu_number, vm.memory) == (bigger, 2, 1024)
    counts = dict(ResourceCount.objects.filter(account=cloud.alice.account).values_list("resource_type", "count"))
    assert counts[ResourceType.CPU] == 2 and counts[ResourceType.MEMORY] == 1024


def test_change_offering_refuses_a_running_vm_and_limits(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    bigger = factories.ServiceOfferingFactory(cpu_number=2, cpu_speed=1000, memory=1024)
    before = _snapshot(vm)
    with pytest.raises(InvalidState):
        services_vm_ops.vm_change_offering(caller=cloud.alice, vm=vm, service_offering=bigger)
    assert _snapshot(vm) == before


def test_scale_a_running_vm_live_reserves_limits_and_host_capacity(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    bigger = factories.ServiceOfferingFactory(cpu_number=2, cpu_speed=1000, memory=1024)
    with run_jobs():
        job = services_vm_ops.vm_scale(caller=cloud.alice, vm=vm, service_offering=bigger)
    job.refresh_from_db()
    vm.refresh_from_db()
    cloud.host.refresh_from_db()
    # Whether the domain could grow depends on its maximum vCPUs and memory (lifecycle's domain spec).
    xml = hv.domain_xml(cloud.host.url, vm.instance_name)
    if job.status == AsyncJob.Status.SUCCEEDED:
        assert (vm.cpu_number, vm.memory, vm.service_offering) == (2, 1024, bigger)
        assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (2000, 1024 * 2**20)
        assert "current='2'" in xml or 'current="2"' in xml
    else:  # refused by the host: nothing stays counted or reserved
        assert (vm.cpu_number, vm.memory) == (1, 512)
        assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (1000, 512 * 2**20)


def test_scale_refuses_down_scaling_and_limits_change_nothing(cloud, run_jobs):
    vm = deploy(cloud, run_jobs, name="web1")
    smaller = factories.ServiceOfferingFactory(cpu_number=1, cpu_speed=500, memory=256)
    before = _snapshot(vm)
    with pytest.raises(InvalidParameter, match="scaled up"):
        services_vm_ops.vm_scale(caller=cloud.alice, vm=vm, service_offering=smaller)
    ResourceLimit.objects.create(account=cloud.alice.account, resource_type=ResourceType.CPU, max=2)
    huge = factories.ServiceOfferingFactory(cpu_number=4, cpu_speed=1000, memory=512)
    with pytest.raises(LimitExceeded):
        services_vm_ops.vm_scale(caller=cloud.alice, vm=vm, service_offering=huge)
    assert _snapshot(vm) == before
    cloud.host.refresh_from_db()
    assert cloud.host.cpu_allocated == 1000


def test_reset_ssh_key_needs_a_stopped_vm_and_clears_the_config_drive(cloud, run_jobs):
    from compute.models import SSHKeyPair

    vm = deploy(cloud, run_jobs, name="web1")
    SSHKeyPair.objects.create(name="laptop", fingerprint="f", public_key="ssh-ed25519 AAAA laptop",
                              account=cloud.alice.account, domain=cloud.alice.account.domain)
    with pytest.raises(InvalidState):
        services_vm_ops.vm_reset_ssh_key(caller=cloud.alice, vm=vm, key_pairs=["laptop"])
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    VirtualMachine.objects.filter(pk=vm.pk).update(config_drive_path="/drives/old.iso")
    with run_jobs():
        services_vm_ops.vm_reset_ssh_key(caller=cloud.alice, vm=vm, key_pairs=["laptop"])
    vm.refresh_from_db()
    assert (vm.key_pair_names, vm.ssh_public_keys, vm.config_drive_path) == (
        "laptop", "ssh-ed25519 AAAA laptop", "")
