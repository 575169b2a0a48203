"""/api/v1/capacity/: read-only capacity rows per zone, pod, cluster or host; root admins only."""

from __future__ import annotations

import pytest

from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

CAPACITY = "/api/v1/capacity/"
GiB = 2**30


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def test_list_per_zone_with_factors_and_thresholds(cloud, admin_api):
    cloud.host.cluster.memory_overprovisioning = 2.0
    cloud.host.cluster.save()
    cloud.host.memory_allocated = 15 * GiB
    cloud.host.save()
    body = ok(admin_api.get(CAPACITY)).json()
    rows = {row["type"]: row for row in body["results"]}
    assert body["count"] == 5 and set(rows) == {0, 1, 2, 3, 6}
    memory = rows[0]
    assert (memory["name"], memory["level"], memory["unit"]) == ("MEMORY", "zone", "bytes")
    assert (memory["actual"], memory["total"], memory["used"]) == (8 * GiB, 16 * GiB, 15 * GiB)
    assert (memory["disable_threshold"], memory["threshold_crossed"]) == (0.85, True)
    assert memory["zone"] == {"id": str(cloud.zone.uuid), "name": cloud.zone.name}
    assert memory["pod"] is None and memory["host"] is None
    assert rows[1]["unit"] == "MHz" and rows[1]["total"] == 16000


def test_filters_and_levels(cloud, admin_api):
    other = factories.HostFactory(cluster=cloud.host.cluster)
    body = ok(admin_api.get(CAPACITY, {"level": "host", "cluster": str(cloud.host.cluster.uuid),
                                       "type": 1})).json()
    assert {row["host"]["id"] for row in body["results"]} == {str(cloud.host.uuid), str(other.uuid)}
    assert all(row["cluster"]["id"] == str(cloud.host.cluster.uuid) for row in body["results"])
    body = ok(admin_api.get(CAPACITY, {"level": "pod", "zone": str(cloud.zone.uuid), "type": "0"})).json()
    assert [row["pod"]["id"] for row in body["results"]] == [str(cloud.host.pod.uuid)]
    assert body["results"][0]["total"] == 16 * GiB


def test_bad_query_is_400(cloud, admin_api):
    assert_error(admin_api.get(CAPACITY, {"type": "4"}), 400, 431)
    assert_error(admin_api.get(CAPACITY, {"type": "x"}), 400, 431)
    assert_error(admin_api.get(CAPACITY, {"level": "galaxy"}), 400, 431)
    assert_error(admin_api.get(CAPACITY, {"zone": "00000000-0000-0000-0000-000000000000"}), 400, 431)


def test_read_only(cloud, admin_api):
    assert admin_api.post(CAPACITY, {}, format="json").status_code == 405
    assert admin_api.delete(CAPACITY).status_code == 405


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_callers_are_refused_everywhere(cloud, client_for, user):
    """Proves /api/v1/capacity/ is root-admin only (tests/isolation/test_matrix_coverage.py allow-list)."""
    assert_error(client_for(getattr(cloud, user)).get(CAPACITY), 403, 531)


def test_domain_admin_is_refused(cloud, client_for):
    domain_admin = factories.UserFactory(account__account_type=2)
    assert_error(client_for(domain_admin).get(CAPACITY, {"level": "host"}), 403, 531)


@pytest.mark.parametrize("level", ["zone", "cluster", "host"])
def test_query_count_constant(cloud, admin_api, level):
    def grow() -> None:
        for _ in range(27):
            host = factories.HostFactory()
            factories.StoragePoolFactory(cluster=host.cluster)

    factories.HostFactory()
    before, after = assert_queries_constant(
        lambda: ok(admin_api.get(CAPACITY, {"level": level, "page_size": 500})), grow)
    assert after.json()["count"] > before.json()["count"]
