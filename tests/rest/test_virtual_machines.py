"""/api/v1/virtual-machines/: deploy and operate VMs for real on libvirt's test driver."""

from __future__ import annotations

import uuid

import pytest

from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from portal.models import AsyncJob
from storage.models import Volume
from tests.rest.helpers import JOBS, VMS, assert_error

pytestmark = pytest.mark.django_db


def vm_url(vm_id: str, action: str = "") -> str:
    return f"{VMS}{vm_id}/{action + '/' if action else ''}"


def test_deploy_answers_202_with_the_job_and_the_job_ends_with_a_running_vm(cloud, alice_api, deploy):
    response = deploy(alice_api, name="web1", display_name="Web server")

    assert response.status_code == 202, response.content
    job = response.json()
    # Rendered when the request was answered, before the job ran.
    assert job["status"] == "pending" and job["status_code"] == 0
    assert job["cmd"] == "deployVirtualMachine"
    assert job["url"] == f"http://testserver{JOBS}{job['id']}/"
    assert response["Location"] == job["url"]
    vm = VirtualMachine.objects.get()
    assert job["resource"] == {"type": "virtualmachine", "id": str(vm.uuid), "name": "web1",
                               "url": f"http://testserver{VMS}{vm.uuid}/"}

    polled = alice_api.get(response["Location"])
    assert polled.status_code == 200
    done = polled.json()
    assert done["status"] == "succeeded" and done["status_code"] == 1
    assert done["progress"] == 100
    assert done["completed"] is not None
    assert done["result"] == {"type": "virtualmachine", "id": str(vm.uuid), "name": "web1",
                              "url": f"http://testserver{VMS}{vm.uuid}/"}

    detail = alice_api.get(done["result"]["url"]).json()
    assert detail["state"] == "Running"
    assert detail["name"] == "web1" and detail["display_name"] == "Web server"
    assert detail["zone"]["id"] == str(cloud.zone.uuid)
    assert detail["service_offering"]["id"] == str(cloud.offering.uuid)
    assert detail["template"]["id"] == str(cloud.template.uuid)
    assert (detail["cpu_number"], detail["memory"]) == (1, 512)
    assert detail["account"] == "alice"
    # Hosts are for administrators only.
    assert detail["host"] is None and detail["instance_name"] is None
    vm.refresh_from_db()
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING


def test_deploy_without_start_leaves_the_vm_stopped(cloud, alice_api, deploy):
    response = deploy(alice_api, name="cold", start=False)

    assert response.status_code == 202
    vm = VirtualMachine.objects.get(uuid=response.json()["resource"]["id"])
    assert vm.state == "Stopped" and vm.host is None
    assert alice_api.get(response["Location"]).json()["status"] == "succeeded"


def test_admin_sees_the_host_of_a_vm(cloud, client_for, alice_api, deploy):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]

    detail = client_for(cloud.admin).get(vm_url(vm_id)).json()

    assert detail["host"] == {"id": str(cloud.host.uuid), "name": cloud.host.name}
    assert detail["instance_name"] == VirtualMachine.objects.get(uuid=vm_id).instance_name


def test_list_and_detail_are_scoped_to_the_callers_account(cloud, client_for, deploy):
    alice, bob, admin = client_for(cloud.alice), client_for(cloud.bob), client_for(cloud.admin)
    alice_vm = deploy(alice, name="alice1").json()["resource"]["id"]
    bob_vm = deploy(bob, name="bob1").json()["resource"]["id"]

    alice_list = alice.get(VMS).json()
    assert alice_list["count"] == 1
    assert [vm["id"] for vm in alice_list["results"]] == [alice_vm]
    assert {vm["id"] for vm in admin.get(VMS).json()["results"]} == {alice_vm, bob_vm}

    # Another tenant's VM does not exist as far as alice can tell: 404, not 403.
    assert_error(alice.get(vm_url(bob_vm)), 404, 431)
    assert_error(alice.post(vm_url(bob_vm, "stop"), {}, format="json"), 404, 431)
    assert VirtualMachine.objects.get(uuid=bob_vm).state == "Running"
    # Nor do her jobs show his.
    assert {job["resource"]["id"] for job in alice.get(JOBS).json()["results"]} == {alice_vm}
    bob_job = AsyncJob.objects.get(instance_id=bob_vm).uuid
    assert_error(alice.get(f"{JOBS}{bob_job}/"), 404, 431)
    assert admin.get(f"{JOBS}{bob_job}/").status_code == 200


def test_list_filters_and_ordering(cloud, alice_api, deploy):
    ids = {name: deploy(alice_api, name=name, start=name != "cold").json()["resource"]["id"]
           for name in ("web2", "cold", "web1")}

    def names(**params):
        response = alice_api.get(VMS, params)
        assert response.status_code == 200, response.content
        return [vm["name"] for vm in response.json()["results"]]

    assert names(ordering="name") == ["cold", "web1", "web2"]
    assert names(ordering="-name") == ["web2", "web1", "cold"]
    assert names(state="Stopped") == ["cold"]
    assert names(state="Running", ordering="name") == ["web1", "web2"]
    assert names(name="web1") == ["web1"]
    assert names(keyword="web", ordering="name") == ["web1", "web2"]
    assert sorted(names(zone=str(cloud.zone.uuid))) == ["cold", "web1", "web2"]
    assert names(zone=str(uuid.uuid4())) == []
    assert alice_api.get(VMS, {"page_size": 2, "ordering": "name"}).json()["next"] is not None

    with_destroyed = alice_api.post(vm_url(ids["cold"], "destroy"))
    assert with_destroyed.status_code == 202
    assert "cold" not in names()
    assert "cold" in names(include_destroyed="true")
    assert names(state="Destroyed") == ["cold"]

    error = assert_error(alice_api.get(VMS, {"state": "Sleeping"}), 400, 431)
    assert set(error["fields"]) == {"state"}
    error = assert_error(alice_api.get(VMS, {"zone": "not-a-uuid"}), 400, 431)
    assert set(error["fields"]) == {"zone"}


