"""The unmodified PyPI client `cs` against a real server socket (pytest-django's live_server).

Jobs run eagerly in the server thread when the request's transaction commits, so a job is finished by the
time its async answer arrives; the test still polls queryAsyncJobResult like a client must.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cs import CloudStack, CloudStackApiException
from cs.client import PAGE_SIZE

from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cs_for(live_server, keys):
    def make(username: str) -> CloudStack:
        api_key, secret = keys[username]
        return CloudStack(endpoint=f"{live_server.url}/client/api", key=api_key, secret=secret,
                          poll_interval=0.05, job_timeout=60, timeout=30)

    return make


def wait_for_job(client: CloudStack, jobid: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.queryAsyncJobResult(jobid=jobid)
        if job["jobstatus"] != 0:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {jobid} still pending")


def deploy(client: CloudStack, cloud, name: str, **params) -> dict:
    return client.deployVirtualMachine(zoneid=str(cloud.zone.uuid), serviceofferingid=str(cloud.offering.uuid),
                                       templateid=str(cloud.template.uuid), name=name, **params)


def test_catalog_lists(cloud, cs_for):
    alice = cs_for("alice")

    zones = alice.listZones(fetch_list=True)
    assert [z["id"] for z in zones] == [str(cloud.zone.uuid)]
    offerings = alice.listServiceOfferings(fetch_list=True)
    assert [(o["id"], o["cpunumber"], o["memory"]) for o in offerings] == [(str(cloud.offering.uuid), 1, 512)]
    templates = alice.listTemplates(templatefilter="executable", fetch_list=True)
    assert [(t["id"], t["zoneid"], t["isready"]) for t in templates] == [
        (str(cloud.template.uuid), str(cloud.zone.uuid), True)]


def test_vm_lifecycle(cloud, cs_for):
    alice = cs_for("alice")

    answer = deploy(alice, cloud, "web1")
    assert set(answer) == {"id", "jobid"}
    job = wait_for_job(alice, answer["jobid"])
    assert job["jobstatus"] == 1, job
    vm = job["jobresult"]["virtualmachine"]
    assert (vm["id"], vm["name"], vm["state"]) == (answer["id"], "web1", "Running")
    row = VirtualMachine.objects.get(uuid=answer["id"])
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.RUNNING

    listed = alice.listVirtualMachines(id=answer["id"])
    assert listed["count"] == 1 and listed["virtualmachine"][0]["state"] == "Running"

    result = alice.stopVirtualMachine(id=answer["id"], forced=True, fetch_result=True)
    assert result["virtualmachine"]["state"] == "Stopped"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.SHUTOFF

    result = alice.startVirtualMachine(id=answer["id"], fetch_result=True)
    assert result["virtualmachine"]["state"] == "Running"

    # An invalid transition: starting a Running VM is refused at once with 431.
    with pytest.raises(CloudStackApiException) as refused:
        alice.startVirtualMachine(id=answer["id"])
    assert refused.value.response.status_code == 431
    assert refused.value.error["errorcode"] == 431
    assert "Running" in refused.value.error["errortext"]

    result = alice.rebootVirtualMachine(id=answer["id"], fetch_result=True)
    assert result["virtualmachine"]["state"] == "Running"

    result = alice.destroyVirtualMachine(id=answer["id"], fetch_result=True)
    assert result["virtualmachine"]["state"] == "Destroyed"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.MISSING
    assert alice.listVirtualMachines(fetch_list=True) == []


def test_listing_counts_pages_and_tenancy(cloud, cs_for):
    alice, bob = cs_for("alice"), cs_for("bob")
    ids = {deploy(alice, cloud, f"vm{i}", startvm=False)["id"] for i in range(3)}

    first = alice.listVirtualMachines(page=1, pagesize=2)
    second = alice.listVirtualMachines(page=2, pagesize=2)
    assert (first["count"], len(first["virtualmachine"])) == (3, 2)
    assert (second["count"], len(second["virtualmachine"])) == (3, 1)
    assert {vm["id"] for vm in first["virtualmachine"] + second["virtualmachine"]} == ids

    # cs pages by itself until `count` is reached.
    assert {vm["id"] for vm in alice.listVirtualMachines(fetch_list=True, pagesize=2)} == ids

    assert bob.listVirtualMachines(fetch_list=True) == []
    assert bob.listVirtualMachines() == {}
    bobs = deploy(bob, cloud, "bobvm", startvm=False)["id"]
    assert {vm["id"] for vm in bob.listVirtualMachines(fetch_list=True)} == {bobs}
    assert bobs not in {vm["id"] for vm in alice.listVirtualMachines(fetch_list=True)}


def test_unknown_command_is_401(cloud, cs_for):
    with pytest.raises(CloudStackApiException) as refused:
        cs_for("alice").fooBar()
    assert refused.value.response.status_code == 401
    assert refused.value.error["errorcode"] == 401


def test_bad_parameter_creates_nothing(cloud, cs_for):
    with pytest.raises(CloudStackApiException) as refused:
        deploy(cs_for("alice"), cloud, "web1", displayname="x" * 300)
    assert refused.value.response.status_code == 431
    assert not VirtualMachine.objects.exists()


def test_post_method(cloud, live_server, keys):
    api_key, secret = keys["alice"]
    alice = CloudStack(endpoint=f"{live_server.url}/client/api", key=api_key, secret=secret, method="post",
                       poll_interval=0.05, job_timeout=60)
    result = alice.deployVirtualMachine(zoneid=str(cloud.zone.uuid), serviceofferingid=str(cloud.offering.uuid),
                                        templateid=str(cloud.template.uuid), name="posted", fetch_result=True)
    assert result["virtualmachine"]["state"] == "Running"


class RecordingSession(requests.Session):
    """A real HTTP session that remembers the URL of every request cs sends through it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.sent.append(request.url)
        return super().send(request, **kwargs)


