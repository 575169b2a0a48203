"""/api/v1/resource-limits/ and /api/v1/resource-counts/recalculate/."""

from __future__ import annotations

import pytest

from accounts.limits import GIB, ResourceCount, ResourceLimit, ResourceType
from accounts.models import Account
from accounts.services_limits import resource_limit_update
from compute import services
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import count_queries, ok

pytestmark = pytest.mark.django_db

LIMITS = "/api/v1/resource-limits/"
RECALCULATE = "/api/v1/resource-counts/recalculate/"


@pytest.fixture
def sales(cloud):
    """ROOT/Sales with its domain admin and an end user, carol."""
    domain = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    admin = factories.UserFactory(username="salesadmin", account__domain=domain,
                                  account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=domain)
    return type("Sales", (), {"domain": domain, "admin": admin, "carol": carol})


def by_type(body: list[dict]) -> dict[str, dict]:
    return {row["resource_type"]: row for row in body}


def test_a_user_lists_their_own_limits_with_counts_and_the_effective_cap(cloud, sales, client_for, run_jobs):
    with run_jobs():
        services.vm_deploy(caller=sales.carol, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template)
    resource_limit_update(caller=cloud.admin, domain=sales.domain, resource_type=ResourceType.USER_VM, max=3)

    body = client_for(sales.carol).get(LIMITS).json()

    assert [row["resource_type"] for row in body] == [label for _v, label in ResourceType.choices]
    vm = by_type(body)["user_vm"]
    assert vm == {"account": {"id": str(sales.carol.account.uuid), "name": "carol"},
                  "domain": {"id": str(sales.domain.uuid), "name": "Sales", "path": "ROOT/Sales"},
                  "resource_type": "user_vm", "max": -1, "count": 1, "effective_max": 3,
                  "effective_max_domain": "ROOT/Sales"}
    assert by_type(body)["primary_storage"]["count"] > 0  # bytes, not GiB


def test_root_admin_sets_limits_by_post_and_patch(cloud, client_for):
    api = client_for(cloud.admin)
    account = str(cloud.alice.account.uuid)

    response = api.post(LIMITS, {"account": account, "resource_type": "cpu", "max": 4}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["max"], response.json()["effective_max"]) == (4, 4)
    response = api.patch(LIMITS, {"account": account, "resource_type": "primary_storage", "max": 5 * GIB},
                         format="json")
    assert response.status_code == 200 and response.json()["max"] == 5 * GIB
    response = api.post(LIMITS, {"domain": str(cloud.admin.account.domain.uuid), "resource_type": "cpu",
                                 "max": 2}, format="json")
    assert response.status_code == 200 and response.json()["account"] is None

    limits = by_type(api.get(LIMITS, {"account": account}).json())
    assert limits["cpu"]["max"] == 4 and limits["cpu"]["effective_max"] == 2
    assert limits["cpu"]["effective_max_domain"] == "ROOT"
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=ResourceType.CPU).max == 4


def test_an_exceeded_limit_refuses_the_deploy(cloud, client_for):
    from tests.rest.helpers import VMS

    client_for(cloud.admin).post(LIMITS, {"account": str(cloud.alice.account.uuid), "resource_type": "user_vm",
                                          "max": 0}, format="json")
    response = client_for(cloud.alice).post(VMS, {
        "zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
        "template": str(cloud.template.uuid)}, format="json")
    assert assert_error(response, 409, 535)["message"].startswith("Maximum number of resources")


def test_invalid_updates_change_nothing(cloud, client_for):
    api = client_for(cloud.admin)
    account = str(cloud.alice.account.uuid)

    assert "max" in assert_error(api.post(LIMITS, {"account": account, "resource_type": "cpu", "max": -2},
                                          format="json"), 400, 431)["fields"]
    assert "resource_type" in assert_error(api.post(LIMITS, {"account": account, "resource_type": "gpu",
                                                             "max": 1}, format="json"), 400, 431)["fields"]
    assert_error(api.post(LIMITS, {"resource_type": "cpu", "max": 1}, format="json"), 400, 431)
    assert_error(api.post(LIMITS, {"account": account, "domain": str(cloud.admin.account.domain.uuid),
                                   "resource_type": "cpu", "max": 1}, format="json"), 400, 431)
    assert "account" in assert_error(api.get(LIMITS, {"account": "nope"}), 400, 431)["fields"]
    assert not ResourceLimit.objects.exists()


