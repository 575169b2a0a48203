"""Service and disk offering commands of the CloudStack API, with CloudStack's parameter and field names:
root admins create, update and delete; everyone lists what their domain may use; refusals change nothing."""

from __future__ import annotations

import pytest

from compute.models import ServiceOffering
from portal.models import Event
from storage.models import DiskOffering
from tests import factories
from tests.support.queries import assert_queries_constant

pytestmark = pytest.mark.django_db


def test_create_fixed_offering_and_list_it(cloud, api_json):
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    status, body = api_json("admin", "createServiceOffering", name="Medium", displaytext="2 CPU", cpunumber=2,
                            cpuspeed=2000, memory=2048, offerha="true", limitcpuuse="true", isvolatile="true",
                            hosttags="ssd", tags="fast", domainid=str(sales.uuid), rootdisksize=20,
                            dynamicscalingenabled="false", deploymentplanner="FirstFitPlanner")
    assert status == 200, body
    offering = body["serviceoffering"]
    assert (offering["name"], offering["displaytext"], offering["cpunumber"], offering["cpuspeed"],
            offering["memory"]) == ("Medium", "2 CPU", 2, 2000, 2048)
    assert offering["offerha"] is True and offering["limitcpuuse"] is True and offering["isvolatile"] is True
    assert offering["iscustomized"] is False and offering["dynamicscalingenabled"] is False
    assert (offering["hosttags"], offering["storagetags"], offering["rootdisksize"]) == ("ssd", "fast", 20)
    assert (offering["domainid"], offering["domain"], offering["storagetype"]) == (str(sales.uuid), "Sales", "shared")
    listed = api_json("admin", "listServiceOfferings", id=offering["id"])[1]["serviceoffering"][0]
    assert listed == offering
    # Limited to Sales: alice (ROOT domain) does not see it.
    assert api_json("alice", "listServiceOfferings", id=offering["id"])[1] == {}
    assert api_json("admin", "listServiceOfferings", domainid=str(sales.uuid))[1]["count"] == 1


def test_custom_constrained_offering_reports_bounds_as_details(cloud, api_json):
    _, body = api_json("admin", "createServiceOffering", name="Flex", customized="true", cpuspeed=1500,
                       mincpunumber=1, maxcpunumber=4, minmemory=512, maxmemory=4096)
    offering = body["serviceoffering"]
    assert offering["iscustomized"] is True and "cpunumber" not in offering and "memory" not in offering
    assert offering["cpuspeed"] == 1500
    assert offering["serviceofferingdetails"] == {"mincpunumber": "1", "maxcpunumber": "4", "minmemory": "512",
                                                  "maxmemory": "4096"}
    _, body = api_json("admin", "createServiceOffering", name="Any", customized="true")
    assert body["serviceoffering"]["iscustomized"] is True and "serviceofferingdetails" not in body["serviceoffering"]


def test_invalid_offering_is_refused_with_431(cloud, api_json):
    before = ServiceOffering.objects.count()
    status, body = api_json("admin", "createServiceOffering", name="Bad", customized="true", cpunumber=2)
    assert status == 431 and "should be null" in body["errortext"]
    status, body = api_json("admin", "createServiceOffering", name="Bad", cpunumber=1, cpuspeed=1000, memory=512,
                            offerha="true", storagetype="local")
    assert status == 431 and "local storage" in body["errortext"]
    assert ServiceOffering.objects.count() == before


def test_system_offerings_are_listed_only_with_issystem_to_root_admins(cloud, api_json):
    api_json("admin", "createServiceOffering", name="router", cpunumber=1, cpuspeed=500, memory=256,
             issystem="true", systemvmtype="domainrouter")
    assert {o["name"] for o in api_json("admin", "listServiceOfferings")[1]["serviceoffering"]} == {"Small"}
    system = api_json("admin", "listServiceOfferings", issystem="true")[1]["serviceoffering"]
    assert [(o["name"], o["issystem"], o["systemvmtype"]) for o in system] == [("router", True, "domainrouter")]
    assert api_json("admin", "listServiceOfferings", issystem="true", systemvmtype="consoleproxy")[1] == {}
    assert api_json("alice", "listServiceOfferings", issystem="true")[1] == {}


def test_update_and_delete_service_offering(cloud, api_json):
    oid = str(cloud.offering.uuid)
    status, body = api_json("admin", "updateServiceOffering", id=oid, name="Smaller", hosttags="a,b",
                            storagetags="fast")
    assert status == 200 and body["serviceoffering"]["name"] == "Smaller"
    assert (body["serviceoffering"]["hosttags"], body["serviceoffering"]["storagetags"]) == ("a,b", "fast")
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    _, body = api_json("admin", "updateServiceOffering", id=oid, domainid=str(sales.uuid))
    assert body["serviceoffering"]["domain"] == "Sales"
    _, body = api_json("admin", "updateServiceOffering", id=oid, domainid="public")
    assert "domainid" not in body["serviceoffering"]
    status, body = api_json("admin", "deleteServiceOffering", id=oid)
    assert status == 200 and body == {"success": True}
    assert api_json("admin", "listServiceOfferings", id=oid)[1] == {}
    assert Event.objects.filter(type__startswith="SERVICE.OFFERING.").count() == 4


