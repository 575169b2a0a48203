"""listResourceLimits, updateResourceLimit, updateResourceCount and the 535 of a deploy over a limit, through
the signed CloudStack API."""

from __future__ import annotations

import pytest

from accounts.limits import GIB, ResourceCount, ResourceLimit, ResourceType
from compute.models import VirtualMachine
from portal.models import AsyncJob
from tests.factories import AccountFactory, DomainFactory, UserFactory

pytestmark = pytest.mark.django_db


def deploy(api_json, cloud, username: str, name: str):
    return api_json(username, "deployVirtualMachine", zoneid=cloud.zone.uuid, name=name, startvm="false",
                    serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)


def by_type(body: dict) -> dict[str, dict]:
    return {item["resourcetype"]: item for item in body["resourcelimit"]}


def test_list_limits_defaults_to_unlimited_for_the_callers_account(api_json, cloud):
    status, body = api_json("alice", "listResourceLimits")
    assert status == 200
    limits = by_type(body)
    assert set(limits) == {str(v) for v in ResourceType.values}
    assert body["count"] == len(ResourceType.values)
    assert limits["0"] == {"account": "alice", "domainid": str(cloud.alice.account.domain.uuid),
                           "domain": "ROOT", "resourcetype": "0", "resourcetypename": "user_vm", "max": -1}


def test_update_limit_then_deploy_over_it_answers_535_and_creates_nothing(api_json, cloud):
    root = cloud.alice.account.domain
    status, body = api_json("admin", "updateResourceLimit", account="alice", domainid=root.uuid,
                            resourcetype=0, max=1)
    assert status == 200, body
    assert body["resourcelimit"]["max"] == 1 and body["resourcelimit"]["account"] == "alice"
    assert by_type(api_json("alice", "listResourceLimits", resourcetype=0)[1])["0"]["max"] == 1

    assert deploy(api_json, cloud, "alice", "first")[0] == 200
    jobs = AsyncJob.objects.count()
    status, body = deploy(api_json, cloud, "alice", "second")
    assert status == 535
    assert (body["errorcode"], body["cserrorcode"]) == (535, 4370)
    assert "user_vm" in body["errortext"]
    assert list(VirtualMachine.objects.values_list("name", flat=True)) == ["first"]
    assert AsyncJob.objects.count() == jobs
    # Bob's account is not limited by Alice's limit.
    assert deploy(api_json, cloud, "bob", "other")[0] == 200


def test_storage_limits_are_shown_in_gib(api_json, cloud):
    root = cloud.alice.account.domain
    status, body = api_json("admin", "updateResourceLimit", account="alice", domainid=root.uuid,
                            resourcetype=10, max=5)
    assert status == 200 and body["resourcelimit"]["max"] == 5
    assert by_type(api_json("alice", "listResourceLimits")[1])["10"]["max"] == 5
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=10).max == 5 * GIB


def test_bad_resource_type_is_431(api_json, cloud):
    status, body = api_json("admin", "updateResourceLimit", domainid=cloud.alice.account.domain.uuid,
                            resourcetype=42, max=3)
    assert status == 431 and body["errorcode"] == 431
    assert api_json("alice", "listResourceLimits", resourcetype=5)[0] == 431
    assert api_json("alice", "listResourceLimits", resourcetypename="nonsense")[0] == 431


def test_users_cannot_change_limits_or_counts(api_json, cloud):
    root = cloud.alice.account.domain
    # Commands a role may not use do not exist for it (CloudStack's 401), as for every other admin command.
    assert api_json("alice", "updateResourceLimit", account="alice", domainid=root.uuid, resourcetype=0,
                    max=100)[0] == 401
    assert api_json("alice", "updateResourceCount", domainid=root.uuid, account="alice")[0] == 401
    assert ResourceCount.objects.filter(account=cloud.alice.account).count() == 0
    # Bob cannot even name Alice's account.
    assert api_json("bob", "listResourceLimits", account="alice", domainid=root.uuid)[0] == 431


def test_domain_limit_through_the_api(api_json, cloud):
    sales = DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    sub = DomainFactory(name="Sub", parent=sales)
    UserFactory(username="carol", account=AccountFactory(name="carol", domain=sales))
    UserFactory(username="dave", account=AccountFactory(name="dave", domain=sub))
    status, body = api_json("admin", "updateResourceLimit", domainid=sales.uuid, resourcetype=0, max=1)
    assert status == 200 and "account" not in body["resourcelimit"]
    assert body["resourcelimit"]["domain"] == "Sales"
    limits = by_type(api_json("admin", "listResourceLimits", domainid=sales.uuid)[1])
    assert limits["0"]["max"] == 1 and "account" not in limits["0"]


def test_update_resource_count_fixes_drift(api_json, cloud):
    root = cloud.alice.account.domain
    assert deploy(api_json, cloud, "alice", "web")[0] == 200
    ResourceCount.objects.filter(account=cloud.alice.account, resource_type=0).update(count=9)
    status, body = api_json("admin", "updateResourceCount", domainid=root.uuid, account="alice")
    assert status == 200, body
    counts = {item["resourcetype"]: item for item in body["resourcecount"]}
    assert counts["0"] == {"account": "alice", "domainid": str(root.uuid), "domain": "ROOT",
                           "resourcetype": "0", "resourcetypename": "user_vm", "resourcecount": 1}
    assert counts["9"]["resourcecount"] == cloud.offering.memory
    status, body = api_json("admin", "updateResourceCount", domainid=root.uuid, resourcetype=0)
    assert status == 200
    assert [(c["resourcetype"], c["resourcecount"]) for c in body["resourcecount"]] == [("0", 1)]
    assert "account" not in body["resourcecount"][0]


def test_domain_admin_sets_limits_below_but_not_on_its_own_domain(api_json, api, cloud, client):
    from accounts.models import Account
    from accounts.services import user_keys_register
    from tests.cloudstack.conftest import ENDPOINT, cs_sign

    sales = DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    sub = DomainFactory(name="Sub", parent=sales)
    admin = UserFactory(username="salesadmin",
                        account=AccountFactory(domain=sales, account_type=Account.Type.DOMAIN_ADMIN))
    api_key, secret = user_keys_register(user=admin)

    def call(**params):
        response = client.get(ENDPOINT, cs_sign({"command": "updateResourceLimit", "response": "json",
                                                 **{k: str(v) for k, v in params.items()}}, api_key, secret))
        return response.status_code

    assert call(domainid=sub.uuid, resourcetype=8, max=4) == 200
    assert call(domainid=sales.uuid, resourcetype=8, max=400) == 531
    assert call(account="alice", domainid=cloud.alice.account.domain.uuid, resourcetype=8, max=400) == 431
    assert ResourceLimit.objects.filter(resource_type=8).count() == 1
