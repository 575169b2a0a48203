"""Deploy options and the full VM lifecycle through the services, executed for real on libvirt's test driver."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.limits import ResourceType
from accounts.models import ResourceCount
from compute import services
from compute.cloudinit import read_config_drive
from compute.models import AffinityGroup, SSHKeyPair, VirtualMachine
from infrastructure import hypervisor as hv
from portal.errors import InvalidParameter, InvalidState, LimitExceeded, PermissionDenied
from portal.models import AsyncJob, ConfigurationValue, Event
from storage.models import DiskOffering, Template, Volume
from tests import factories

pytestmark = pytest.mark.django_db

GIB = 2**30
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkQ alice@laptop"


def deploy(cloud, run_jobs, caller=None, **kwargs):
    kwargs.setdefault("service_offering", cloud.offering)
    kwargs.setdefault("template", cloud.template)
    with run_jobs():
        vm, job = services.vm_deploy(caller=caller or cloud.alice, zone=cloud.zone, **kwargs)
    vm.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    return vm, job


def count(account, resource_type) -> int:
    row = ResourceCount.objects.filter(account=account, resource_type=resource_type).first()
    return row.count if row else 0


def domain_xml(vm) -> ET.Element:
    host = vm.host or vm.last_host
    return ET.fromstring(hv.domain_xml(host.url, vm.instance_name))  # noqa: S314 (our own domain's XML)


def disk(root: ET.Element, target: str) -> ET.Element | None:
    for element in root.iter("disk"):
        found = element.find("target")
        if found is not None and found.get("dev") == target:
            return element
    return None


def root_volume(vm) -> Volume:
    return Volume.objects.get(virtual_machine=vm, volume_type=Volume.Type.ROOT, removed__isnull=True)


@pytest.fixture
def disk_offering(db) -> DiskOffering:
    return DiskOffering.objects.create(name="Fast 5G", disk_size=5 * GIB, iops_read_rate=500,
                                       iops_write_rate=250, bytes_read_rate=10_000_000)


@pytest.fixture
def iso(cloud) -> Template:
    return factories.TemplateFactory(name="Installer", format=Template.Format.ISO, bootable=True,
                                     url="file:///srv/isos/installer.iso", account=cloud.template.account,
                                     domain=cloud.template.domain)


def allow_user_expunge(account) -> None:
    ConfigurationValue.objects.create(name="allow.user.expunge.recover.vm", scope="account",
                                      scope_id=account.pk, value="true")


# --- deploy options ------------------------------------------------------------------------------------------

def test_data_disk_gets_the_disk_offerings_iotune_and_is_counted(cloud, run_jobs, disk_offering):
    vm, _ = deploy(cloud, run_jobs, name="db1", disk_offering=disk_offering)

    data = Volume.objects.get(virtual_machine=vm, volume_type=Volume.Type.DATADISK)
    assert (data.device_id, data.size, data.state, data.disk_offering) == (1, 5 * GIB, Volume.State.READY,
                                                                          disk_offering)
    vdb = disk(domain_xml(vm), "vdb")
    assert vdb is not None and vdb.find("source").get("file") == data.path
    iotune = vdb.find("iotune")
    assert iotune.findtext("read_iops_sec") == "500"
    assert iotune.findtext("write_iops_sec") == "250"
    assert iotune.findtext("read_bytes_sec") == "10000000"
    assert iotune.find("write_bytes_sec") is None
    assert disk(domain_xml(vm), "vda").find("iotune") is None
    assert count(vm.account, ResourceType.VOLUME) == 2
    assert count(vm.account, ResourceType.PRIMARY_STORAGE) == cloud.template.size + 5 * GIB


def test_deploy_from_iso_boots_a_blank_root_disk_from_the_cd(cloud, run_jobs, disk_offering, iso):
    vm, _ = deploy(cloud, run_jobs, name="install1", template=iso, disk_offering=disk_offering)

    root = root_volume(vm)
    assert root.template is None and root.size == 5 * GIB and root.disk_offering == disk_offering
    assert vm.iso == iso and vm.template == iso
    assert not Volume.objects.filter(virtual_machine=vm, volume_type=Volume.Type.DATADISK).exists()
    xml = domain_xml(vm)
    cd = disk(xml, "hdc")
    assert cd.get("device") == "cdrom" and cd.find("source").get("file") == "/srv/isos/installer.iso"
    boots = [boot.get("dev") for boot in xml.find("os").findall("boot")]
    assert boots[0] == "cdrom"


def test_iso_deploy_without_disk_offering_is_refused_and_creates_nothing(cloud, iso):
    with pytest.raises(InvalidParameter, match="disk offering"):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering, template=iso)
    assert not VirtualMachine.objects.exists() and not Volume.objects.exists()
    assert count(cloud.alice.account, ResourceType.USER_VM) == 0


def test_config_drive_carries_user_data_and_keys(cloud, run_jobs, monkeypatch):
    SSHKeyPair.objects.create(name="laptop", fingerprint="aa:bb", public_key=PUBLIC_KEY,
                              account=cloud.alice.account, domain=cloud.alice.account.domain)
    uploads = []
    real_upload = hv.upload_volume

    def recording_upload(uri, pool, name, data):  # the real driver call; the bytes kept for inspection
        uploads.append((pool, name, data))
        return real_upload(uri, pool, name, data)

    monkeypatch.setattr(hv, "upload_volume", recording_upload)
    vm, _ = deploy(cloud, run_jobs, name="web1", key_pairs=["laptop"], user_data="#cloud-config\nruncmd: [ls]\n")

    assert vm.key_pair_names == "laptop" and vm.ssh_public_keys == PUBLIC_KEY
    assert vm.config_drive_path
    cd = disk(domain_xml(vm), "hdd")
    assert cd.get("device") == "cdrom" and cd.find("source").get("file") == vm.config_drive_path
    (_pool, name, data), = uploads
    assert name == f"{vm.instance_name}-config.iso"
    files = read_config_drive(data)
    assert files["user-data"] == "#cloud-config\nruncmd: [ls]\n"
    assert PUBLIC_KEY in files["meta-data"] and str(vm.uuid) in files["meta-data"]
    assert '"local-hostname": "web1"' in files["meta-data"]


def test_no_config_drive_without_user_data_or_keys(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="plain")
    assert vm.config_drive_path == ""
    assert disk(domain_xml(vm), "hdd") is None


def test_unknown_key_pair_and_oversized_user_data_are_refused(cloud):
    with pytest.raises(InvalidParameter, match="nokey"):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, key_pairs=["nokey"])
    with pytest.raises(InvalidParameter, match="32768"):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, user_data="x" * 32769)
    assert not VirtualMachine.objects.exists()


def test_affinity_groups_group_and_other_accounts_groups(cloud, run_jobs):
    own = AffinityGroup.objects.create(name="spread", group_type=AffinityGroup.Type.HOST_ANTI_AFFINITY,
                                       account=cloud.alice.account, domain=cloud.alice.account.domain)
    foreign = AffinityGroup.objects.create(name="bobs", group_type=AffinityGroup.Type.HOST_AFFINITY,
                                           account=cloud.bob.account, domain=cloud.bob.account.domain)
    vm, _ = deploy(cloud, run_jobs, name="web1", affinity_groups=[own], group="frontend")
    assert list(vm.affinity_groups.all()) == [own] and vm.group == "frontend"

    with pytest.raises(InvalidParameter, match="bobs"):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, affinity_groups=[foreign])


def test_admin_chooses_the_host_and_users_may_not(cloud, run_jobs):
    other = factories.HostFactory(zone=cloud.zone, pod=cloud.host.pod, cluster=cloud.host.cluster,
                                  name="second")
    vm, _ = deploy(cloud, run_jobs, caller=cloud.admin, name="pinned", host=other)
    assert vm.host == other

    with pytest.raises(PermissionDenied):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, host=other)


def test_start_vm_false_then_start_on_a_chosen_host(cloud, run_jobs):
    other = factories.HostFactory(zone=cloud.zone, pod=cloud.host.pod, cluster=cloud.host.cluster,
                                  name="second")
    vm, _ = deploy(cloud, run_jobs, name="later", start_vm=False)
    assert vm.state == "Stopped" and vm.host is None

    with pytest.raises(PermissionDenied):
        services.vm_start(caller=cloud.alice, vm=vm, host=other)
    with run_jobs():
        services.vm_start(caller=cloud.admin, vm=vm, host=other)
    vm.refresh_from_db()
    assert (vm.state, vm.host) == ("Running", other)


def test_cpu_cap_and_scaling_maximums_in_the_domain(cloud, run_jobs):
    capped = factories.ServiceOfferingFactory(name="Capped", cpu_number=2, cpu_speed=500, memory=512,
                                              limit_cpu_use=True)
    vm, _ = deploy(cloud, run_jobs, name="capped", service_offering=capped)

    xml = domain_xml(vm)
    # Half of a 2000 MHz host core per vCPU (HostFactory's cpu_speed) is a quarter of the period.
    assert xml.find("cputune").findtext("quota") == "25000"
    assert xml.find("cputune").findtext("period") == "100000"
    vcpu = xml.find("vcpu")
    assert vcpu.get("current") == "2" and vcpu.text == str(cloud.host.cpu_cores)
    assert int(xml.findtext("memory")) == 4 * 512 * 1024  # KiB: four times the VM's memory
    assert int(xml.findtext("currentMemory")) == 512 * 1024


# --- stop -----------------------------------------------------------------------------------------------------

def test_graceful_stop_waits_the_timeout_then_forces_and_says_so(cloud, run_jobs, monkeypatch, settings):
    settings.CIRROSTACK_VM_STOP_TIMEOUT = 7.0
    vm, _ = deploy(cloud, run_jobs, name="web1")
    timeouts = []
    real_shutdown = hv.shutdown_domain

    def guest_ignores_acpi(uri, name, *, timeout=60.0, poll=0.5):
        # The test driver's guests obey ACPI at once; this one "ignored" it: the real call still powers the
        # domain off, and reports that it had to force it, as the driver does after the timeout.
        timeouts.append(timeout)
        real_shutdown(uri, name, timeout=timeout, poll=poll)
        return True

    monkeypatch.setattr(hv, "shutdown_domain", guest_ignores_acpi)
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped" and timeouts == [7.0]
    assert Event.objects.filter(type="VM.STOP", level="WARN", description__contains="7.0 seconds").exists()


def test_forced_stop_powers_off_without_asking_the_guest(cloud, run_jobs, monkeypatch):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    asked = []
    monkeypatch.setattr(hv, "shutdown_domain", lambda *a, **k: asked.append(a))
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm, forced=True)
    vm.refresh_from_db()
    assert vm.state == "Stopped" and asked == []
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.SHUTOFF


# --- reboot, restore ------------------------------------------------------------------------------------------

def test_volatile_reboot_gives_a_fresh_root_volume(cloud, run_jobs):
    volatile = factories.ServiceOfferingFactory(name="Volatile", is_volatile=True)
    vm, _ = deploy(cloud, run_jobs, name="kiosk", service_offering=volatile)
    old = root_volume(vm)

    with run_jobs():
        job = services.vm_reboot(caller=cloud.alice, vm=vm)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    vm.refresh_from_db()
    new = root_volume(vm)
    old.refresh_from_db()
    assert new.pk != old.pk and new.path != old.path and new.state == Volume.State.READY
    assert old.removed is not None and old.state == Volume.State.EXPUNGED
    assert vm.state == "Running" and vm.host == cloud.host
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    assert disk(domain_xml(vm), "vda").find("source").get("file") == new.path
    assert count(vm.account, ResourceType.VOLUME) == 1


def test_plain_reboot_keeps_the_root_volume(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    old = root_volume(vm)
    with run_jobs():
        services.vm_reboot(caller=cloud.alice, vm=vm)
    assert root_volume(vm).pk == old.pk


def test_restore_running_vm_with_a_new_template(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    old = root_volume(vm)
    bigger = factories.TemplateFactory(name="Bigger", size=2 * GIB, account=cloud.template.account,
                                       domain=cloud.template.domain)

    with run_jobs():
        job = services.vm_restore(caller=cloud.alice, vm=vm, template=bigger)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    vm.refresh_from_db()
    new = root_volume(vm)
    assert vm.template == bigger and vm.state == "Running"
    assert new.pk != old.pk and new.template == bigger and new.size == 2 * GIB
    assert count(vm.account, ResourceType.PRIMARY_STORAGE) == 2 * GIB
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING


def test_restore_stopped_vm_and_refusals(cloud, run_jobs, iso):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    old = root_volume(vm)
    with run_jobs():
        services.vm_restore(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    new = root_volume(vm)
    assert vm.state == "Stopped" and new.pk != old.pk and new.state == Volume.State.READY

    with pytest.raises(InvalidParameter, match="ISO"):
        services.vm_restore(caller=cloud.alice, vm=vm, template=iso)
    with pytest.raises(PermissionDenied):
        services.vm_restore(caller=cloud.bob, vm=vm)


# --- destroy, recover, expunge --------------------------------------------------------------------------------

def test_destroy_then_recover_re_reserves_the_counts(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    account = vm.account
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Destroyed" and vm.destroyed_at is not None
    assert (count(account, ResourceType.USER_VM), count(account, ResourceType.CPU)) == (0, 0)
    assert count(account, ResourceType.VOLUME) == 1  # volumes count until expunged

    with pytest.raises(PermissionDenied):  # users recover only when the setting allows it
        services.vm_recover(caller=cloud.alice, vm=vm)
    recovered = services.vm_recover(caller=cloud.admin, vm=vm)
    assert (recovered.state, recovered.destroyed_at) == ("Stopped", None)
    assert (count(account, ResourceType.USER_VM), count(account, ResourceType.CPU),
            count(account, ResourceType.MEMORY)) == (1, 1, 512)
    with pytest.raises(InvalidState):
        services.vm_recover(caller=cloud.admin, vm=vm)

    with run_jobs():
        services.vm_start(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Running"


def test_recover_refused_when_a_limit_was_reached_meanwhile(cloud, run_jobs):
    from accounts.models import ResourceLimit

    vm, _ = deploy(cloud, run_jobs, name="web1")
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    ResourceLimit.objects.create(account=vm.account, resource_type=ResourceType.USER_VM, max=0)
    with pytest.raises(LimitExceeded):
        services.vm_recover(caller=cloud.admin, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Destroyed"


def test_destroy_with_expunge_needs_an_admin_or_the_setting(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1")
    with pytest.raises(PermissionDenied):
        services.vm_destroy(caller=cloud.alice, vm=vm, expunge=True)
    vm.refresh_from_db()
    assert vm.state == "Running"

    allow_user_expunge(vm.account)
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm, expunge=True)
    vm.refresh_from_db()
    assert vm.state == "Expunging" and vm.removed is not None
    assert Volume.objects.get(virtual_machine=vm).state == Volume.State.EXPUNGED
    for resource_type in (ResourceType.USER_VM, ResourceType.CPU, ResourceType.VOLUME,
                          ResourceType.PRIMARY_STORAGE):
        assert count(vm.account, resource_type) == 0
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.MISSING


def test_expunge_removes_volumes_and_config_drive(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="web1", user_data="#cloud-config\n")
    assert vm.config_drive_path
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    with pytest.raises(PermissionDenied):
        services.vm_expunge(caller=cloud.alice, vm=vm)
    with run_jobs():
        job = services.vm_expunge(caller=cloud.admin, vm=vm)
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    vm.refresh_from_db()
    assert vm.removed is not None and count(vm.account, ResourceType.PRIMARY_STORAGE) == 0


def test_periodic_expunge_respects_the_delay(cloud, run_jobs):
    ConfigurationValue.objects.create(name="expunge.delay", scope="global", scope_id=0, value="3600")
    old, _ = deploy(cloud, run_jobs, name="old")
    recent, _ = deploy(cloud, run_jobs, name="recent")
    for vm in (old, recent):
        with run_jobs():
            services.vm_destroy(caller=cloud.alice, vm=vm)
    VirtualMachine.objects.filter(pk=old.pk).update(destroyed_at=timezone.now() - timedelta(hours=2))
    VirtualMachine.objects.filter(pk=recent.pk).update(destroyed_at=timezone.now() - timedelta(minutes=10))

    with run_jobs():
        started = services.vm_expunge_due()
    assert [vm.pk for vm in started] == [old.pk]
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.removed is not None and old.state == "Expunging"
    assert recent.removed is None and recent.state == "Destroyed"
    assert count(recent.account, ResourceType.VOLUME) == 1
    assert Event.objects.filter(type="VM.EXPUNGE", resource_id=str(old.uuid)).exists()

    with run_jobs():  # a later round after the delay takes the other one
        assert [vm.pk for vm in services.vm_expunge_due(now=timezone.now() + timedelta(hours=1))] == [recent.pk]


def test_custom_offering_size_is_counted_and_bounds_the_live_maximums(cloud, run_jobs):
    custom = factories.ServiceOfferingFactory(name="Custom", cpu_number=None, cpu_speed=1000, memory=None,
                                              min_cpu_number=1, max_cpu_number=4, min_memory=256, max_memory=2048)
    vm, _ = deploy(cloud, run_jobs, name="sized", service_offering=custom, cpu_number=2, memory=1024)

    assert (vm.cpu_number, vm.cpu_speed, vm.memory) == (2, 1000, 1024)
    assert (count(vm.account, ResourceType.CPU), count(vm.account, ResourceType.MEMORY)) == (2, 1024)
    cloud.host.refresh_from_db()
    assert cloud.host.cpu_allocated == 2000 and cloud.host.memory_allocated == 1024 * 2**20
    xml = domain_xml(vm)
    assert xml.find("vcpu").text == "4" and int(xml.findtext("memory")) == 2048 * 1024

    with pytest.raises(InvalidParameter):
        services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=custom,
                           template=cloud.template, cpu_number=8, memory=1024)
    with run_jobs():
        services.vm_destroy(caller=cloud.alice, vm=vm)
    assert (count(vm.account, ResourceType.CPU), count(vm.account, ResourceType.MEMORY)) == (0, 0)
