"""Who sees what (listall, account, domainid, isrecursive) and the async job commands."""

from __future__ import annotations

import pytest

from accounts.models import Account
from compute import services
from portal.models import AsyncJob
from tests import factories

pytestmark = pytest.mark.django_db


def deploy(cloud, run_jobs, user, name, **kwargs):
    with run_jobs():
        vm, _ = services.vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering,
                                   template=cloud.template, name=name, start_vm=False, **kwargs)
    return vm


def names(body):
    return sorted(vm["name"] for vm in body.get("virtualmachine", []))


def test_users_see_only_their_own_account(api_json, cloud, run_jobs):
    deploy(cloud, run_jobs, cloud.alice, "alice1")
    bobs = deploy(cloud, run_jobs, cloud.bob, "bob1")

    assert names(api_json("alice", "listVirtualMachines")[1]) == ["alice1"]
    assert names(api_json("alice", "listVirtualMachines", listall="true")[1]) == ["alice1"]
    # Another account's VM by id or by account name: nothing, not an error that confirms it exists.
    assert api_json("alice", "listVirtualMachines", id=bobs.uuid)[1] == {}
    status, body = api_json("alice", "listVirtualMachines", account="bob",
                            domainid=cloud.bob.account.domain.uuid)
    assert status == 431 and "bob" in body["errortext"]


def test_admins_see_their_own_account_unless_listall(api_json, cloud, run_jobs):
    deploy(cloud, run_jobs, cloud.alice, "alice1")
    deploy(cloud, run_jobs, cloud.bob, "bob1")
    deploy(cloud, run_jobs, cloud.admin, "admin1")
    root = cloud.admin.account.domain

    assert names(api_json("admin", "listVirtualMachines")[1]) == ["admin1"]
    assert names(api_json("admin", "listVirtualMachines", listall="true")[1]) == ["admin1", "alice1", "bob1"]
    assert names(api_json("admin", "listVirtualMachines", account="alice", domainid=root.uuid)[1]) == ["alice1"]
    assert names(api_json("admin", "listVirtualMachines", account="bob")[1]) == ["bob1"]


def test_domainid_and_isrecursive(api_json, cloud, run_jobs):
    root = cloud.admin.account.domain
    sales = factories.DomainFactory(name="Sales", parent=root)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=sales)
    deploy(cloud, run_jobs, cloud.alice, "alice1")
    deploy(cloud, run_jobs, carol, "carol1")

    assert names(api_json("admin", "listVirtualMachines", domainid=sales.uuid)[1]) == ["carol1"]
    assert names(api_json("admin", "listVirtualMachines", domainid=root.uuid)[1]) == ["alice1"]
    assert names(api_json("admin", "listVirtualMachines", domainid=root.uuid, isrecursive="true")[1]) == [
        "alice1", "carol1"]


def test_domain_admin_reaches_only_its_subtree(api_json, cloud, run_jobs, keys):
    from accounts.services import user_keys_register

    root = cloud.admin.account.domain
    sales = factories.DomainFactory(name="Sales", parent=root)
    boss = factories.UserFactory(username="boss", account__name="boss", account__domain=sales,
                                 account__account_type=Account.Type.DOMAIN_ADMIN)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=sales)
    keys["boss"] = user_keys_register(user=boss)
    deploy(cloud, run_jobs, cloud.alice, "alice1")
    deploy(cloud, run_jobs, carol, "carol1")

    assert names(api_json("boss", "listVirtualMachines", listall="true")[1]) == ["carol1"]
    status, _ = api_json("boss", "listVirtualMachines", domainid=root.uuid)
    assert status == 431


