"""The host commands of the CloudStack API, with CloudStack's field names, as root admin; refused to others."""

from __future__ import annotations

import pytest

from infrastructure.models import Host
from portal.models import AsyncJob
from tests import factories
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

HOST_KEYS = {"id", "name", "state", "resourcestate", "type", "hypervisor", "hypervisorversion", "zoneid",
             "zonename", "podid", "podname", "clusterid", "clustername", "ipaddress", "cpunumber", "cpuspeed",
             "cpuallocated", "memorytotal", "memoryallocated", "created"}


def _job(api_json, jobid: str) -> dict:
    status, body = api_json("admin", "queryAsyncJobResult", jobid=jobid)
    assert status == 200
    return body


def test_list_hosts_has_cloudstack_fields(cloud, api_json):
    Host.objects.filter(pk=cloud.host.pk).update(host_tags="ssd", cpu_allocated=4000, hypervisor_version="Test 2.0")
    status, body = api_json("admin", "listHosts")
    assert status == 200 and body["count"] == 1
    host = body["host"][0]
    assert set(host) >= HOST_KEYS
    assert (host["id"], host["state"], host["resourcestate"], host["type"]) == (
        str(cloud.host.uuid), "Up", "Enabled", "Routing")
    assert (host["zoneid"], host["zonename"]) == (str(cloud.zone.uuid), cloud.zone.name)
    assert (host["cpunumber"], host["cpuspeed"], host["cpuallocated"]) == (8, 2000, "25.00%")
    assert host["memorytotal"] == 8 * 2**30 and host["hosttags"] == "ssd" and host["hypervisor"] == "Simulator"
    assert not any("password" in key or "username" in key for key in host)


def test_list_hosts_filters(cloud, api_json):
    factories.HostFactory(status="Disconnected", resource_state="Disabled")
    assert api_json("admin", "listHosts", state="Up")[1]["count"] == 1
    assert api_json("admin", "listHosts", resourcestate="Disabled")[1]["count"] == 1
    assert api_json("admin", "listHosts", zoneid=str(cloud.zone.uuid))[1]["count"] == 1
    assert api_json("admin", "listHosts", type="Routing")[1]["count"] == 2
    assert api_json("admin", "listHosts", type="SecondaryStorage")[1] == {}
    assert api_json("admin", "listHosts", id=str(cloud.host.uuid))[1]["host"][0]["name"] == cloud.host.name


@pytest.mark.parametrize("command,params", [
    ("listHosts", {}),
    ("addHost", {"url": "test:///default?x", "zoneid": "<zone>", "podid": "<pod>", "clusterid": "<cluster>"}),
    ("updateHost", {"id": "<host>", "name": "mine"}),
    ("deleteHost", {"id": "<host>"}),
    ("reconnectHost", {"id": "<host>"}),
    ("prepareHostForMaintenance", {"id": "<host>"}),
    ("cancelHostMaintenance", {"id": "<host>"}),
])
def test_non_root_callers_are_refused(cloud, api_json, command, params):
    ids = {"<zone>": cloud.zone.uuid, "<pod>": cloud.host.pod.uuid, "<cluster>": cloud.host.cluster.uuid,
           "<host>": cloud.host.uuid}
    params = {key: str(ids.get(value, value)) for key, value in params.items()}
    for user in ("alice", "bob"):
        status, body = api_json(user, command, **params)
        # As in CloudStack, a command the caller's role lacks "does not exist or is not available" (401).
        assert status == 401 and "not available" in body["errortext"], body
    cloud.host.refresh_from_db()
    assert cloud.host.name != "mine" and Host.objects.count() == 1 and not AsyncJob.objects.exists()


def test_add_host_then_it_comes_up(cloud, api_json, run_jobs):
    with run_jobs():
        status, body = api_json("admin", "addHost", zoneid=str(cloud.zone.uuid), podid=str(cloud.host.pod.uuid),
                                clusterid=str(cloud.host.cluster.uuid), url="test:///default?cs", hypervisor="KVM",
                                username="root", password="pw-secret", hosttags="ssd,gpu")
    assert status == 200, body
    added = body["host"][0]
    assert added["state"] == "Connecting" and added["hosttags"] == "ssd,gpu"
    host = Host.objects.get(uuid=added["id"])
    assert host.status == "Up" and "pw-secret" not in host.password_encrypted
    status, body = api_json("admin", "listHosts", id=added["id"])
    assert body["host"][0]["state"] == "Up" and body["host"][0]["cpunumber"] == 16
    assert "pw-secret" not in str(body)


def test_add_host_refuses_a_pod_of_another_cluster(cloud, api_json):
    other = factories.ClusterFactory()
    status, body = api_json("admin", "addHost", zoneid=str(cloud.zone.uuid), podid=str(other.pod.uuid),
                            clusterid=str(cloud.host.cluster.uuid), url="test:///default?cs")
    assert status == 431, body
    assert Host.objects.count() == 1


def test_update_host(cloud, api_json):
    status, body = api_json("admin", "updateHost", id=str(cloud.host.uuid), hosttags="a,b", allocationstate="Disable",
                            name="renamed")
    assert status == 200, body
    assert (body["host"]["name"], body["host"]["hosttags"], body["host"]["resourcestate"]) == (
        "renamed", "a,b", "Disabled")
    status, body = api_json("admin", "updateHost", id=str(cloud.host.uuid), allocationstate="Maintenance")
    assert status == 431


def test_maintenance_cycle_and_reconnect(cloud, api_json, run_jobs):
    with run_jobs():
        _status, body = api_json("admin", "prepareHostForMaintenance", id=str(cloud.host.uuid))
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["host"]["resourcestate"] == "Maintenance", job
    assert job["jobinstancetype"] == "Host"
    with run_jobs():
        _status, body = api_json("admin", "cancelHostMaintenance", id=str(cloud.host.uuid))
    job = _job(api_json, body["jobid"])
    assert job["jobresult"]["host"]["resourcestate"] == "Enabled", job
    with run_jobs():
        _status, body = api_json("admin", "reconnectHost", id=str(cloud.host.uuid))
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["host"]["state"] == "Up", job


def test_delete_host(cloud, api_json):
    host = factories.HostFactory(cluster=cloud.host.cluster)
    status, body = api_json("admin", "deleteHost", id=str(host.uuid))
    assert status == 200 and body["success"] is True
    assert not Host.objects.filter(pk=host.pk).exists()


def test_list_hosts_query_count_is_constant(cloud, api_json):
    api_json("admin", "listHosts")
    small, _ = count_queries(lambda: api_json("admin", "listHosts"))
    for _ in range(8):
        factories.HostFactory()
    large, (_status, body) = count_queries(lambda: api_json("admin", "listHosts"))
    assert body["count"] == 9
    assert small == large
