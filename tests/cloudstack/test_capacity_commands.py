"""listCapacity through the CloudStack API: CloudStack's field names and grouping, root admins only."""

from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.services import user_keys_register
from tests import factories
from tests.support.queries import assert_queries_constant

pytestmark = pytest.mark.django_db
GiB = 2**30
KEYS = {"type", "name", "zoneid", "zonename", "podid", "podname", "clusterid", "clustername", "capacitytotal",
        "capacityused", "capacityallocated", "percentused"}


def test_list_capacity_per_zone(cloud, api_json):
    cloud.host.cluster.cpu_overprovisioning = 3.0
    cloud.host.cluster.save()
    cloud.host.cpu_allocated = 12000
    cloud.host.save()
    factories.ImageStoreFactory(zone=cloud.zone, capacity_bytes=100 * GiB, used_bytes=40 * GiB)
    status, body = api_json("admin", "listCapacity", zoneid=str(cloud.zone.uuid))
    assert status == 200, body
    rows = {row["type"]: row for row in body["capacity"]}
    assert body["count"] == 5 and set(rows) == {0, 1, 2, 3, 6}
    assert all(set(row) >= {"type", "name", "zoneid", "zonename", "capacitytotal", "capacityused",
                            "percentused"} for row in rows.values())
    cpu = rows[1]
    assert (cpu["name"], cpu["capacitytotal"], cpu["capacityused"], cpu["percentused"]) == (
        "CPU", 48000, 12000, "25")
    assert cpu["zoneid"] == str(cloud.zone.uuid) and "podid" not in cpu
    assert (rows[6]["name"], rows[6]["capacitytotal"], rows[6]["percentused"]) == ("SECONDARY_STORAGE",
                                                                                  100 * GiB, "40")


def test_list_capacity_per_cluster_and_type(cloud, api_json):
    status, body = api_json("admin", "listCapacity", clusterid=str(cloud.host.cluster.uuid), type=0)
    assert status == 200, body
    [row] = body["capacity"]
    assert set(row) == KEYS
    assert (row["type"], row["name"], row["clusterid"], row["podid"], row["capacitytotal"]) == (
        0, "MEMORY", str(cloud.host.cluster.uuid), str(cloud.host.pod.uuid), 8 * GiB)
    status, body = api_json("admin", "listCapacity", podid=str(cloud.host.pod.uuid), type=1)
    assert [(row["podid"], row.get("clusterid")) for row in body["capacity"]] == [(str(cloud.host.pod.uuid), None)]


def test_sortby_usage_and_fetchlatest(cloud, api_json):
    busy = factories.HostFactory(memory_allocated=7 * GiB)
    status, body = api_json("admin", "listCapacity", sortby="usage", fetchlatest=True, type=0)
    assert status == 200, body
    assert body["capacity"][0]["zoneid"] == str(busy.zone.uuid)
    percents = [float(row["percentused"]) for row in body["capacity"]]
    assert percents == sorted(percents, reverse=True)


def test_bad_type_and_unknown_zone(cloud, api_json):
    status, body = api_json("admin", "listCapacity", type=4)
    assert status == 431, body
    status, body = api_json("admin", "listCapacity", zoneid="00000000-0000-0000-0000-000000000000")
    assert status == 431, body
    status, body = api_json("admin", "listCapacity", sortby="name")
    assert status == 431, body


def test_non_root_refused(cloud, keys, api_json):
    """Proves listCapacity is root-admin only (tests/isolation/test_matrix_coverage.py allow-list)."""
    domain_admin = factories.UserFactory(username="dadmin", account__name="dadmin",
                                         account__domain=cloud.alice.account.domain,
                                         account__account_type=Account.Type.DOMAIN_ADMIN)
    keys["dadmin"] = user_keys_register(user=domain_admin)
    for user in ("alice", "bob", "dadmin"):
        status, body = api_json(user, "listCapacity")
        # CloudStack hides commands a role lacks: "does not exist or is not available for user".
        assert (status, body["errorcode"]) == (401, 401), body
        assert "capacity" not in body


def test_query_count_constant(cloud, client, api):
    def grow() -> None:
        for _ in range(27):
            host = factories.HostFactory(cluster=cloud.host.cluster)
            factories.StoragePoolFactory(cluster=host.cluster)

    factories.HostFactory(cluster=cloud.host.cluster)
    before, after = assert_queries_constant(
        lambda: api("admin", "listCapacity", response="json", clusterid=str(cloud.host.cluster.uuid)), grow)
    assert before.status_code == after.status_code == 200
