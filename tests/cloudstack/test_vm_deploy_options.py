"""deployVirtualMachine's options and the lifecycle commands (recover, expunge, restore, hostid, expunge on
destroy) over the CloudStack API, run for real on libvirt's test driver."""

from __future__ import annotations

import base64

import pytest

from compute.models import AffinityGroup, SSHKeyPair, VirtualMachine
from portal.models import ConfigurationValue
from storage.models import DiskOffering, Template, Volume
from tests import factories

pytestmark = pytest.mark.django_db

GIB = 2**30
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkQ alice@laptop"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def deploy(api_json, cloud, run_jobs, user="alice", **params):
    with run_jobs():
        status, body = api_json(user, "deployVirtualMachine", zoneid=cloud.zone.uuid,
                                serviceofferingid=cloud.offering.uuid,
                                **{"templateid": cloud.template.uuid, **params})
    return status, body


def job_result(api_json, user, body):
    _, job = api_json(user, "queryAsyncJobResult", jobid=body["jobid"])
    assert job["jobstatus"] == 1, job
    return job["jobresult"]


def test_deploy_with_keypair_userdata_group_and_affinity(api_json, cloud, run_jobs):
    account = cloud.alice.account
    SSHKeyPair.objects.create(name="laptop", fingerprint="aa", public_key=PUBLIC_KEY, account=account,
                              domain=account.domain)
    group = AffinityGroup.objects.create(name="spread", group_type=AffinityGroup.Type.HOST_ANTI_AFFINITY,
                                         account=account, domain=account.domain)
    status, body = deploy(api_json, cloud, run_jobs, name="web1", keypair="laptop", group="frontend",
                          userdata=b64("#cloud-config\nruncmd: [ls]\n"), affinitygroupnames="spread")
    assert status == 200, body
    vm = job_result(api_json, "alice", body)["virtualmachine"]

    assert vm["state"] == "Running" and vm["group"] == "frontend" and vm["keypairs"] == "laptop"
    assert [g["name"] for g in vm["affinitygroup"]] == ["spread"] and vm["affinitygroup"][0]["id"] == str(group.uuid)
    assert "userdata" not in vm  # CloudStack does not list user-data
    row = VirtualMachine.objects.get(uuid=vm["id"])
    assert row.user_data == "#cloud-config\nruncmd: [ls]\n" and row.config_drive_path

    _, listed = api_json("alice", "listVirtualMachines", id=vm["id"])
    assert listed["virtualmachine"][0]["group"] == "frontend"


def test_invalid_userdata_is_431_and_creates_nothing(api_json, cloud, run_jobs):
    status, body = deploy(api_json, cloud, run_jobs, name="web1", userdata="not base64!")
    assert status == 431 and "base64" in body["errortext"]
    status, body = deploy(api_json, cloud, run_jobs, name="web1", userdata=b64("x" * 40000))
    assert status == 431 and "32768" in body["errortext"]
    assert not VirtualMachine.objects.exists()


def test_deploy_with_data_disk_and_from_iso(api_json, cloud, run_jobs):
    offering = DiskOffering.objects.create(name="Data", disk_size=2 * GIB, iops_read_rate=100)
    status, body = deploy(api_json, cloud, run_jobs, name="db1", diskofferingid=offering.uuid)
    assert status == 200, body
    vm = VirtualMachine.objects.get(uuid=body["id"])
    data = Volume.objects.get(virtual_machine=vm, volume_type=Volume.Type.DATADISK)
    assert (data.size, data.device_id) == (2 * GIB, 1)

    iso = factories.TemplateFactory(name="Installer", format=Template.Format.ISO, is_public=True,
                                    url="file:///srv/isos/installer.iso")
    status, body = deploy(api_json, cloud, run_jobs, name="inst1", templateid=iso.uuid)
    assert status == 431 and "disk offering" in body["errortext"]
    status, body = deploy(api_json, cloud, run_jobs, name="inst1", templateid=iso.uuid,
                          diskofferingid=offering.uuid)
    assert status == 200, body
    rendered = job_result(api_json, "alice", body)["virtualmachine"]
    assert (rendered["isoid"], rendered["isoname"]) == (str(iso.uuid), "Installer")


def test_hostid_is_for_root_admins(api_json, cloud, run_jobs):
    other = factories.HostFactory(zone=cloud.zone, pod=cloud.host.pod, cluster=cloud.host.cluster, name="h2")
    status, body = deploy(api_json, cloud, run_jobs, name="web1", hostid=other.uuid)
    assert status == 531, body
    status, body = deploy(api_json, cloud, run_jobs, user="admin", name="web1", hostid=other.uuid,
                          startvm="false")
    assert status == 200, body
    with run_jobs():
        status, started = api_json("admin", "startVirtualMachine", id=body["id"], hostid=other.uuid)
    assert status == 200, started
    assert job_result(api_json, "admin", started)["virtualmachine"]["hostid"] == str(other.uuid)


def test_destroy_recover_expunge_and_restore(api_json, cloud, run_jobs):
    _, body = deploy(api_json, cloud, run_jobs, name="web1")
    vm_id = body["id"]
    with run_jobs():
        _, restored = api_json("alice", "restoreVirtualMachine", virtualmachineid=vm_id)
    assert job_result(api_json, "alice", restored)["virtualmachine"]["state"] == "Running"

    with run_jobs():
        _, destroyed = api_json("alice", "destroyVirtualMachine", id=vm_id)
    assert job_result(api_json, "alice", destroyed)["virtualmachine"]["state"] == "Destroyed"

    status, body = api_json("alice", "recoverVirtualMachine", id=vm_id)
    assert status == 531  # users only when allow.user.expunge.recover.vm is true
    ConfigurationValue.objects.create(name="allow.user.expunge.recover.vm", scope="account",
                                      scope_id=cloud.alice.account.pk, value="true")
    status, body = api_json("alice", "recoverVirtualMachine", id=vm_id)
    assert status == 200 and body["virtualmachine"]["state"] == "Stopped"

    with run_jobs():
        api_json("alice", "destroyVirtualMachine", id=vm_id)
    with run_jobs():
        status, expunged = api_json("alice", "expungeVirtualMachine", id=vm_id)
    assert status == 200, expunged
    assert job_result(api_json, "alice", expunged) == {"success": True}
    assert VirtualMachine.objects.get(uuid=vm_id).removed is not None


def test_destroy_with_expunge_by_an_admin(api_json, cloud, run_jobs):
    _, body = deploy(api_json, cloud, run_jobs, name="web1")
    with run_jobs():
        status, destroyed = api_json("admin", "destroyVirtualMachine", id=body["id"], expunge="true")
    assert status == 200, destroyed
    job_result(api_json, "admin", destroyed)
    assert VirtualMachine.objects.get(uuid=body["id"]).removed is not None


def test_details_size_a_custom_offering(api_json, cloud, run_jobs):
    custom = factories.ServiceOfferingFactory(name="Custom", cpu_number=None, cpu_speed=None, memory=None)
    with run_jobs():
        status, body = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid,
                                serviceofferingid=custom.uuid, templateid=cloud.template.uuid, name="sized",
                                **{"details[0].cpuNumber": "2", "details[0].cpuSpeed": "500",
                                   "details[0].memory": "768"})
    assert status == 200, body
    vm = job_result(api_json, "alice", body)["virtualmachine"]
    assert (vm["cpunumber"], vm["cpuspeed"], vm["memory"]) == (2, 500, 768)
