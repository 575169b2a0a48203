"""List commands cost the same number of queries for 2 and for 10 objects, so N+1 regressions fail."""

from __future__ import annotations

import pytest

from compute import services
from tests import factories
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def queries(api_json, username: str, command: str, **params) -> tuple[int, dict]:
    count, (status, body) = count_queries(lambda: api_json(username, command, **params))
    assert status == 200, body
    return count, body


def add_vms(cloud, owner, count: int) -> None:
    for _ in range(count):
        services.vm_deploy(caller=owner, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template, start_vm=False)


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_list_virtual_machines_and_jobs(cloud, api_json, username):
    owner = getattr(cloud, username)
    add_vms(cloud, owner, 2)
    queries(api_json, username, "listVirtualMachines")  # warm per-process caches (content types)
    small_vms, body = queries(api_json, username, "listVirtualMachines", listall=True)
    assert body["count"] == 2
    small_jobs, _ = queries(api_json, username, "listAsyncJobs", listall=True)

    add_vms(cloud, owner, 8)
    large_vms, body = queries(api_json, username, "listVirtualMachines", listall=True)
    assert body["count"] == 10
    large_jobs, body = queries(api_json, username, "listAsyncJobs", listall=True)
    assert body["count"] == 10

    assert large_vms == small_vms
    assert large_jobs == small_jobs


def test_catalog_lists(cloud, api_json):
    factories.ServiceOfferingFactory()
    factories.TemplateFactory(account=cloud.admin.account, domain=cloud.admin.account.domain)
    factories.ZoneFactory()
    queries(api_json, "alice", "listZones")  # warm per-process caches (content types)
    small = {cmd: queries(api_json, "alice", cmd, **extra)[0] for cmd, extra in CATALOG}

    for _ in range(8):
        factories.ServiceOfferingFactory()
        factories.TemplateFactory(account=cloud.admin.account, domain=cloud.admin.account.domain)
        factories.ZoneFactory()
    large = {cmd: queries(api_json, "alice", cmd, **extra)[0] for cmd, extra in CATALOG}

    assert large == small


CATALOG = [("listZones", {}), ("listServiceOfferings", {}), ("listTemplates", {"templatefilter": "executable"})]