def test_fetch_list_pages_through_more_than_one_page(cloud, live_server, keys):
    """cs asks for pages of PAGE_SIZE (500, the server's default maximum too) until it has `count` items."""
    total = PAGE_SIZE + 1
    owner = cloud.alice.account
    VirtualMachine.objects.bulk_create(
        VirtualMachine(name=f"bulk{i}", display_name=f"bulk{i}", instance_name=f"i-{owner.pk}-bulk{i}-VM",
                       zone=cloud.zone, service_offering=cloud.offering, template=cloud.template, account=owner,
                       domain=owner.domain, user=cloud.alice, cpu_number=1, cpu_speed=1000, memory=512)
        for i in range(total)
    )
    session = RecordingSession()
    api_key, secret = keys["alice"]
    alice = CloudStack(endpoint=f"{live_server.url}/client/api", key=api_key, secret=secret, session=session,
                       timeout=60)

    listed = alice.listVirtualMachines(fetch_list=True)

    assert len(listed) == total
    assert {vm["id"] for vm in listed} == {str(uuid) for uuid in VirtualMachine.objects.values_list("uuid",
                                                                                                  flat=True)}
    # One request per page: page 1 (500 VMs), page 2 (the last one).
    queries = [parse_qs(urlsplit(url).query) for url in session.sent]
    assert [(query["page"], query["pagesize"]) for query in queries] == [(["1"], ["500"]), (["2"], ["500"])]


