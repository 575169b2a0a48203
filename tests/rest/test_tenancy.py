"""REST resources of tenancy: /api/v1/domains/, /api/v1/accounts/, /api/v1/users/."""

from __future__ import annotations

import pytest

from accounts.models import Account, Domain, User
from compute.models import VirtualMachine
from compute.services import vm_deploy
from compute.states import VmState
from portal.models import AsyncJob
from tests import factories
from tests.factories import TEST_PASSWORD
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

DOMAINS, ACCOUNTS, USERS = "/api/v1/domains/", "/api/v1/accounts/", "/api/v1/users/"


def _root() -> Domain:
    return Domain.objects.get(parent=None)


def _job_of(response) -> AsyncJob:
    assert response.status_code == 202, response.content
    assert response["Location"] == response.json()["url"]
    return AsyncJob.objects.get(uuid=response.json()["id"])


def test_domains_create_rename_list_delete(cloud, client_for, run_jobs):
    admin = client_for(cloud.admin)
    response = admin.post(DOMAINS, {"name": "Sales", "network_domain": "sales.example"}, format="json")
    assert response.status_code == 201, response.content
    sales = response.json()
    assert (sales["path"], sales["level"], sales["parent"]["name"]) == ("ROOT/Sales", 1, "ROOT")
    emea = admin.post(DOMAINS, {"name": "EMEA", "parent": sales["id"]}, format="json").json()
    response = admin.patch(f"{DOMAINS}{sales['id']}/", {"name": "Marketing"}, format="json")
    assert response.json()["path"] == "ROOT/Marketing" and response.json()["has_child"] is True
    assert admin.get(f"{DOMAINS}{emea['id']}/").json()["path"] == "ROOT/Marketing/EMEA"
    listed = admin.get(DOMAINS, {"subtree": sales["id"], "ordering": "level"}).json()
    assert [d["name"] for d in listed["results"]] == ["Marketing", "EMEA"]
    assert admin.get(DOMAINS, {"level": 2}).json()["count"] == 1
    assert_error(admin.delete(f"{DOMAINS}{sales['id']}/"), 409, 536)
    with run_jobs():
        job = _job_of(admin.delete(f"{DOMAINS}{sales['id']}/?cleanup=true"))
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert not Domain.objects.filter(uuid__in=[sales["id"], emea["id"]]).exists()


def test_domain_errors_and_reach(cloud, client_for):
    alice = client_for(cloud.alice)
    assert_error(alice.post(DOMAINS, {"name": "X"}, format="json"), 403, 531)
    assert [d["name"] for d in alice.get(DOMAINS).json()["results"]] == ["ROOT"]
    admin = client_for(cloud.admin)
    assert_error(admin.post(DOMAINS, {"name": "a/b"}, format="json"), 400, 431)
    response = admin.post(DOMAINS, {"name": "X", "parent": "00000000-0000-0000-0000-000000000000"}, format="json")
    assert response.status_code == 400 and "parent" in str(response.content)


def test_accounts_lifecycle(cloud, client_for, run_jobs):
    admin = client_for(cloud.admin)
    response = admin.post(ACCOUNTS, {"account_type": 0, "username": "carol", "password": TEST_PASSWORD,
                                     "email": "carol@example.test"}, format="json")
    assert response.status_code == 201, response.content
    account = response.json()
    assert (account["name"], account["state"], [u["name"] for u in account["users"]]) == (
        "carol", "enabled", ["carol"])
    assert (account["role"]["name"], account["role"]["role_type"]) == ("User", "User")
    url = f"{ACCOUNTS}{account['id']}/"
    assert admin.patch(url, {"name": "carol-co"}, format="json").json()["name"] == "carol-co"
    with run_jobs():
        vm, _job = vm_deploy(caller=User.objects.get(username="carol"), zone=cloud.zone,
                             service_offering=cloud.offering, template=cloud.template, name="web")
    with run_jobs():
        job = _job_of(admin.post(f"{url}disable/"))
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert VirtualMachine.objects.get(pk=vm.pk).state == VmState.STOPPED
    assert admin.post(f"{url}enable/").json()["state"] == "enabled"
    assert admin.post(f"{url}lock/").json()["state"] == "locked"
    assert admin.get(ACCOUNTS, {"state": "LOCKED"}).json()["count"] == 1
    with run_jobs():
        job = _job_of(admin.delete(url))
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert not Account.objects.filter(uuid=account["id"]).exists()
    assert admin.get(url).status_code == 404


def test_account_errors(cloud, client_for):
    admin, alice = client_for(cloud.admin), client_for(cloud.alice)
    assert_error(admin.delete(f"{ACCOUNTS}{cloud.admin.account.uuid}/"), 403, 531)
    assert_error(alice.post(f"{ACCOUNTS}{cloud.bob.account.uuid}/lock/"), 403, 531)
    assert alice.get(f"{ACCOUNTS}{cloud.bob.account.uuid}/").status_code == 404
    assert [a["name"] for a in alice.get(ACCOUNTS).json()["results"]] == ["alice"]
    response = admin.post(ACCOUNTS, {"account_type": 0, "username": "bob", "password": TEST_PASSWORD},
                          format="json")
    assert_error(response, 400, 431)
    assert admin.get(ACCOUNTS, {"account_type": 9}).status_code == 400


def test_users(cloud, client_for):
    admin = client_for(cloud.admin)
    response = admin.post(USERS, {"account": str(cloud.alice.account.uuid), "username": "alice2",
                                  "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    user = response.json()
    url = f"{USERS}{user['id']}/"
    assert admin.patch(url, {"first_name": "Al"}, format="json").json()["first_name"] == "Al"
    assert admin.post(f"{url}disable/").json()["state"] == "disabled"
    assert admin.get(USERS, {"state": "disabled"}).json()["count"] == 1
    assert admin.post(f"{url}enable/").json()["state"] == "enabled"
    assert admin.delete(url).status_code == 204
    assert not User.objects.filter(uuid=user["id"]).exists()
    alice = client_for(cloud.alice)
    assert alice.patch(f"{USERS}{cloud.alice.uuid}/", {"last_name": "Liddell"}, format="json").status_code == 200
    assert alice.patch(f"{USERS}{cloud.bob.uuid}/", {"last_name": "X"}, format="json").status_code == 404
    assert_error(admin.post(f"{USERS}{cloud.admin.uuid}/disable/"), 403, 531)


@pytest.mark.parametrize("path", [DOMAINS, ACCOUNTS, USERS])
def test_list_query_count_is_constant(cloud, client_for, path):
    admin = client_for(cloud.admin)

    def add(n: int) -> None:
        for _ in range(n):
            domain = factories.DomainFactory(name=f"d{Domain.objects.count()}", parent=_root())
            account = factories.AccountFactory(domain=domain)
            factories.UserFactory(account=account)
            factories.UserFactory(account=account)

    add(2)
    assert_queries_constant(lambda: ok(admin.get(path)), lambda: add(6))
