"""createVMSnapshot, listVMSnapshot, revertToVMSnapshot and deleteVMSnapshot through /client/api."""

from __future__ import annotations

import pytest

from compute import services
from compute.models import VMSnapshot
from infrastructure import hypervisor as hv
from tests.support.queries import assert_queries_constant
from tests.support.vms import deploy_vm

pytestmark = pytest.mark.django_db

FIELDS = {"id", "name", "displayname", "description", "state", "type", "current", "parent", "parentName",
          "created", "virtualmachineid", "virtualmachinename", "zoneid", "zonename", "hypervisor", "account",
          "domainid", "domain", "tags"}


def _deploy(cloud, run_jobs, name="web1"):
    return deploy_vm(cloud, run_jobs, name=name)


def _job(api_json, jobid: str) -> dict:
    status, job = api_json("alice", "queryAsyncJobResult", jobid=jobid)
    assert status == 200, job
    return job


def _snapshot(api_json, run_jobs, vm, **params) -> dict:
    with run_jobs():
        status, created = api_json("alice", "createVMSnapshot", virtualmachineid=str(vm.uuid), **params)
    assert status == 200, created
    assert set(created) == {"id", "jobid"}
    job = _job(api_json, created["jobid"])
    assert job["jobstatus"] == 1, job
    assert job["jobinstancetype"] == "VMSnapshot" and job["jobinstanceid"] == created["id"]
    return job["jobresult"]["vmsnapshot"]


def test_create_list_revert_delete(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    first = _snapshot(api_json, run_jobs, vm, name="before", description="first one", snapshotmemory=True,
                      quiescevm=True)
    assert set(first) <= FIELDS and FIELDS - set(first) <= {"parent", "parentName"}
    assert (first["displayname"], first["description"], first["type"], first["state"], first["current"]) == (
        "before", "first one", "DiskAndMemory", "Ready", True)
    assert first["name"].startswith(f"{vm.instance_name}_VS_")
    assert (first["virtualmachineid"], first["virtualmachinename"]) == (str(vm.uuid), "web1")
    assert (first["account"], first["hypervisor"]) == ("alice", "KVM")
    second = _snapshot(api_json, run_jobs, vm, snapshotmemory=True)
    assert (second["parent"], second["parentName"]) == (first["id"], "before")

    status, body = api_json("alice", "listVMSnapshot", virtualmachineid=str(vm.uuid))
    assert status == 200 and body["count"] == 2
    assert [s["id"] for s in body["vmSnapshot"]] == [second["id"], first["id"]]
    for params, expected in (({"vmsnapshotid": first["id"]}, [first["id"]]), ({"name": "before"}, [first["id"]]),
                             ({"name": second["name"]}, [second["id"]]), ({"keyword": "first"}, [first["id"]]),
                             ({"state": "Ready"}, [second["id"], first["id"]]), ({"state": "Error"}, [])):
        status, body = api_json("alice", "listVMSnapshot", **params)
        assert status == 200 and [s["id"] for s in body.get("vmSnapshot", [])] == expected, params
    assert api_json("bob", "listVMSnapshot", listall=True)[1] == {}
    status, body = api_json("admin", "listVMSnapshot", listall=True)
    assert body["count"] == 2

    with run_jobs():
        status, revert = api_json("alice", "revertToVMSnapshot", vmsnapshotid=first["id"])
    assert status == 200, revert
    job = _job(api_json, revert["jobid"])
    assert job["jobstatus"] == 1, job
    assert job["jobresult"]["virtualmachine"]["id"] == str(vm.uuid)
    assert job["jobresult"]["virtualmachine"]["state"] == "Running"
    status, body = api_json("alice", "listVMSnapshot", vmsnapshotid=first["id"])
    assert body["vmSnapshot"][0]["current"] is True

    with run_jobs():
        status, deleted = api_json("alice", "deleteVMSnapshot", vmsnapshotid=second["id"])
    assert status == 200, deleted
    job = _job(api_json, deleted["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"] == {"success": True}, job
    status, body = api_json("alice", "listVMSnapshot", virtualmachineid=str(vm.uuid))
    assert [s["id"] for s in body["vmSnapshot"]] == [first["id"]]
    assert hv.snapshot_list(cloud.host.url, vm.instance_name) == [first["name"]]


def test_refusals_use_cloudstack_messages(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    status, body = api_json("alice", "createVMSnapshot", virtualmachineid=str(vm.uuid))
    assert status == 431 and "disk-only snapshot" in body["errortext"]
    memory = _snapshot(api_json, run_jobs, vm, snapshotmemory=True)
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    status, body = api_json("alice", "createVMSnapshot", virtualmachineid=str(vm.uuid), snapshotmemory=True)
    assert status == 431 and "Can not snapshot memory when VM is not in Running state" in body["errortext"]
    status, body = api_json("alice", "revertToVMSnapshot", vmsnapshotid=memory["id"])
    assert status == 431 and "This will result in VM state change" in body["errortext"]
    # Another tenant's snapshot is unknown to them.
    for command in ("revertToVMSnapshot", "deleteVMSnapshot"):
        status, body = api_json("bob", command, vmsnapshotid=memory["id"])
        assert status == 431, (command, body)
    status, body = api_json("bob", "createVMSnapshot", virtualmachineid=str(vm.uuid))
    assert status == 431
    assert VMSnapshot.objects.filter(removed__isnull=True).count() == 1


def test_list_query_count_is_constant(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    _snapshot(api_json, run_jobs, vm, snapshotmemory=True)

    def listing() -> dict:
        status, body = api_json("alice", "listVMSnapshot")
        assert status == 200, body
        return body

    def grow() -> None:
        _snapshot(api_json, run_jobs, vm, snapshotmemory=True)
        _snapshot(api_json, run_jobs, _deploy(cloud, run_jobs, "web2"), snapshotmemory=True)

    before, after = assert_queries_constant(listing, grow)
    assert (before["count"], after["count"]) == (1, 3)