def test_bootstrap_keys_from_a_password_over_http(cloud, live_server):
    """What a client that only knows a password does: login (POST), registerUserKeys for itself with the
    session, then signed calls with the new pair through the unmodified cs client."""
    endpoint = f"{live_server.url}/client/api"
    browser = requests.Session()
    response = browser.post(endpoint, data={"command": "login", "username": "alice", "password": TEST_PASSWORD,
                                            "response": "json"}, timeout=30)
    assert response.status_code == 200, response.text
    login = response.json()["loginresponse"]
    assert {cookie.name for cookie in browser.cookies} == {"JSESSIONID", "sessionkey"}

    registered = browser.post(endpoint, data={"command": "registerUserKeys", "id": login["userid"],
                                              "sessionkey": login["sessionkey"], "response": "json"}, timeout=30)
    assert registered.status_code == 200, registered.text
    pair = registered.json()["registeruserkeysresponse"]["userkeys"]
    fetched = browser.get(endpoint, params={"command": "getUserKeys", "id": login["userid"],
                                            "sessionkey": login["sessionkey"], "response": "json"}, timeout=30)
    assert fetched.json()["getuserkeysresponse"]["userkeys"] == pair

    alice = CloudStack(endpoint=endpoint, key=pair["apikey"], secret=pair["secretkey"], timeout=30)
    assert [zone["id"] for zone in alice.listZones(fetch_list=True)] == [str(cloud.zone.uuid)]
    me = alice.listUsers()["user"][0]
    assert (me["id"], me["apikey"]) == (login["userid"], pair["apikey"])

    out = browser.post(endpoint, data={"command": "logout", "response": "json"}, timeout=30)
    assert out.json() == {"logoutresponse": {"description": "success"}}
    after = browser.get(endpoint, params={"command": "listZones", "sessionkey": login["sessionkey"],
                                          "response": "json"}, timeout=30)
    assert after.status_code == 401
    # The keys outlive the session.
    assert alice.listZones()["count"] == 1


PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD alice@laptop"
USER_DATA = "#cloud-config\nruncmd: [echo hello]\n"


def test_deploy_with_key_pair_and_user_data_stop_start_tags_destroy(cloud, cs_for):
    """Issue 6 item 9: what a `cs` user does with a VM from deploy to destroy."""
    alice = cs_for("alice")
    pair = alice.registerSSHKeyPair(name="laptop", publickey=PUBLIC_KEY)["keypair"]
    assert pair["name"] == "laptop" and pair["fingerprint"]

    answer = deploy(alice, cloud, "web1", keypair="laptop",
                    userdata=base64.b64encode(USER_DATA.encode()).decode())
    job = wait_for_job(alice, answer["jobid"])
    assert job["jobstatus"] == 1, job
    assert job["jobresult"]["virtualmachine"]["keypairs"] == "laptop"
    row = VirtualMachine.objects.get(uuid=answer["id"])
    assert (row.key_pair_names, row.ssh_public_keys, row.user_data) == ("laptop", PUBLIC_KEY, USER_DATA)
    assert row.config_drive_path and row.config_drive_path in hv.domain_xml(cloud.host.url, row.instance_name)

    assert alice.stopVirtualMachine(id=answer["id"], fetch_result=True)["virtualmachine"]["state"] == "Stopped"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.SHUTOFF
    assert alice.startVirtualMachine(id=answer["id"], fetch_result=True)["virtualmachine"]["state"] == "Running"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.RUNNING
    row.refresh_from_db()
    assert row.config_drive_path in hv.domain_xml(cloud.host.url, row.instance_name)

    tagged = alice.createTags(resourceids=answer["id"], resourcetype="UserVm", fetch_result=True,
                              **{"tags[0].key": "env", "tags[0].value": "prod",
                                 "tags[1].key": "team", "tags[1].value": "web"})
    assert tagged["success"] is True
    tags = alice.listTags(resourceid=answer["id"], fetch_list=True)
    assert {(t["key"], t["value"], t["resourcetype"], t["resourceid"]) for t in tags} == {
        ("env", "prod", "UserVm", answer["id"]), ("team", "web", "UserVm", answer["id"])}
    listed = alice.listVirtualMachines(id=answer["id"])["virtualmachine"][0]
    assert {(t["key"], t["value"]) for t in listed["tags"]} == {("env", "prod"), ("team", "web")}
    assert [vm["id"] for vm in alice.listVirtualMachines(
        fetch_list=True, **{"tags[0].key": "env", "tags[0].value": "prod"})] == [answer["id"]]
    assert cs_for("bob").listTags(fetch_list=True) == []

    alice.deleteTags(resourceids=answer["id"], resourcetype="UserVm", fetch_result=True,
                     **{"tags[0].key": "env"})
    assert [t["key"] for t in alice.listTags(resourceid=answer["id"], fetch_list=True)] == ["team"]

    result = alice.destroyVirtualMachine(id=answer["id"], fetch_result=True)
    assert result["virtualmachine"]["state"] == "Destroyed"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.MISSING
    assert alice.listVirtualMachines(fetch_list=True) == []
