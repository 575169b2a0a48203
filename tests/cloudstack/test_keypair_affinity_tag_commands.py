"""SSH key pair, affinity group and tag commands through /client/api: CloudStack's names, parameters and
response fields (including `virtualmachineIds`, `affinityGroupType` and the `tags[n].key` map parameters),
tenancy, async jobs, and constant query counts for their lists."""

from __future__ import annotations

import pytest

from compute.models import AffinityGroup, SSHKeyPair, VirtualMachine
from portal.models import AsyncJob, ResourceTag
from tests.support.queries import assert_queries_constant

pytestmark = pytest.mark.django_db

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD alice@laptop"
ED25519_MD5 = "ea:5e:16:ac:8a:0c:d4:82:42:6c:fb:6b:20:2e:70:59"


def make_vm(cloud, owner, name="vm"):
    return VirtualMachine.objects.create(
        name=name, zone=cloud.zone, service_offering=cloud.offering, template=cloud.template,
        account=owner.account, user=owner, cpu_number=1, cpu_speed=1000, memory=512)


def job_of(body) -> AsyncJob:
    return AsyncJob.objects.get(uuid=body["jobid"])


# --- SSH key pairs ----------------------------------------------------------------------------------------

def test_create_shows_the_private_key_once(cloud, api_json):
    status, body = api_json("alice", "createSSHKeyPair", name="gen")
    assert status == 200, body
    pair = body["keypair"]
    assert set(pair) == {"id", "name", "fingerprint", "privatekey", "account", "domainid", "domain"}
    assert pair["privatekey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert pair["account"] == "alice" and len(pair["fingerprint"].split(":")) == 16

    status, body = api_json("alice", "listSSHKeyPairs")
    assert body["count"] == 1 and "privatekey" not in body["sshkeypair"][0]
    assert body["sshkeypair"][0]["fingerprint"] == pair["fingerprint"]


def test_register_list_filter_and_delete(cloud, api_json):
    status, body = api_json("alice", "registerSSHKeyPair", name="laptop", publickey=ED25519)
    assert status == 200, body
    assert body["keypair"]["fingerprint"] == ED25519_MD5
    api_json("alice", "registerSSHKeyPair", name="other",
             publickey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBp7Vf0LQe2iVTmg2OFQ7hAOP1j0NMcO1aD8mM2bXfTy b")

    assert api_json("alice", "listSSHKeyPairs", fingerprint=ED25519_MD5)[1]["count"] == 1
    assert api_json("alice", "listSSHKeyPairs", name="laptop")[1]["sshkeypair"][0]["name"] == "laptop"
    assert api_json("alice", "listSSHKeyPairs", keyword="oth")[1]["sshkeypair"][0]["name"] == "other"
    assert api_json("bob", "listSSHKeyPairs") == (200, {})

    status, body = api_json("alice", "registerSSHKeyPair", name="laptop", publickey=ED25519)
    assert status == 431 and "already exists" in body["errortext"]
    status, body = api_json("alice", "registerSSHKeyPair", name="bad", publickey="ssh-rsa nonsense")
    assert status == 431

    assert api_json("bob", "deleteSSHKeyPair", name="laptop")[0] == 431
    status, body = api_json("alice", "deleteSSHKeyPair", name="laptop")
    assert (status, body) == (200, {"success": True})
    assert list(SSHKeyPair.objects.values_list("name", flat=True)) == ["other"]


def test_admin_acts_for_an_account(cloud, api_json):
    domain_id = str(cloud.alice.account.domain.uuid)
    status, body = api_json("admin", "registerSSHKeyPair", name="ops", publickey=ED25519, account="alice",
                            domainid=domain_id)
    assert status == 200 and body["keypair"]["account"] == "alice"
    assert api_json("alice", "listSSHKeyPairs")[1]["count"] == 1
    # Another tenant's account is unknown to a user (owner_params resolves it within the caller's reach).
    assert api_json("bob", "createSSHKeyPair", name="x", account="alice", domainid=domain_id)[0] == 431
    status, _ = api_json("admin", "deleteSSHKeyPair", name="ops", account="alice", domainid=domain_id)
    assert status == 200 and not SSHKeyPair.objects.exists()


# --- affinity groups --------------------------------------------------------------------------------------

def test_affinity_group_lifecycle(cloud, api_json, run_jobs):
    status, body = api_json("alice", "listAffinityGroupTypes")
    assert status == 200 and body == {"count": 2, "affinityGroupType": [{"type": "host anti-affinity"},
                                                                         {"type": "host affinity"}]}
    with run_jobs():
        status, body = api_json("alice", "createAffinityGroup", name="web", type="host anti-affinity",
                                description="spread")
    assert status == 200, body
    group = AffinityGroup.objects.get()
    assert body["id"] == str(group.uuid)
    _status, job_body = api_json("alice", "queryAsyncJobResult", jobid=body["jobid"])
    assert job_body["jobstatus"] == 1
    assert job_body["jobresult"]["affinitygroup"]["name"] == "web"

    vm = make_vm(cloud, cloud.alice)
    group.virtual_machines.add(vm)
    status, body = api_json("alice", "listAffinityGroups")
    assert body["count"] == 1
    assert body["affinitygroup"][0] == {
        "id": str(group.uuid), "name": "web", "description": "spread", "type": "host anti-affinity",
        "account": "alice", "domainid": str(cloud.alice.account.domain.uuid),
        "domain": cloud.alice.account.domain.name, "virtualmachineIds": [str(vm.uuid)]}
    assert api_json("alice", "listAffinityGroups", type="host affinity")[1] == {}
    assert api_json("alice", "listAffinityGroups", virtualmachineid=str(vm.uuid))[1]["count"] == 1
    assert api_json("bob", "listAffinityGroups")[1] == {}

    status, body = api_json("alice", "createAffinityGroup", name="x", type="cluster affinity")
    assert status == 431
    assert api_json("bob", "deleteAffinityGroup", name="web")[0] == 431
    with run_jobs():
        status, body = api_json("alice", "deleteAffinityGroup", name="web")
    assert status == 200 and job_of(body).status == AsyncJob.Status.SUCCEEDED
    assert not AffinityGroup.objects.exists()


def test_update_vm_affinity_group(cloud, api_json, run_jobs):
    vm = make_vm(cloud, cloud.alice)
    for name in ("one", "two"):
        api_json("alice", "createAffinityGroup", name=name, type="host affinity")
    with run_jobs():
        status, body = api_json("alice", "updateVMAffinityGroup", id=str(vm.uuid), affinitygroupnames="one,two")
    assert status == 200, body
    assert job_of(body).result == {"object": "virtualmachine", "id": str(vm.uuid)}
    assert sorted(vm.affinity_groups.values_list("name", flat=True)) == ["one", "two"]

    two = AffinityGroup.objects.get(name="two")
    status, body = api_json("alice", "updateVMAffinityGroup", id=str(vm.uuid), affinitygroupids=str(two.uuid))
    assert status == 200
    assert list(vm.affinity_groups.values_list("name", flat=True)) == ["two"]
    status, body = api_json("alice", "updateVMAffinityGroup", id=str(vm.uuid))
    assert status == 431
    VirtualMachine.objects.filter(pk=vm.pk).update(state="Running")
    status, body = api_json("alice", "updateVMAffinityGroup", id=str(vm.uuid), affinitygroupnames="one")
    assert status == 431 and "Stopped" in body["errortext"]
    assert list(vm.affinity_groups.values_list("name", flat=True)) == ["two"]


# --- tags -------------------------------------------------------------------------------------------------

def tag_params(**tags: str) -> dict[str, str]:
    params = {}
    for n, (key, value) in enumerate(tags.items()):
        params[f"tags[{n}].key"] = key
        params[f"tags[{n}].value"] = value
    return params


def test_tags_create_list_filter_vms_and_delete(cloud, api_json, run_jobs):
    web, db = make_vm(cloud, cloud.alice, "web"), make_vm(cloud, cloud.alice, "db")
    with run_jobs():
        status, body = api_json("alice", "createTags", resourcetype="UserVm",
                                resourceids=f"{web.uuid},{db.uuid}", **tag_params(env="prod"))
    assert status == 200, body
    assert job_of(body).status == AsyncJob.Status.SUCCEEDED
    api_json("alice", "createTags", resourcetype="UserVm", resourceids=str(web.uuid), customer="acme",
             **tag_params(role="web"))

    status, body = api_json("alice", "listTags", resourceid=str(web.uuid))
    assert body["count"] == 2
    assert body["tag"][0] == {"key": "env", "value": "prod", "resourcetype": "UserVm",
                              "resourceid": str(web.uuid), "account": "alice",
                              "domainid": str(cloud.alice.account.domain.uuid),
                              "domain": cloud.alice.account.domain.name}  # no customer: left out
    assert api_json("alice", "listTags", key="role")[1]["tag"][0]["customer"] == "acme"
    assert api_json("alice", "listTags", value="prod")[1]["count"] == 2
    assert api_json("alice", "listTags", resourcetype="Volume")[1] == {}
    assert api_json("bob", "listTags")[1] == {}

    status, body = api_json("alice", "listVirtualMachines", **tag_params(role="web"))
    assert body["count"] == 1
    listed = body["virtualmachine"][0]
    assert sorted((t["key"], t["value"]) for t in listed["tags"]) == [("env", "prod"), ("role", "web")]
    assert api_json("alice", "listVirtualMachines", **tag_params(env="prod"))[1]["count"] == 2

    status, body = api_json("alice", "createTags", resourcetype="UserVm", resourceids=str(web.uuid),
                            **{"tags[0].key": "empty"})
    assert status == 431
    assert api_json("bob", "createTags", resourcetype="UserVm", resourceids=str(web.uuid),
                    **tag_params(x="y"))[0] == 431
    assert api_json("alice", "deleteTags", resourcetype="UserVm", resourceids=str(web.uuid),
                    **{"tags[0].key": "env", "tags[0].value": "staging"})[0] == 431
    with run_jobs():
        status, body = api_json("alice", "deleteTags", resourcetype="UserVm", resourceids=str(web.uuid),
                                **{"tags[0].key": "env"})
    assert status == 200 and job_of(body).status == AsyncJob.Status.SUCCEEDED
    assert sorted(ResourceTag.objects.values_list("resource_uuid", "key")) == sorted(
        [(db.uuid, "env"), (web.uuid, "role")])


# --- query counts ------------------------------------------------------------------------------------------

def _ok(api_json, command, **params):
    def call():
        status, body = api_json("alice", command, **params)
        assert status == 200, body
        return body
    return call


def test_lists_cost_the_same_for_more_rows(cloud, api_json):
    counter = iter(range(1000))

    def grow():
        for _ in range(3):
            n = next(counter)
            vm = make_vm(cloud, cloud.alice, f"vm{n}")
            group = AffinityGroup.objects.create(name=f"g{n}", group_type="host affinity",
                                                 account=cloud.alice.account)
            group.virtual_machines.add(vm)
            SSHKeyPair.objects.create(name=f"k{n}", fingerprint="f", public_key="p", account=cloud.alice.account)
            for key in ("a", "b"):
                ResourceTag.objects.create(key=key, value="v", resource_type="UserVm", resource_uuid=vm.uuid,
                                           resource_id=vm.pk, account=cloud.alice.account)

    grow()
    for command, name in (("listSSHKeyPairs", "sshkeypair"), ("listAffinityGroups", "affinitygroup"),
                          ("listTags", "tag"), ("listVirtualMachines", "virtualmachine")):
        before, after = assert_queries_constant(_ok(api_json, command), grow)
        assert len(after[name]) > len(before[name]), command
    body = _ok(api_json, "listVirtualMachines")()
    assert all(len(vm["tags"]) == 2 for vm in body["virtualmachine"])
