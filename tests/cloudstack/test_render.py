"""Answer shapes: exact empty lists, counts, XML by default, dates, types, errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from compute import services
from tests import factories

pytestmark = pytest.mark.django_db

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")


def make_vms(cloud, run_jobs, user, count):
    with run_jobs():
        for i in range(count):
            services.vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering,
                               template=cloud.template, name=f"vm{i}", start_vm=False)


def test_empty_list_is_exactly_an_empty_object(api, cloud):
    response = api("bob", "listVirtualMachines", response="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == b'{"listvirtualmachinesresponse":{}}'


def test_count_is_the_total_across_pages(api_json, cloud, run_jobs):
    make_vms(cloud, run_jobs, cloud.alice, 5)

    pages = [api_json("alice", "listVirtualMachines", page=p, pagesize=2)[1] for p in (1, 2, 3, 4)]

    assert [page.get("count") for page in pages] == [5, 5, 5, 5]
    assert [len(page.get("virtualmachine", [])) for page in pages] == [2, 2, 1, 0]
    assert pages[3] == {"count": 5}  # past the end: the count alone, as CloudStack answers
    ids = [vm["id"] for page in pages for vm in page.get("virtualmachine", [])]
    assert len(set(ids)) == 5
    _, everything = api_json("alice", "listVirtualMachines", page=1, pagesize=-1)
    assert sorted(vm["id"] for vm in everything["virtualmachine"]) == sorted(ids)


def test_default_page_size_is_a_setting(api_json, cloud, run_jobs, settings):
    settings.CIRROSTACK_API_DEFAULT_PAGE_SIZE = 2
    make_vms(cloud, run_jobs, cloud.alice, 3)
    _, body = api_json("alice", "listVirtualMachines")
    assert body["count"] == 3 and len(body["virtualmachine"]) == 2


def test_xml_is_the_default(api, cloud):
    response = api("alice", "listZones")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
    assert root.tag == "listzonesresponse"
    assert root.findtext("count") == "1"
    zone = root.find("zone")
    assert zone.findtext("id") == str(cloud.zone.uuid)
    assert zone.findtext("securitygroupsenabled") == "false"
    assert zone.findtext("localstorageenabled") == "true"


def test_xml_error(api):
    response = api("alice", "listTemplates", templatefilter="nonsense")
    assert response.status_code == 431
    root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
    assert root.tag == "listtemplatesresponse"
    assert root.findtext("errorcode") == "431"
    assert root.findtext("cserrorcode") == "4350"
    assert "templatefilter" in root.findtext("errortext")


def test_json_error_shape_and_status(api):
    response = api("alice", "listTemplates", response="json")
    assert response.status_code == 431
    assert response.json() == {"listtemplatesresponse": {
        "uuidList": [], "errorcode": 431, "cserrorcode": 4350,
        "errortext": "Unable to execute API command listtemplates due to missing parameter templatefilter."}}


def test_types_dates_and_fields_of_a_virtual_machine(api_json, cloud, run_jobs):
    with run_jobs():
        _, created = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                              serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    _, body = api_json("alice", "listVirtualMachines")
    vm = body["virtualmachine"][0]

    assert vm["id"] == created["id"]
    assert DATE_RE.match(vm["created"]), vm["created"]
    assert vm["state"] == "Running"
    assert (vm["cpunumber"], vm["cpuspeed"], vm["memory"]) == (1, 1000, 512)
    assert vm["haenable"] is False and vm["passwordenabled"] is False
    assert (vm["rootdeviceid"], vm["rootdevicetype"], vm["hypervisor"]) == (0, "ROOT", "KVM")
    assert (vm["zoneid"], vm["templateid"], vm["serviceofferingid"]) == (
        str(cloud.zone.uuid), str(cloud.template.uuid), str(cloud.offering.uuid))
    assert (vm["account"], vm["domain"]) == ("alice", "ROOT")
    assert vm["nic"] == vm["securitygroup"] == vm["affinitygroup"] == vm["tags"] == []
    # Infrastructure details are for root admins only.
    assert not {"hostid", "hostname", "instancename"} & set(vm)
    _, as_admin = api_json("admin", "listVirtualMachines", id=vm["id"])
    admin_vm = as_admin["virtualmachine"][0]
    assert admin_vm["hostid"] == str(cloud.host.uuid)
    assert admin_vm["hostname"] == cloud.host.name
    assert admin_vm["instancename"].startswith("i-")


def test_templates_are_listed_once_per_zone(api_json, cloud):
    other = factories.ZoneFactory(name="zz-other")
    _, body = api_json("alice", "listTemplates", templatefilter="executable")
    assert body["count"] == 2
    assert {(t["id"], t["zoneid"]) for t in body["template"]} == {
        (str(cloud.template.uuid), str(cloud.zone.uuid)), (str(cloud.template.uuid), str(other.uuid))}
    template = body["template"][0]
    assert template["crossZones"] is True and template["templatetype"] == "USER"
    assert template["isready"] is True and isinstance(template["size"], int)
    assert DATE_RE.match(template["created"])

    _, in_other = api_json("alice", "listTemplates", templatefilter="executable", zoneid=other.uuid)
    assert in_other["count"] == 1 and in_other["template"][0]["zonename"] == "zz-other"


def test_service_offering_fields(api_json, cloud):
    _, body = api_json("alice", "listServiceOfferings")
    offering = body["serviceoffering"][0]
    assert offering["id"] == str(cloud.offering.uuid)
    assert (offering["cpunumber"], offering["memory"], offering["storagetype"]) == (1, 512, "shared")
    assert offering["offerha"] is False and offering["iscustomized"] is False and offering["issystem"] is False
    assert DATE_RE.match(offering["created"])
    assert api_json("alice", "listServiceOfferings", issystem="true")[1] == {}


def test_list_filters_keyword_name_id(api_json, cloud, run_jobs):
    make_vms(cloud, run_jobs, cloud.alice, 3)
    _, by_keyword = api_json("alice", "listVirtualMachines", keyword="VM1")
    assert [vm["name"] for vm in by_keyword["virtualmachine"]] == ["vm1"]
    _, zones = api_json("alice", "listZones", name=cloud.zone.name)
    assert zones["count"] == 1
    assert api_json("alice", "listZones", name=cloud.zone.name + "x")[1] == {}
    vm_id = by_keyword["virtualmachine"][0]["id"]
    _, by_id = api_json("alice", "listVirtualMachines", id=vm_id)
    assert by_id["count"] == 1 and by_id["virtualmachine"][0]["id"] == vm_id
