"""/api/v1/configurations/: list with filters and scopes, change by name, reset; typed and validated."""

from __future__ import annotations

import pytest

from portal.configuration import SETTINGS, config_value
from portal.models import ConfigurationValue
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

CONFIGS = "/api/v1/configurations/"


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def test_list_and_filters(cloud, admin_api):
    body = ok(admin_api.get(CONFIGS)).json()
    assert body["count"] == len(SETTINGS)
    row = next(r for r in body["results"] if r["name"] == "vm.allocation.algorithm")
    assert (row["value"], row["default_value"], row["type"], row["scope"], row["target_scope"], row["target_id"]) \
        == ("random", "random", "Select", "global", "global", None)
    assert "firstfit" in row["options"]
    assert {r["name"] for r in ok(admin_api.get(CONFIGS, {"category": "alert"})).json()["results"]} == {
        "cluster.cpu.allocated.capacity.disablethreshold", "cluster.memory.allocated.capacity.disablethreshold",
        "pool.storage.capacity.disablethreshold"}
    zone = ok(admin_api.get(CONFIGS, {"zone": str(cloud.zone.uuid)})).json()["results"]
    assert [(r["name"], r["target_id"]) for r in zone] == [("pool.storage.capacity.disablethreshold",
                                                           str(cloud.zone.uuid))]
    # ping.interval, ping.timeout, and vm.stats.max.retention.time by its description ("keeping").
    assert ok(admin_api.get(CONFIGS, {"keyword": "ping"})).json()["count"] == 3


def test_patch_retrieve_and_reset(cloud, admin_api):
    url = f"{CONFIGS}cluster.memory.allocated.capacity.disablethreshold/"
    cluster = str(cloud.host.cluster.uuid)
    row = ok(admin_api.patch(url, {"value": "0.5", "cluster": cluster}, format="json")).json()
    assert (row["value"], row["target_scope"], row["target_id"], row["overridden"]) == ("0.5", "cluster", cluster, True)
    assert ok(admin_api.get(url)).json()["value"] == "0.85"
    assert ok(admin_api.get(url, {"cluster": cluster})).json()["value"] == "0.5"
    assert config_value("cluster.memory.allocated.capacity.disablethreshold", cluster=cloud.host.cluster) == 0.5
    row = ok(admin_api.post(f"{url}reset/", {"cluster": cluster}, format="json")).json()
    assert (row["value"], row["overridden"]) == ("0.85", False)
    assert not ConfigurationValue.objects.exists()


def test_refusals(cloud, admin_api, client_for):
    assert_error(admin_api.patch(f"{CONFIGS}ping.interval/", {"value": "x"}, format="json"), 400, 431)
    assert_error(admin_api.patch(f"{CONFIGS}ping.interval/", {"value": "5", "zone": str(cloud.zone.uuid)},
                                 format="json"), 400, 431)
    assert_error(admin_api.patch(f"{CONFIGS}no.such/", {"value": "5"}, format="json"), 404, 431)
    alice = client_for(cloud.alice)
    assert_error(alice.get(CONFIGS), 403, 531)
    assert_error(alice.patch(f"{CONFIGS}ping.interval/", {"value": "5"}, format="json"), 403, 531)
    assert not ConfigurationValue.objects.exists()


def test_list_queries_constant(cloud, admin_api):
    names = iter(["ping.interval", "expunge.delay", "expunge.interval"])
    assert_queries_constant(lambda: ok(admin_api.get(CONFIGS)),
                            lambda: [admin_api.patch(f"{CONFIGS}{next(names)}/", {"value": "9"}, format="json")
                                     for _ in range(3)])