@pytest.mark.parametrize("command,params", [
    ("createServiceOffering", {"name": "x", "cpunumber": 1, "cpuspeed": 1000, "memory": 512}),
    ("updateServiceOffering", {"id": "<offering>", "name": "x"}),
    ("deleteServiceOffering", {"id": "<offering>"}),
    ("createDiskOffering", {"name": "x", "disksize": 1}),
    ("updateDiskOffering", {"id": "<disk>", "name": "x"}),
    ("deleteDiskOffering", {"id": "<disk>"}),
])
def test_users_cannot_change_offerings(cloud, api_json, command, params):
    disk = DiskOffering.objects.create(name="Data", disk_size=2**30)
    ids = {"<offering>": str(cloud.offering.uuid), "<disk>": str(disk.uuid)}
    status, body = api_json("alice", command, **{k: ids.get(str(v), v) for k, v in params.items()})
    assert (status, body["errorcode"]) == (401, 401) and "not available" in body["errortext"], body
    cloud.offering.refresh_from_db()
    disk.refresh_from_db()
    assert (cloud.offering.name, cloud.offering.removed, disk.name, disk.removed) == ("Small", None, "Data", None)
    assert ServiceOffering.objects.count() == 1 and DiskOffering.objects.count() == 1


# --- disk offerings ----------------------------------------------------------------------------------------

def test_disk_offering_commands(cloud, api_json):
    status, body = api_json("admin", "createDiskOffering", name="Data 10", disksize=10, tags="ssd",
                            iopsreadrate=500, iopswriterate=400, bytesreadrate=10485760, byteswriterate=5242880)
    assert status == 200, body
    offering = body["diskoffering"]
    assert (offering["disksize"], offering["iscustomized"], offering["tags"], offering["storagetype"]) == (
        10, False, "ssd", "shared")
    assert (offering["diskIopsReadRate"], offering["diskIopsWriteRate"], offering["diskBytesReadRate"],
            offering["diskBytesWriteRate"]) == (500, 400, 10485760, 5242880)
    _, custom = api_json("admin", "createDiskOffering", name="Custom", customized="true")
    assert (custom["diskoffering"]["disksize"], custom["diskoffering"]["iscustomized"]) == (0, True)
    assert api_json("alice", "listDiskOfferings")[1]["count"] == 2

    _, body = api_json("admin", "updateDiskOffering", id=offering["id"], name="Data ten", iopsreadrate=0,
                       displayoffering="false")
    assert body["diskoffering"]["name"] == "Data ten" and "diskIopsReadRate" not in body["diskoffering"]
    assert body["diskoffering"]["displayoffering"] is False
    # Hidden from end users, still listed to admins.
    assert api_json("alice", "listDiskOfferings")[1]["count"] == 1
    assert api_json("admin", "listDiskOfferings")[1]["count"] == 2

    assert api_json("admin", "deleteDiskOffering", id=offering["id"]) == (200, {"success": True})
    assert api_json("admin", "listDiskOfferings", id=offering["id"])[1] == {}
    assert DiskOffering.objects.get(uuid=offering["id"]).removed is not None


def test_invalid_disk_offering_is_refused(cloud, api_json):
    status, body = api_json("admin", "createDiskOffering", name="Bad", customized="true", disksize=5)
    assert status == 431 and "disksize" in body["errortext"]
    status, body = api_json("admin", "createDiskOffering", name="Bad", disksize=0)
    assert status == 431
    assert not DiskOffering.objects.exists()


@pytest.mark.parametrize("command,factory", [
    ("listServiceOfferings", lambda domain: factories.ServiceOfferingFactory(domains=[domain])),
    ("listDiskOfferings", lambda domain: DiskOffering.objects.create(name="d", disk_size=2**30).domains.add(domain)),
])
def test_offering_lists_run_a_constant_number_of_queries(cloud, api, command, factory):
    domain = cloud.admin.account.domain
    factory(domain)  # one row first: the domains prefetch runs once rows exist

    def request():
        response = api("admin", command, response="json")
        assert response.status_code == 200
        return response.json()

    def grow():
        for _ in range(3):
            factory(domain)

    before, after = assert_queries_constant(request, grow)
    key = command.lower() + "response"
    assert after[key]["count"] == before[key].get("count", 0) + 3
