"""/api/v1/virtual-machines/: deploy options and the lifecycle actions (destroy with expunge, recover,
expunge, restore, start on a host), for real on libvirt's test driver."""

from __future__ import annotations

import pytest

from compute.models import SSHKeyPair, VirtualMachine
from portal.models import AsyncJob
from storage.models import DiskOffering, Volume
from tests import factories
from tests.rest.helpers import VMS, assert_error

pytestmark = pytest.mark.django_db

GIB = 2**30


def vm_url(vm_id: str, action: str = "") -> str:
    return f"{VMS}{vm_id}/{action + '/' if action else ''}"


def act(client, run_jobs, vm_id, action, body=None, status=202):
    with run_jobs():
        response = client.post(vm_url(vm_id, action), body or {}, format="json")
    assert response.status_code == status, response.content
    if status == 202:
        assert AsyncJob.objects.get(uuid=response.json()["id"]).status == AsyncJob.Status.SUCCEEDED
    return response


def test_deploy_with_options(cloud, alice_api, deploy):
    account = cloud.alice.account
    SSHKeyPair.objects.create(name="laptop", fingerprint="aa", public_key="ssh-ed25519 AAAA a@b",
                              account=account, domain=account.domain)
    offering = DiskOffering.objects.create(name="Data", disk_size=GIB, bytes_write_rate=1_000_000)
    response = deploy(alice_api, name="web1", key_pairs=["laptop"], user_data="#cloud-config\n",
                      group="frontend", disk_offering=str(offering.uuid))
    assert response.status_code == 202, response.content
    vm_id = response.json()["resource"]["id"]
    body = alice_api.get(vm_url(vm_id)).json()
    assert (body["state"], body["group"], body["key_pairs"]) == ("Running", "frontend", ["laptop"])
    vm = VirtualMachine.objects.get(uuid=vm_id)
    assert vm.user_data == "#cloud-config\n" and vm.config_drive_path
    assert Volume.objects.filter(virtual_machine=vm, volume_type=Volume.Type.DATADISK).count() == 1


def test_deploy_refusals_name_the_fields(cloud, alice_api, deploy):
    other = factories.HostFactory(zone=cloud.zone, pod=cloud.host.pod, cluster=cloud.host.cluster, name="h2")
    error = assert_error(deploy(alice_api, name="web1", host=str(other.uuid)), 400, 431)
    assert set(error["fields"]) == {"host"}
    error = assert_error(deploy(alice_api, name="web1", key_pairs=["missing"]), 400, 431)
    assert "missing" in error["message"]
    assert not VirtualMachine.objects.exists()


def test_destroy_recover_restore_expunge(cloud, alice_api, client_for, deploy, run_jobs):
    admin_api = client_for(cloud.admin)
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    old_root = Volume.objects.get(virtual_machine__uuid=vm_id)

    act(alice_api, run_jobs, vm_id, "restore")
    new_root = Volume.objects.get(virtual_machine__uuid=vm_id, removed__isnull=True)
    assert new_root.pk != old_root.pk

    assert_error(alice_api.post(vm_url(vm_id, "destroy"), {"expunge": True}, format="json"), 403, 531)
    act(alice_api, run_jobs, vm_id, "destroy")
    assert alice_api.get(vm_url(vm_id)).json()["destroyed_at"] is not None

    assert_error(alice_api.post(vm_url(vm_id, "recover")), 403, 531)
    recovered = admin_api.post(vm_url(vm_id, "recover"))
    assert recovered.status_code == 200, recovered.content
    assert recovered.json()["state"] == "Stopped"

    other = factories.HostFactory(zone=cloud.zone, pod=cloud.host.pod, cluster=cloud.host.cluster, name="h2")
    # The root disk is on the first host's local pool: the VM cannot start elsewhere.
    assert_error(admin_api.post(vm_url(vm_id, "start"), {"host": str(other.uuid)}, format="json"), 400, 431)
    act(admin_api, run_jobs, vm_id, "start", {"host": str(cloud.host.uuid)})
    assert VirtualMachine.objects.get(uuid=vm_id).state == "Running"

    act(admin_api, run_jobs, vm_id, "destroy", {"expunge": True})
    assert VirtualMachine.objects.get(uuid=vm_id).removed is not None


def test_expunge_action(cloud, alice_api, client_for, deploy, run_jobs):
    admin_api = client_for(cloud.admin)
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    act(alice_api, run_jobs, vm_id, "destroy")
    assert_error(alice_api.post(vm_url(vm_id, "expunge")), 403, 531)
    act(admin_api, run_jobs, vm_id, "expunge")
    assert VirtualMachine.objects.get(uuid=vm_id).removed is not None
