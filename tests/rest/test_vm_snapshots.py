"""/api/v1/vm-snapshots/: list, retrieve, take (POST), revert (POST {id}/revert/) and delete."""

from __future__ import annotations

import pytest

from compute import services
from compute.models import VMSnapshot
from portal.models import AsyncJob
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok
from tests.support.vms import deploy_vm

pytestmark = pytest.mark.django_db

SNAPSHOTS = "/api/v1/vm-snapshots/"


def _deploy(cloud, run_jobs, name="web1"):
    return deploy_vm(cloud, run_jobs, name=name)


def _take(client, run_jobs, vm, **body) -> dict:
    with run_jobs():
        response = client.post(SNAPSHOTS, {"virtual_machine": str(vm.uuid), **body}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert response["Location"] == job["url"]
    snapshot = VMSnapshot.objects.get(uuid=AsyncJob.objects.get(uuid=job["id"]).instance_id)
    return {"job": job, "snapshot": snapshot}


def test_take_list_retrieve_revert_delete(cloud, run_jobs, alice_api, client_for):
    vm = _deploy(cloud, run_jobs)
    taken = _take(alice_api, run_jobs, vm, name="before", description="first", memory=True)
    snapshot = taken["snapshot"]
    assert snapshot.state == "Ready"

    body = ok(alice_api.get(SNAPSHOTS)).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["display_name"], row["description"], row["type"], row["state"], row["current"]) == (
        str(snapshot.uuid), "before", "first", "DiskAndMemory", "Ready", True)
    assert row["virtual_machine"]["id"] == str(vm.uuid)
    assert row["service_offering"] == str(cloud.offering.uuid) and row["memory"] == 512
    assert ok(alice_api.get(f"{SNAPSHOTS}{snapshot.uuid}/")).json()["name"] == snapshot.name
    assert ok(alice_api.get(SNAPSHOTS, {"virtual_machine": str(vm.uuid), "state": "ready"})).json()["count"] == 1
    assert ok(alice_api.get(SNAPSHOTS, {"name": "before"})).json()["count"] == 1
    assert ok(alice_api.get(SNAPSHOTS, {"keyword": "nothing"})).json()["count"] == 0
    bob = client_for(cloud.bob)
    assert ok(bob.get(SNAPSHOTS)).json()["count"] == 0
    assert_error(bob.get(f"{SNAPSHOTS}{snapshot.uuid}/"), 404, 431)

    with run_jobs():
        response = alice_api.post(f"{SNAPSHOTS}{snapshot.uuid}/revert/")
    assert response.status_code == 202, response.content
    job = AsyncJob.objects.get(uuid=response.json()["id"])
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result

    assert_error(bob.delete(f"{SNAPSHOTS}{snapshot.uuid}/"), 404, 431)
    with run_jobs():
        response = alice_api.delete(f"{SNAPSHOTS}{snapshot.uuid}/")
    assert response.status_code == 202, response.content
    snapshot.refresh_from_db()
    assert snapshot.state == "Removed"
    assert ok(alice_api.get(SNAPSHOTS)).json()["count"] == 0


def test_refusals(cloud, run_jobs, alice_api):
    vm = _deploy(cloud, run_jobs)
    error = assert_error(alice_api.post(SNAPSHOTS, {"virtual_machine": str(vm.uuid)}, format="json"), 400, 431)
    assert "disk-only" in error["message"]
    assert_error(alice_api.post(SNAPSHOTS, {"virtual_machine": "not-a-uuid"}, format="json"), 400, 431)
    taken = _take(alice_api, run_jobs, vm, memory=True)
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    error = assert_error(alice_api.post(f"{SNAPSHOTS}{taken['snapshot'].uuid}/revert/"), 400, 431)
    assert "VM state change" in error["message"]
    assert VMSnapshot.objects.count() == 1


def test_list_query_count_is_constant(cloud, run_jobs, alice_api):
    vm = _deploy(cloud, run_jobs)
    _take(alice_api, run_jobs, vm, memory=True)

    def grow() -> None:
        _take(alice_api, run_jobs, vm, memory=True)
        _take(alice_api, run_jobs, _deploy(cloud, run_jobs, "web2"), memory=True)

    before, after = assert_queries_constant(lambda: ok(alice_api.get(SNAPSHOTS)), grow, at_most=8)
    assert (before.json()["count"], after.json()["count"]) == (1, 3)