def test_deploy_on_behalf_of_an_account(api_json, cloud, run_jobs):
    root = cloud.admin.account.domain
    with run_jobs():
        status, body = api_json("admin", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="forAlice",
                                serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid,
                                account="alice", domainid=root.uuid, startvm="false")
    assert status == 200, body
    assert names(api_json("alice", "listVirtualMachines")[1]) == ["forAlice"]

    status, body = api_json("bob", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="sneaky",
                            serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid,
                            account="alice", domainid=root.uuid)
    assert status == 431
    assert names(api_json("admin", "listVirtualMachines", listall="true")[1]) == ["forAlice"]

    # A domain alone names no owner; an account without domainid is looked up in the caller's domain.
    status, body = api_json("admin", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="nobody",
                            serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid,
                            domainid=root.uuid, startvm="false")
    assert status == 431 and "together with account" in body["errortext"]
    with run_jobs():
        status, body = api_json("admin", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="alsoAlice",
                                serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid,
                                account="alice", startvm="false")
    assert status == 200, body
    assert names(api_json("alice", "listVirtualMachines")[1]) == ["alsoAlice", "forAlice"]


def test_async_answer_then_pending_job_then_result(api_json, cloud):
    # No run_jobs(): the job stays pending, as it would while a worker is busy.
    status, created = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                               serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    assert status == 200
    assert set(created) == {"id", "jobid"}

    _, job = api_json("alice", "queryAsyncJobResult", jobid=created["jobid"])
    assert (job["jobid"], job["jobstatus"], job["jobresultcode"]) == (created["jobid"], 0, 0)
    assert "jobresult" not in job and "completed" not in job
    assert (job["cmd"], job["jobinstancetype"], job["jobinstanceid"]) == (
        "deployVirtualMachine", "VirtualMachine", created["id"])
    assert job["userid"] == str(cloud.alice.uuid) and job["accountid"] == str(cloud.alice.account.uuid)

    _, listed = api_json("alice", "listVirtualMachines")
    vm = listed["virtualmachine"][0]
    assert (vm["state"], vm["jobid"], vm["jobstatus"]) == ("Starting", created["jobid"], 0)

    _, jobs = api_json("alice", "listAsyncJobs")
    assert jobs["count"] == 1 and jobs["asyncjobs"][0]["jobid"] == created["jobid"]
    assert api_json("bob", "listAsyncJobs")[1] == {}
    status, _ = api_json("bob", "queryAsyncJobResult", jobid=created["jobid"])
    assert status == 431


def test_finished_job_renders_the_object_now(api_json, cloud, run_jobs):
    with run_jobs():
        _, created = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                              serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    _, job = api_json("alice", "queryAsyncJobResult", jobid=created["jobid"])
    assert (job["jobstatus"], job["jobprocstatus"], job["jobresulttype"]) == (1, 100, "object")
    assert job["jobresult"]["virtualmachine"]["id"] == created["id"]
    assert job["jobresult"]["virtualmachine"]["state"] == "Running"
    assert "completed" in job
    with run_jobs():
        _, stop = api_json("alice", "stopVirtualMachine", id=created["id"])
    assert set(stop) == {"jobid"}
    _, job = api_json("alice", "queryAsyncJobResult", jobid=stop["jobid"])
    assert job["jobresult"]["virtualmachine"]["state"] == "Stopped"


def test_failed_job(api_json, cloud, run_jobs):
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"  # nothing listens: the host is unreachable
    cloud.host.save()
    with run_jobs():
        _, created = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                              serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    _, job = api_json("alice", "queryAsyncJobResult", jobid=created["jobid"])
    assert (job["jobstatus"], job["jobresultcode"]) == (AsyncJob.Status.FAILED, 530)
    assert job["jobresult"]["errorcode"] == 530
    assert "web1" in job["jobresult"]["errortext"]


def test_invalid_transition_and_capacity_errors_map_to_codes(api_json, cloud, run_jobs):
    with run_jobs():
        _, created = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                              serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    status, body = api_json("alice", "startVirtualMachine", id=created["id"])
    assert status == 431 and "Running" in body["errortext"]
    status, body = api_json("bob", "stopVirtualMachine", id=created["id"])
    assert status == 431  # another tenant's VM does not exist for bob
    # Users may expunge only when allow.user.expunge.recover.vm allows it, as in CloudStack.
    status, body = api_json("alice", "destroyVirtualMachine", id=created["id"], expunge="true")
    assert status == 531

    cloud.offering.memory = 64 * 1024
    cloud.offering.save()
    status, body = api_json("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="huge",
                            serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    assert status == 533 and body["errorcode"] == 533