def test_domain_admin_cannot_edit_outside_its_subtree_or_its_own_domain(cloud, sales, client_for):
    api = client_for(sales.admin)

    response = api.post(LIMITS, {"account": str(sales.carol.account.uuid), "resource_type": "user_vm",
                                 "max": 2}, format="json")
    assert response.status_code == 200
    # Another subtree's account or domain does not exist for it.
    error = assert_error(api.post(LIMITS, {"account": str(cloud.alice.account.uuid), "resource_type": "user_vm",
                                           "max": 99}, format="json"), 400, 431)
    assert "account" in error["fields"]
    assert_error(api.post(LIMITS, {"domain": str(cloud.admin.account.domain.uuid), "resource_type": "user_vm",
                                   "max": 99}, format="json"), 400, 431)
    assert_error(api.get(LIMITS, {"account": str(cloud.alice.account.uuid)}), 400, 431)
    # Its own domain and account are set from above.
    assert_error(api.post(LIMITS, {"domain": str(sales.domain.uuid), "resource_type": "user_vm", "max": 99},
                          format="json"), 403, 531)
    assert_error(api.post(LIMITS, {"account": str(sales.admin.account.uuid), "resource_type": "user_vm",
                                   "max": 99}, format="json"), 403, 531)
    assert list(ResourceLimit.objects.values_list("account__name", "max")) == [("carol", 2)]


def test_a_user_cannot_edit_or_recalculate_at_all(cloud, client_for):
    api = client_for(cloud.alice)
    own = str(cloud.alice.account.uuid)

    assert_error(api.post(LIMITS, {"account": own, "resource_type": "user_vm", "max": 99}, format="json"), 403, 531)
    assert_error(api.patch(LIMITS, {"account": own, "resource_type": "user_vm", "max": 99}, format="json"), 403, 531)
    assert_error(api.post(RECALCULATE, {"account": own}, format="json"), 403, 531)
    assert not ResourceLimit.objects.exists()


def test_recalculate_restores_the_real_counts(cloud, sales, client_for, run_jobs):
    with run_jobs():
        services.vm_deploy(caller=sales.carol, zone=cloud.zone, service_offering=cloud.offering,
                           template=cloud.template)
    ResourceCount.objects.filter(resource_type=ResourceType.USER_VM).update(count=42)
    api = client_for(sales.admin)

    response = api.post(RECALCULATE, {"account": str(sales.carol.account.uuid), "resource_type": "user_vm"},
                        format="json")
    assert response.status_code == 200, response.content
    assert response.json() == [{"resource_type": "user_vm", "count": 1}]

    response = api.post(RECALCULATE, {"domain": str(sales.domain.uuid)}, format="json")
    counts = {row["resource_type"]: row["count"] for row in response.json()}
    assert counts["user_vm"] == 1 and counts["cpu"] == cloud.offering.cpu_number
    assert_error(api.post(RECALCULATE, {"domain": str(cloud.admin.account.domain.uuid)}, format="json"), 400, 431)
    assert ResourceCount.objects.get(domain=cloud.admin.account.domain, resource_type=0).count == 42


def test_list_query_count_does_not_grow_with_the_depth_of_the_tree(cloud, sales, client_for):
    def count(user, **params) -> int:
        api = client_for(user)
        api.get(LIMITS, params)  # warm the caller's role rules
        return count_queries(lambda: ok(api.get(LIMITS, params)))[0]

    shallow = count(sales.carol)
    node = sales.domain
    for depth in range(4):
        node = factories.DomainFactory(name=f"level{depth}", parent=node)
        resource_limit_update(caller=cloud.admin, domain=node, resource_type=ResourceType.CPU, max=10 - depth)
    deep_user = factories.UserFactory(account__domain=node)
    assert count(deep_user) == shallow
    assert count(cloud.admin, domain=str(node.uuid)) <= shallow + 2
