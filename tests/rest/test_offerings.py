"""/api/v1/service-offerings/ and /api/v1/disk-offerings/: everyone reads what their domain may use, root
admins create, update and delete; refusals change nothing."""

from __future__ import annotations

import pytest

from compute.models import ServiceOffering
from storage.models import DiskOffering
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

OFFERINGS = "/api/v1/service-offerings/"
DISKS = "/api/v1/disk-offerings/"


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def test_root_admin_creates_updates_and_deletes_a_compute_offering(cloud, admin_api, alice_api):
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    response = ok(admin_api.post(OFFERINGS, {
        "name": "Flex", "customized": True, "cpu_speed": 1500, "min_cpu_number": 1, "max_cpu_number": 4,
        "min_memory": 512, "max_memory": 4096, "offer_ha": True, "host_tags": ["ssd"], "storage_tags": ["fast"],
        "domains": [str(sales.uuid)]}, format="json"), 201)
    body = response.json()
    assert body["is_customized"] is True and body["cpu_number"] is None and body["max_cpu_number"] == 4
    assert (body["host_tags"], body["storage_tags"], body["offer_ha"]) == ("ssd", "fast", True)
    assert [d["name"] for d in body["domains"]] == ["Sales"]
    detail = f"{OFFERINGS}{body['id']}/"
    assert_error(alice_api.get(detail), 404, 431)  # limited to Sales

    body = ok(admin_api.patch(detail, {"name": "Flexible", "domains": []}, format="json")).json()
    assert body["name"] == "Flexible" and body["domains"] == []
    assert alice_api.get(detail).json()["name"] == "Flexible"

    ok(admin_api.delete(detail), 204)
    assert_error(admin_api.get(detail), 404, 431)
    assert ServiceOffering.objects.get(uuid=body["id"]).removed is not None


def test_invalid_compute_offering_is_a_400_and_creates_nothing(cloud, admin_api):
    error = assert_error(admin_api.post(OFFERINGS, {"name": "Bad", "cpu_number": 1, "memory": 512},
                                        format="json"), 400, 431)
    assert "cpuspeed" in error["message"]
    response = admin_api.post(OFFERINGS, {"name": "Bad", "domains": ["not-a-uuid"]}, format="json")
    assert response.status_code == 400
    assert ServiceOffering.objects.count() == 1


def test_users_read_but_cannot_change_offerings(cloud, alice_api):
    disk = DiskOffering.objects.create(name="Data", disk_size=2**30)
    assert alice_api.get(OFFERINGS).json()["count"] == 1 and alice_api.get(DISKS).json()["count"] == 1
    for response in (
        alice_api.post(OFFERINGS, {"name": "x", "cpu_number": 1, "cpu_speed": 1, "memory": 64}, format="json"),
        alice_api.patch(f"{OFFERINGS}{cloud.offering.uuid}/", {"name": "x"}, format="json"),
        alice_api.delete(f"{OFFERINGS}{cloud.offering.uuid}/"),
        alice_api.post(DISKS, {"name": "x", "disk_size_gb": 1}, format="json"),
        alice_api.patch(f"{DISKS}{disk.uuid}/", {"name": "x"}, format="json"),
        alice_api.delete(f"{DISKS}{disk.uuid}/"),
    ):
        assert response.status_code == 403, response.content
    cloud.offering.refresh_from_db()
    disk.refresh_from_db()
    assert (cloud.offering.name, cloud.offering.removed, disk.name, disk.removed) == ("Small", None, "Data", None)
    assert ServiceOffering.objects.count() == 1 and DiskOffering.objects.count() == 1


def test_system_offerings_are_for_root_admins_and_filters_work(cloud, admin_api, alice_api):
    ServiceOffering.objects.create(name="router", cpu_number=1, cpu_speed=500, memory=256, is_system=True,
                                   system_vm_type="domainrouter")
    ServiceOffering.objects.create(name="Any", cpu_speed=None)
    assert {o["name"] for o in alice_api.get(OFFERINGS).json()["results"]} == {"Small", "Any"}
    assert [o["name"] for o in admin_api.get(OFFERINGS, {"is_system": "true"}).json()["results"]] == ["router"]
    assert [o["name"] for o in alice_api.get(OFFERINGS, {"is_customized": "true"}).json()["results"]] == ["Any"]
    assert [o["name"] for o in alice_api.get(OFFERINGS, {"is_customized": "false"}).json()["results"]] == ["Small"]


def test_disk_offerings_crud(cloud, admin_api, alice_api):
    body = ok(admin_api.post(DISKS, {"name": "Data 10", "disk_size_gb": 10, "storage_tags": ["ssd"],
                                     "iops_read_rate": 500, "bytes_write_rate": 1048576}, format="json"), 201).json()
    assert (body["disk_size"], body["is_customized"], body["storage_tags"]) == (10 * 2**30, False, "ssd")
    assert (body["iops_read_rate"], body["bytes_write_rate"], body["iops_write_rate"]) == (500, 1048576, None)
    custom = ok(admin_api.post(DISKS, {"name": "Any size"}, format="json"), 201).json()
    assert custom["is_customized"] is True and custom["disk_size"] == 0

    detail = f"{DISKS}{body['id']}/"
    body = ok(admin_api.patch(detail, {"iops_read_rate": None, "display_offering": False}, format="json")).json()
    assert body["iops_read_rate"] is None and body["bytes_write_rate"] == 1048576
    assert_error(alice_api.get(detail), 404, 431)  # hidden from end users
    assert alice_api.get(DISKS, {"is_customized": "true"}).json()["count"] == 1

    ok(admin_api.delete(detail), 204)
    assert_error(admin_api.get(detail), 404, 431)
    error = assert_error(admin_api.post(DISKS, {"name": "Bad", "customized": True, "disk_size_gb": 5},
                                        format="json"), 400, 431)
    assert "disksize" in error["message"]


@pytest.mark.parametrize("path,make", [
    (OFFERINGS, lambda domain: factories.ServiceOfferingFactory(domains=[domain])),
    (DISKS, lambda domain: DiskOffering.objects.create(name="d", disk_size=2**30).domains.add(domain)),
])
def test_offering_lists_run_a_constant_number_of_queries(cloud, admin_api, path, make):
    domain = cloud.admin.account.domain
    make(domain)
    before, after = assert_queries_constant(lambda: ok(admin_api.get(path)).json(),
                                            lambda: [make(domain) for _ in range(3)])
    assert after["count"] == before["count"] + 3