def test_stop_start_reboot_destroy(cloud, alice_api, deploy, run_jobs):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    vm = VirtualMachine.objects.get(uuid=vm_id)
    url, name = cloud.host.url, vm.instance_name

    def act(action, body=None):
        with run_jobs():
            response = alice_api.post(vm_url(vm_id, action), body or {}, format="json")
        assert response.status_code == 202, response.content
        assert response["Location"] == response.json()["url"]
        assert response.json()["resource"]["id"] == vm_id
        job = alice_api.get(response["Location"]).json()
        assert job["status"] == "succeeded", job
        return job, alice_api.get(vm_url(vm_id)).json()["state"]

    job, state = act("stop", {"forced": True})
    assert job["cmd"] == "stopVirtualMachine"
    assert AsyncJob.objects.get(uuid=job["id"]).params["forced"] is True
    assert state == "Stopped"
    assert hv.domain_state(url, name) == hv.DomainState.SHUTOFF

    job, state = act("start")
    assert job["cmd"] == "startVirtualMachine" and state == "Running"
    assert hv.domain_state(url, name) == hv.DomainState.RUNNING

    job, state = act("reboot")
    assert job["cmd"] == "rebootVirtualMachine" and state == "Running"

    job, state = act("destroy")
    assert job["cmd"] == "destroyVirtualMachine" and state == "Destroyed"
    assert hv.domain_state(url, name) == hv.DomainState.MISSING
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (0, 0)


def test_stop_without_body_is_graceful(cloud, alice_api, deploy, run_jobs):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]

    with run_jobs():
        response = alice_api.post(vm_url(vm_id, "stop"))

    assert response.status_code == 202
    assert AsyncJob.objects.get(uuid=response.json()["id"]).params["forced"] is False


def test_invalid_transition_is_409_and_changes_nothing(cloud, alice_api, deploy):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    jobs_before = AsyncJob.objects.count()

    error = assert_error(alice_api.post(vm_url(vm_id, "start")), 409, 431)

    assert "Running" in error["message"]
    assert "fields" not in error
    vm = VirtualMachine.objects.get(uuid=vm_id)
    assert vm.state == "Running"
    assert AsyncJob.objects.count() == jobs_before
    cloud.host.refresh_from_db()
    assert cloud.host.cpu_allocated == 1000


def test_insufficient_capacity_is_409_with_errorcode_533(cloud, alice_api, deploy):
    cloud.offering.memory = 16 * 1024
    cloud.offering.save()

    error = assert_error(deploy(alice_api, name="huge"), 409, 533)

    assert error["cserrorcode"] == 4325
    assert not VirtualMachine.objects.exists()
    assert not Volume.objects.exists()
    assert not AsyncJob.objects.exists()


def test_failed_deploy_job_shows_errorcode_and_errortext(cloud, alice_api, deploy):
    # A host whose libvirtd is gone: nothing listens on port 1.
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"
    cloud.host.save()

    response = deploy(alice_api, name="web1")

    assert response.status_code == 202
    job = alice_api.get(response["Location"]).json()
    assert job["status"] == "failed" and job["status_code"] == 2
    assert job["result"]["errorcode"] == 530
    assert "web1" in job["result"]["errortext"]
    assert set(job["result"]) == {"errorcode", "errortext"}
    assert alice_api.get(vm_url(job["resource"]["id"])).json()["state"] == "Error"


def test_deploy_validation_errors_name_the_fields(cloud, alice_api, deploy):
    body = {"service_offering": str(cloud.offering.uuid), "template": str(cloud.template.uuid)}
    error = assert_error(alice_api.post(VMS, body, format="json"), 400, 431)
    assert set(error["fields"]) == {"zone"}
    assert "zone" in error["message"]

    error = assert_error(deploy(alice_api, zone="not-a-uuid"), 400, 431)
    assert set(error["fields"]) == {"zone"}

    unknown = str(uuid.uuid4())
    error = assert_error(deploy(alice_api, zone=unknown, service_offering=unknown), 400, 431)
    assert set(error["fields"]) == {"zone", "service_offering"}
    assert unknown in error["fields"]["zone"][0]

    error = assert_error(deploy(alice_api, template=unknown), 400, 431)
    assert set(error["fields"]) == {"template"}

    # The service validates the host name.
    error = assert_error(deploy(alice_api, name="-bad-"), 400, 431)
    assert "-bad-" in error["message"]

    assert not VirtualMachine.objects.exists()
    assert not AsyncJob.objects.exists()


def test_unknown_or_malformed_vm_id_is_404(cloud, alice_api):
    assert_error(alice_api.get(vm_url(str(uuid.uuid4()))), 404, 431)
    assert_error(alice_api.get(vm_url("not-a-uuid")), 404, 431)
    assert_error(alice_api.post(vm_url("not-a-uuid", "reboot")), 404, 431)


def test_unsupported_methods_are_405_with_the_error_body(cloud, alice_api, deploy):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]

    assert_error(alice_api.delete(vm_url(vm_id)), 405, 432)
    assert_error(alice_api.put(vm_url(vm_id), {}, format="json"), 405, 432)
    assert_error(alice_api.get(vm_url(vm_id, "stop")), 405, 432)
    assert VirtualMachine.objects.get(uuid=vm_id).state == "Running"
