"""The tenancy commands over the CloudStack API: domains, accounts, users, their errors and job results."""

from __future__ import annotations

import pytest

from accounts.models import Account, Domain, User
from accounts.services_domains import domain_create
from compute.models import VirtualMachine
from compute.services import vm_deploy
from compute.states import VmState
from tests import factories
from tests.factories import TEST_PASSWORD
from tests.support.queries import assert_queries_constant, ok


def _root() -> Domain:
    return Domain.objects.get(parent=None)


def _job(api_json, jobid: str) -> dict:
    status, body = api_json("admin", "queryAsyncJobResult", jobid=jobid)
    assert status == 200
    return body


def _new_account(api_json, name: str, **extra) -> dict:
    status, body = api_json("admin", "createAccount", accounttype=0, username=name, password=TEST_PASSWORD,
                            email=f"{name}@example.test", firstname="F", lastname="L", **extra)
    assert status == 200, body
    return body["account"]


def test_domain_commands(cloud, api_json, run_jobs):
    status, body = api_json("admin", "createDomain", name="Sales", networkdomain="sales.example")
    assert status == 200, body
    sales = body["domain"]
    assert (sales["path"], sales["level"], sales["haschild"], sales["parentdomainname"], sales["networkdomain"]) == (
        "ROOT/Sales", 1, False, "ROOT", "sales.example")
    status, body = api_json("admin", "createDomain", name="EMEA", parentdomainid=sales["id"])
    emea = body["domain"]
    assert emea["path"] == "ROOT/Sales/EMEA"
    status, body = api_json("admin", "updateDomain", id=sales["id"], name="Marketing")
    assert body["domain"]["path"] == "ROOT/Marketing" and body["domain"]["haschild"] is True
    status, body = api_json("admin", "listDomains", id=emea["id"])
    assert body["domain"][0]["path"] == "ROOT/Marketing/EMEA"
    status, body = api_json("admin", "listDomains")
    assert body["count"] == 3
    status, body = api_json("admin", "listDomains", id=sales["id"], isrecursive=True)
    assert {d["name"] for d in body["domain"]} == {"Marketing", "EMEA"}
    status, body = api_json("admin", "listDomains", level=2)
    assert [d["name"] for d in body["domain"]] == ["EMEA"]
    status, body = api_json("admin", "listDomainChildren", id=str(_root().uuid))
    assert [d["name"] for d in body["domain"]] == ["Marketing"]
    status, body = api_json("admin", "listDomainChildren", id=str(_root().uuid), isrecursive=True)
    assert body["count"] == 2
    # Not empty: refused at once with 536.
    status, body = api_json("admin", "deleteDomain", id=sales["id"])
    assert status == 536 and body["errorcode"] == 536
    with run_jobs():
        status, body = api_json("admin", "deleteDomain", id=sales["id"], cleanup=True)
    assert status == 200 and set(body) == {"jobid"}
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["success"] is True, job
    assert job["cmd"] == "deleteDomain" and job["jobinstancetype"] == "Domain"
    assert not Domain.objects.filter(name__in=["Marketing", "EMEA"]).exists()


def test_domain_errors(cloud, api_json):
    status, body = api_json("admin", "createDomain", name="a/b")
    assert status == 431
    status, body = api_json("admin", "createDomain", name="X", parentdomainid="00000000-0000-0000-0000-000000000000")
    assert status == 431
    status, body = api_json("alice", "createDomain", name="X")
    assert status == 401  # not available to users at all
    status, body = api_json("admin", "deleteDomain", id=str(_root().uuid))
    assert status == 431
    status, body = api_json("alice", "listDomains")
    assert [d["name"] for d in body["domain"]] == ["ROOT"]


def test_account_lifecycle_commands(cloud, api_json, run_jobs):
    account = _new_account(api_json, "carol")
    assert account["accounttype"] == 0 and account["roletype"] == "User" and account["state"] == "enabled"
    assert [u["username"] for u in account["user"]] == ["carol"]
    assert account["vmtotal"] == 0 and (account["vmlimit"] == "Unlimited" or account["vmlimit"].isdigit())
    status, body = api_json("admin", "updateAccount", id=account["id"], newname="carol-co")
    assert body["account"]["name"] == "carol-co"
    carol = User.objects.get(username="carol")
    with run_jobs():
        vm_deploy(caller=carol, zone=cloud.zone, service_offering=cloud.offering, template=cloud.template,
                  name="web")
    status, body = api_json("admin", "listAccounts", id=account["id"])
    assert (body["account"][0]["vmrunning"], body["account"][0]["vmtotal"], body["account"][0]["cputotal"]) == (
        1, 1, 1)
    with run_jobs():
        status, body = api_json("admin", "disableAccount", id=account["id"], lock=False)
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["account"]["state"] == "disabled", job
    assert VirtualMachine.objects.get(account__uuid=account["id"]).state == VmState.STOPPED
    status, body = api_json("admin", "enableAccount", id=account["id"])
    assert body["account"]["state"] == "enabled"
    domain_id = str(_root().uuid)
    status, body = api_json("admin", "lockAccount", account="carol-co", domainid=domain_id)
    assert body["account"]["state"] == "locked"
    status, body = api_json("admin", "enableAccount", account="carol-co", domainid=domain_id)
    assert status == 200 and body["account"]["state"] == "enabled"
    with run_jobs():
        _status, body = api_json("admin", "disableAccount", account="carol-co", domainid=domain_id, lock=True)
    assert _job(api_json, body["jobid"])["jobresult"]["account"]["state"] == "locked"
    with run_jobs():
        _status, body = api_json("admin", "deleteAccount", id=account["id"])
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"] == {"success": True, "displaytext": "Deleted account carol-co."}
    assert not Account.objects.filter(uuid=account["id"]).exists()


