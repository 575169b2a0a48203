"""SSH key pairs, affinity groups and tags through the REST API: create, list, delete, tenancy, and constant
query counts for the lists."""

from __future__ import annotations

import pytest

from compute.models import AffinityGroup, SSHKeyPair, VirtualMachine
from portal.models import ResourceTag
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD alice@laptop"


def make_vm(cloud, owner, name="vm"):
    return VirtualMachine.objects.create(
        name=name, zone=cloud.zone, service_offering=cloud.offering, template=cloud.template,
        account=owner.account, user=owner, cpu_number=1, cpu_speed=1000, memory=512)


def test_key_pairs(cloud, alice_api, client_for):
    created = ok(alice_api.post("/api/v1/ssh-key-pairs/", {"name": "gen"}, format="json"), 201).json()
    assert created["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    registered = ok(alice_api.post("/api/v1/ssh-key-pairs/", {"name": "laptop", "public_key": ED25519},
                                   format="json"), 201).json()
    assert registered["fingerprint"] == "ea:5e:16:ac:8a:0c:d4:82:42:6c:fb:6b:20:2e:70:59"
    assert registered["private_key"] is None

    listed = ok(alice_api.get("/api/v1/ssh-key-pairs/")).json()["results"]
    assert [p["name"] for p in listed] == ["gen", "laptop"] and "private_key" not in listed[0]
    bob = client_for(cloud.bob)
    assert ok(bob.get("/api/v1/ssh-key-pairs/")).json()["results"] == []
    assert bob.delete(f"/api/v1/ssh-key-pairs/{registered['id']}/").status_code == 404
    assert alice_api.post("/api/v1/ssh-key-pairs/", {"name": "laptop", "public_key": ED25519},
                          format="json").status_code == 400
    ok(alice_api.delete(f"/api/v1/ssh-key-pairs/{registered['id']}/"), 204)
    assert list(SSHKeyPair.objects.values_list("name", flat=True)) == ["gen"]


def test_affinity_groups(cloud, alice_api, client_for):
    body = ok(alice_api.post("/api/v1/affinity-groups/", {"name": "web", "type": "host anti-affinity"},
                             format="json"), 201).json()
    vm = make_vm(cloud, cloud.alice)
    AffinityGroup.objects.get().virtual_machines.add(vm)
    listed = ok(alice_api.get("/api/v1/affinity-groups/")).json()["results"]
    assert listed[0]["virtual_machines"] == [str(vm.uuid)] and listed[0]["type"] == "host anti-affinity"
    assert alice_api.post("/api/v1/affinity-groups/", {"name": "x", "type": "rack"}, format="json"
                          ).status_code == 400
    assert client_for(cloud.bob).delete(f"/api/v1/affinity-groups/{body['id']}/").status_code == 404
    ok(alice_api.delete(f"/api/v1/affinity-groups/{body['id']}/"), 204)
    assert not AffinityGroup.objects.exists()


def test_tags(cloud, alice_api, client_for):
    vm = make_vm(cloud, cloud.alice)
    payload = {"resource_type": "UserVm", "resource_ids": [str(vm.uuid)], "tags": {"env": "prod", "a": "b"}}
    created = ok(alice_api.post("/api/v1/tags/", payload, format="json"), 201).json()
    assert sorted(t["key"] for t in created) == ["a", "env"]
    assert ok(alice_api.get("/api/v1/tags/?key=env")).json()["results"][0]["resource_id"] == str(vm.uuid)
    bob = client_for(cloud.bob)
    assert bob.post("/api/v1/tags/", {**payload, "tags": {"x": "y"}}, format="json").status_code == 404
    assert ok(bob.get("/api/v1/tags/")).json()["results"] == []
    ok(alice_api.post("/api/v1/tags/delete/", {"resource_type": "UserVm", "resource_ids": [str(vm.uuid)],
                                               "tags": {"env": ""}}, format="json"), 204)
    assert list(ResourceTag.objects.values_list("key", flat=True)) == ["a"]


def test_lists_cost_the_same_for_more_rows(cloud, alice_api):
    counter = iter(range(1000))

    def grow():
        for _ in range(3):
            n = next(counter)
            vm = make_vm(cloud, cloud.alice, f"vm{n}")
            AffinityGroup.objects.create(name=f"g{n}", group_type="host affinity",
                                         account=cloud.alice.account).virtual_machines.add(vm)
            SSHKeyPair.objects.create(name=f"k{n}", fingerprint="f", public_key="p", account=cloud.alice.account)
            ResourceTag.objects.create(key="k", value="v", resource_type="UserVm", resource_uuid=vm.uuid,
                                       resource_id=vm.pk, account=cloud.alice.account)

    grow()
    for path in ("/api/v1/ssh-key-pairs/", "/api/v1/affinity-groups/", "/api/v1/tags/"):
        before, after = assert_queries_constant(lambda p=path: ok(alice_api.get(p)).json(), grow)
        assert after["count"] > before["count"], path
