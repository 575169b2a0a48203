"""The resource limits page: everyone's own account read-only, administrators editing within their reach."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.limits import GIB, ResourceCount, ResourceLimit, ResourceType
from accounts.services_limits import resource_limit_update
from tests import factories
from tests.support.queries import count_queries, ok

pytestmark = pytest.mark.django_db

LIMITS = reverse("accounts:limit_list")
UPDATE = reverse("accounts:limit_update")
RECALCULATE = reverse("accounts:limit_recalculate")


def row(html: str, type_name: str) -> str:
    match = re.search(rf'<tr data-resource="{type_name}">(.*?)</tr>', html, re.S)
    assert match, type_name
    return re.sub(r"\s+", " ", match.group(1))


def cells(html: str, type_name: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row(html, type_name))]


def test_a_user_sees_their_own_limits_read_only(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")
    resource_limit_update(caller=cloud.admin, account=cloud.alice.account, resource_type=ResourceType.USER_VM,
                          max=4)
    client = login(cloud.alice)

    html = client.get(LIMITS).content.decode()

    assert "Limits of account alice (ROOT)" in html
    assert cells(html, "user_vm") == ["Virtual machines", "4", "1", "4"]
    assert cells(html, "cpu")[1:3] == ["Unlimited", "1"]
    assert UPDATE not in html and RECALCULATE not in html
    assert LIMITS in client.get(reverse("ui:dashboard")).content.decode()  # in everyone's menu
    # Another account's limits are not found for her; and she cannot post.
    assert client.get(LIMITS, {"account": str(cloud.bob.account.uuid)}).status_code == 404
    response = client.post(UPDATE, {"resource_type": "0", "max": "100"})
    assert response.status_code == 403
    assert client.post(RECALCULATE).status_code == 403
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=0).max == 4


def test_the_effective_cap_comes_from_the_tightest_ancestor(cloud, tenants, login):
    root = cloud.admin.account.domain
    resource_limit_update(caller=cloud.admin, domain=root, resource_type=ResourceType.USER_VM, max=5)
    resource_limit_update(caller=cloud.admin, domain=tenants.sales, resource_type=ResourceType.USER_VM, max=3)
    resource_limit_update(caller=cloud.admin, domain=root, resource_type=ResourceType.CPU, max=16)

    html = login(tenants.carol).get(LIMITS).content.decode()

    assert cells(html, "user_vm")[1] == "Unlimited"
    assert cells(html, "user_vm")[3] == "3 (set by ROOT/Sales)"
    assert cells(html, "cpu")[3] == "16 (set by ROOT)"
    assert cells(html, "memory")[3] == "Unlimited"


def test_root_admin_edits_an_account_and_storage_is_in_gib(cloud, login):
    client = login(cloud.admin)
    query = f"?account={cloud.alice.account.uuid}"

    page = client.get(LIMITS + query).content.decode()
    assert 'id="id_t0_max"' in page and 'id="id_t10_max"' in page
    response = client.post(UPDATE + query, {"resource_type": "10", "max": "2"})
    assert response.status_code == 302 and response.url == LIMITS + query
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=10).max == 2 * GIB
    client.post(UPDATE + query, {"resource_type": "0", "max": "-1"})
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=0).max == -1

    response = client.post(UPDATE + query, {"resource_type": "0", "max": "-5"})
    assert response.status_code == 400 and "-5" in response.content.decode()
    assert ResourceLimit.objects.get(account=cloud.alice.account, resource_type=0).max == -1


def test_domain_admin_edits_only_below_its_own_domain(cloud, tenants, login):
    client = login(tenants.domain_admin)
    carol = f"?account={tenants.carol.account.uuid}"
    own_domain = f"?domain={tenants.sales.uuid}"
    sub = factories.DomainFactory(name="EU", parent=tenants.sales)

    assert client.post(UPDATE + carol, {"resource_type": "0", "max": "2"}).status_code == 302
    assert ResourceLimit.objects.get(account=tenants.carol.account, resource_type=0).max == 2
    assert client.post(UPDATE + f"?domain={sub.uuid}", {"resource_type": "8", "max": "4"}).status_code == 302

    # Its own domain and account: shown, not editable; a post is refused by the service.
    assert UPDATE not in client.get(LIMITS + own_domain).content.decode()
    response = client.post(UPDATE + own_domain, {"resource_type": "0", "max": "99"}, follow=True)
    assert "cannot change the limits of their own domain" in response.content.decode()
    assert not ResourceLimit.objects.filter(domain=tenants.sales).exists()
    # Outside its subtree: nothing to be found.
    for outside in (f"?account={cloud.alice.account.uuid}", f"?domain={cloud.admin.account.domain.uuid}"):
        assert client.get(LIMITS + outside).status_code == 404
        assert client.post(UPDATE + outside, {"resource_type": "0", "max": "1"}).status_code == 404
    assert not ResourceLimit.objects.filter(account=cloud.alice.account).exists()


def test_recalculate_fixes_a_drifted_count(cloud, tenants, login, deploy_vm):
    deploy_vm(tenants.carol, "web1")
    ResourceCount.objects.filter(account=tenants.carol.account, resource_type=0).update(count=7)
    client = login(tenants.domain_admin)
    query = f"?account={tenants.carol.account.uuid}"

    assert cells(client.get(LIMITS + query).content.decode(), "user_vm")[2] == "7"
    response = client.post(RECALCULATE + query, follow=True)

    assert response.status_code == 200 and "Recalculated" in response.content.decode()
    assert cells(response.content.decode(), "user_vm")[2] == "1"


def test_the_page_costs_a_fixed_number_of_queries(cloud, tenants, login):
    client = login(tenants.carol)
    client.get(LIMITS)
    before, _response = count_queries(lambda: ok(client.get(LIMITS)))
    deep = factories.DomainFactory(name="Deep", parent=tenants.sales)
    deeper = factories.DomainFactory(name="Deeper", parent=deep)
    user = factories.UserFactory(account__domain=deeper)
    for resource_type in ResourceType.values:
        resource_limit_update(caller=cloud.admin, domain=deep, resource_type=resource_type, max=9)
    client = login(user)
    client.get(LIMITS)
    after, _response = count_queries(lambda: ok(client.get(LIMITS)))
    assert after == before
