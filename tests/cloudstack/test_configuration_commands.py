"""listConfigurations, updateConfiguration and resetConfiguration with CloudStack's names and fields."""

from __future__ import annotations

import pytest

from portal.configuration import SETTINGS, config_value
from portal.models import ConfigurationValue
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

FIELDS = {"name", "value", "defaultvalue", "category", "description", "scope", "isdynamic", "type"}


def test_list_all_settings_with_cloudstack_fields(cloud, api_json):
    status, body = api_json("admin", "listConfigurations")
    assert status == 200 and body["count"] == len(SETTINGS)
    by_name = {row["name"]: row for row in body["configuration"]}
    cpu = by_name["cpu.overprovisioning.factor"]
    assert set(cpu) >= FIELDS and "id" not in cpu
    assert (cpu["value"], cpu["defaultvalue"], cpu["category"], cpu["scope"], cpu["type"], cpu["isdynamic"]) == (
        "1.0", "1.0", "Advanced", "cluster", "Decimal", True)
    assert by_name["vm.allocation.algorithm"]["options"].startswith("random,firstfit")
    assert by_name["ping.interval"]["type"] == "Number"


def test_list_filters(cloud, api_json):
    assert api_json("admin", "listConfigurations", name="ping.interval")[1]["count"] == 1
    alert = api_json("admin", "listConfigurations", category="Alert")[1]["configuration"]
    assert {row["name"] for row in alert} == {"cluster.cpu.allocated.capacity.disablethreshold",
                                              "cluster.memory.allocated.capacity.disablethreshold",
                                              "pool.storage.capacity.disablethreshold"}
    assert {row["name"] for row in api_json("admin", "listConfigurations", keyword="expunge")[1]["configuration"]
            } >= {"expunge.delay", "expunge.interval"}
    cluster = api_json("admin", "listConfigurations", clusterid=str(cloud.host.cluster.uuid))[1]["configuration"]
    assert {row["scope"] for row in cluster} == {"cluster"} and len(cluster) == 4
    assert {row["id"] for row in cluster} == {str(cloud.host.cluster.uuid)}


def test_update_and_reset_at_a_zone(cloud, api_json):
    name, zone = "pool.storage.capacity.disablethreshold", str(cloud.zone.uuid)
    status, body = api_json("admin", "updateConfiguration", name=name, value="0.6", zoneid=zone)
    assert status == 200
    assert (body["configuration"]["value"], body["configuration"]["id"]) == ("0.6", zone)
    assert config_value(name, zone=cloud.zone) == 0.6 and config_value(name) == 0.85
    listed = api_json("admin", "listConfigurations", name=name, zoneid=zone)[1]["configuration"][0]
    assert listed["value"] == "0.6"
    status, body = api_json("admin", "resetConfiguration", name=name, zoneid=zone)
    assert status == 200 and body["configuration"]["value"] == "0.85"
    assert not ConfigurationValue.objects.exists()


def test_update_a_cluster_factor(cloud, api_json):
    cluster = cloud.host.cluster
    status, body = api_json("admin", "updateConfiguration", name="cpu.overprovisioning.factor", value="4",
                            clusterid=str(cluster.uuid))
    assert status == 200 and body["configuration"]["value"] == "4.0"
    cluster.refresh_from_db()
    assert cluster.cpu_overprovisioning == 4.0
    assert api_json("admin", "listClusters", id=str(cluster.uuid))[1]["cluster"][0]["cpuovercommitratio"] == "4"


@pytest.mark.parametrize("params", [
    {"name": "ping.interval", "value": "soon"},
    {"name": "ping.interval", "value": "-1"},
    {"name": "nope", "value": "1"},
    {"name": "ping.interval", "value": "5", "zoneid": "<zone>"},
    {"name": "pool.storage.capacity.disablethreshold", "value": "0.5", "zoneid": "<zone>", "clusterid": "<cluster>"},
])
def test_bad_updates_answer_431_and_change_nothing(cloud, api_json, params):
    ids = {"<zone>": str(cloud.zone.uuid), "<cluster>": str(cloud.host.cluster.uuid)}
    status, body = api_json("admin", "updateConfiguration", **{k: ids.get(v, v) for k, v in params.items()})
    assert (status, body["errorcode"]) == (431, 431)
    assert not ConfigurationValue.objects.exists()


@pytest.mark.parametrize("command,params", [
    ("listConfigurations", {}),
    ("updateConfiguration", {"name": "ping.interval", "value": "5"}),
    ("resetConfiguration", {"name": "ping.interval"}),
    ("updateConfiguration", {"name": "allow.user.expunge.recover.vm", "value": "true", "accountid": "<alice>"}),
])
def test_end_users_are_refused(cloud, api_json, command, params):
    params = {k: str(cloud.alice.account.uuid) if v == "<alice>" else v for k, v in params.items()}
    status, body = api_json("alice", command, **params)
    assert status == 401 and body["errorcode"] == 401
    assert not ConfigurationValue.objects.exists()


def test_account_setting_through_the_api(cloud, api_json):
    account = str(cloud.alice.account.uuid)
    status, body = api_json("admin", "updateConfiguration", name="allow.user.expunge.recover.vm", value="true",
                            accountid=account)
    assert status == 200 and body["configuration"]["value"] == "true"
    assert config_value("allow.user.expunge.recover.vm", account=cloud.alice.account) is True
    assert config_value("allow.user.expunge.recover.vm", account=cloud.bob.account) is False


def test_list_query_count_does_not_grow(cloud, api_json):
    api_json("admin", "listConfigurations")
    before, _ = count_queries(lambda: api_json("admin", "listConfigurations"))
    for name in ("ping.interval", "expunge.delay", "expunge.interval"):
        api_json("admin", "updateConfiguration", name=name, value="100")
    after, (status, body) = count_queries(lambda: api_json("admin", "listConfigurations"))
    assert status == 200 and before == after
    assert {row["value"] for row in body["configuration"] if row["name"].startswith("expunge")} == {"100"}