def test_account_errors(cloud, api_json):
    status, body = api_json("admin", "createAccount", username="x", password=TEST_PASSWORD, email="x@example.test",
                            firstname="F", lastname="L")
    assert status == 431  # neither accounttype nor roleid
    status, body = api_json("admin", "createAccount", accounttype=0, username="bob", password=TEST_PASSWORD,
                            email="b@example.test", firstname="F", lastname="L")
    assert status == 431  # user name taken
    status, body = api_json("admin", "deleteAccount", id=str(cloud.admin.account.uuid))
    assert status == 531  # own account
    status, body = api_json("alice", "deleteAccount", id=str(cloud.bob.account.uuid))
    assert status == 401 and body["errorcode"] == 401
    status, _body = api_json("admin", "disableAccount", id=str(cloud.alice.account.uuid))
    assert status == 431  # lock is required
    status, _body = api_json("admin", "lockAccount", account="nobody", domainid=str(_root().uuid))
    assert status == 431


def test_list_accounts_scoping(cloud, api_json):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    factories.AccountFactory(name="shop", domain=sales)
    status, body = api_json("admin", "listAccounts")
    assert {a["name"] for a in body["account"]} == {"admin", "alice", "bob"}  # own domain
    status, body = api_json("admin", "listAccounts", listall=True)
    assert body["count"] == 4
    status, body = api_json("admin", "listAccounts", domainid=str(sales.uuid))
    assert [a["name"] for a in body["account"]] == ["shop"]
    status, body = api_json("admin", "listAccounts", domainid=str(_root().uuid), isrecursive=True, accounttype=0)
    assert {a["name"] for a in body["account"]} == {"alice", "bob", "shop"}
    status, body = api_json("admin", "listAccounts", listall=True, state="locked")
    assert body == {}
    status, body = api_json("alice", "listAccounts", listall=True)
    assert [a["name"] for a in body["account"]] == ["alice"]
    status, body = api_json("admin", "listAccounts", state="bogus")
    assert status == 431


def test_user_commands(cloud, api_json, run_jobs):
    status, body = api_json("admin", "createUser", account="alice", domainid=str(_root().uuid), username="alice2",
                            password=TEST_PASSWORD, email="a2@example.test", firstname="A", lastname="Two")
    assert status == 200, body
    user = body["user"]
    assert (user["account"], user["state"]) == ("alice", "enabled")
    status, body = api_json("admin", "updateUser", id=user["id"], email="new@example.test", lastname="Three")
    assert (body["user"]["email"], body["user"]["lastname"]) == ("new@example.test", "Three")
    with run_jobs():
        status, body = api_json("admin", "disableUser", id=user["id"])
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["user"]["state"] == "disabled", job
    assert not User.objects.get(uuid=user["id"]).is_active
    status, body = api_json("admin", "enableUser", id=user["id"])
    assert body["user"]["state"] == "enabled"
    status, body = api_json("admin", "deleteUser", id=user["id"])
    assert body == {"success": True}
    assert not User.objects.filter(uuid=user["id"]).exists()


def test_user_errors(cloud, api_json):
    status, body = api_json("admin", "disableUser", id=str(cloud.admin.uuid))
    assert status == 531  # yourself
    status, body = api_json("alice", "deleteUser", id=str(cloud.bob.uuid))
    assert status == 401
    status, body = api_json("alice", "updateUser", id=str(cloud.bob.uuid), firstname="X")
    assert status == 431  # bob is outside alice's reach: not found
    status, body = api_json("alice", "updateUser", id=str(cloud.alice.uuid), firstname="Alice")
    assert status == 200 and body["user"]["firstname"] == "Alice"
    status, body = api_json("admin", "createUser", account="alice", username="x", password=TEST_PASSWORD,
                            email="bad", firstname="F", lastname="L")
    assert status == 431


def test_delete_account_job_failure_is_reported(cloud, api_json, run_jobs):
    """An account whose templates other accounts' VMs use cannot be deleted: the job fails with 536."""
    account = _new_account(api_json, "publisher")
    template = factories.TemplateFactory(account=Account.objects.get(uuid=account["id"]))
    with run_jobs():
        vm_deploy(caller=cloud.bob, zone=cloud.zone, service_offering=cloud.offering, template=template,
                  start_vm=False)
    with run_jobs():
        _status, body = api_json("admin", "deleteAccount", id=account["id"])
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 536, job


@pytest.mark.parametrize("command", ["listAccounts", "listDomains"])
def test_list_query_count_is_constant(cloud, api, command):
    def add(n: int) -> None:
        for _ in range(n):
            domain = factories.DomainFactory(name=f"d{Domain.objects.count()}", parent=_root())
            account = factories.AccountFactory(domain=domain)
            factories.UserFactory(account=account)
            factories.UserFactory(account=account)

    add(2)
    assert_queries_constant(lambda: ok(api("admin", command, response="json", listall="true")), lambda: add(6))
