"""Lists cost a fixed number of queries whatever their length: an N+1 regression fails here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute import services
from tests import factories
from tests.rest.helpers import JOBS, VMS

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


def queries_for(client, path: str, expected_count: int, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == expected_count
    if path == JOBS:
        assert all(job["result"]["url"] for job in body["results"])
    return len(captured)


@pytest.mark.parametrize("user", SEES)
@pytest.mark.parametrize("path", [VMS, JOBS])
def test_list_query_count_does_not_grow_with_the_number_of_rows(cloud, run_jobs, client_for, user, path):
    client = client_for(getattr(cloud, user))
    add_vms(cloud, run_jobs, 2)
    client.get(path)  # warm caches that are per process, not per row
    with_two = queries_for(client, path, 2 * SEES[user])

    add_vms(cloud, run_jobs, 8)
    with_ten = queries_for(client, path, 10 * SEES[user])

    assert with_two == with_ten
    assert with_ten <= 8


@pytest.mark.parametrize("user", SEES)
@pytest.mark.parametrize("path", [VMS, JOBS])
def test_filtered_and_ordered_list_query_count_is_constant_too(cloud, run_jobs, client_for, user, path):
    client = client_for(getattr(cloud, user))
    params = ({"state": "stopped", "zone": str(cloud.zone.uuid), "keyword": "-", "ordering": "-name"}
              if path == VMS else
              {"status": "succeeded", "instance_type": "virtualmachine", "pending": "false", "ordering": "created"})
    add_vms(cloud, run_jobs, 2)
    client.get(path, params)
    with_two = queries_for(client, path, 2 * SEES[user], params)

    add_vms(cloud, run_jobs, 8)
    with_ten = queries_for(client, path, 10 * SEES[user], params)

    assert with_two == with_ten
    assert with_ten <= 8


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
    alice_api.get(path, params)
    with CaptureQueriesContext(connection) as few:
        small = alice_api.get(path, params).json()["count"]
    add(9)
    with CaptureQueriesContext(connection) as many:
        large = alice_api.get(path, params).json()["count"]

    assert large > small
    assert len(few) == len(many) <= 8
