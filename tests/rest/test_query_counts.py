"""Lists cost a fixed number of queries whatever their length: an N+1 regression fails here."""

from __future__ import annotations

import pytest

from compute import services
from tests import factories
from tests.rest.helpers import JOBS, VMS
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

# Lists of alice (her VMs and jobs) and of the root admin (everyone's).
SEES = {"alice": 1, "admin": 2}


def add_vms(cloud, run_jobs, count: int) -> None:
    """`count` VMs each for alice and bob, deployed by themselves, with finished jobs whose results name
    the VM (so rendering a job resolves its object)."""
    for _ in range(count):
        for user in (cloud.alice, cloud.bob):
            with run_jobs():
                services.vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering,
                                   template=cloud.template, start_vm=False)


def assert_list_constant(cloud, run_jobs, client, user: str, path: str, params: dict[str, str] | None = None) -> None:
    """2 VMs each, then 10 each: the same queries, at most 8, and every row listed (jobs with their VM)."""
    add_vms(cloud, run_jobs, 2)
    with_two, with_ten = assert_queries_constant(lambda: ok(client.get(path, params)),
                                                 lambda: add_vms(cloud, run_jobs, 8), at_most=8)
    for response, each in ((with_two, 2), (with_ten, 10)):
        body = response.json()
        assert body["count"] == each * SEES[user]
        if path == JOBS:
            assert all(job["result"]["url"] for job in body["results"])


@pytest.mark.parametrize("user", SEES)
@pytest.mark.parametrize("path", [VMS, JOBS])
def test_list_query_count_does_not_grow_with_the_number_of_rows(cloud, run_jobs, client_for, user, path):
    assert_list_constant(cloud, run_jobs, client_for(getattr(cloud, user)), user, path)


@pytest.mark.parametrize("user", SEES)
@pytest.mark.parametrize("path", [VMS, JOBS])
def test_filtered_and_ordered_list_query_count_is_constant_too(cloud, run_jobs, client_for, user, path):
    params = ({"state": "stopped", "zone": str(cloud.zone.uuid), "keyword": "-", "ordering": "-name"}
              if path == VMS else
              {"status": "succeeded", "instance_type": "virtualmachine", "pending": "false", "ordering": "created"})
    assert_list_constant(cloud, run_jobs, client_for(getattr(cloud, user)), user, path, params)


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/templates/", {"template_filter": "executable", "ordering": "-size"}),
    ("/api/v1/templates/", {"zone": "<zone>", "template_filter": "community"}),
    ("/api/v1/zones/", {"available": "true", "ordering": "name"}),
    ("/api/v1/service-offerings/", {"ordering": "memory"}),
])
def test_catalog_list_query_count_does_not_grow(cloud, alice_api, path, params):
    params = {name: str(cloud.zone.uuid) if value == "<zone>" else value for name, value in params.items()}

    def add(count: int) -> None:
        for _ in range(count):
            factories.TemplateFactory(zone=cloud.zone)
            factories.ZoneFactory()
            factories.ServiceOfferingFactory()

    add(1)
    few, many = assert_queries_constant(lambda: ok(alice_api.get(path, params)), lambda: add(9), at_most=8)

    assert many.json()["count"] > few.json()["count"]
