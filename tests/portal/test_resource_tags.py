"""Resource tags through the service layer: owners tag what they own (the tag takes the resource's owner),
every resource type resolves through its own tenancy-scoped selector, listings get a page's tags in one
query, and filtering by tags narrows a queryset."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute.models import VirtualMachine
from compute.selectors import vm_list
from compute.services_grants import vm_grant
from compute.services_keypairs import keypair_create
from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.models import AsyncJob, ResourceTag
from portal.selectors_tags import filter_by_tags, tag_list, tags_for
from portal.services_tags import tags_create, tags_delete
from storage.models import Volume

pytestmark = pytest.mark.django_db


def make_vm(cloud, owner, name="vm"):
    """A VM row (Stopped, never started): tags need nothing from a host."""
    return VirtualMachine.objects.create(
        name=name, zone=cloud.zone, service_offering=cloud.offering, template=cloud.template,
        account=owner.account, user=owner, cpu_number=1, cpu_speed=1000, memory=512)


def test_owner_tags_a_vm_and_the_tag_takes_the_vms_owner(cloud, run_jobs):
    vm = make_vm(cloud, cloud.alice)
    with run_jobs():
        created, job = tags_create(caller=cloud.alice, resource_type="uservm", resource_ids=[str(vm.uuid)],
                                   tags={"env": "prod", "team": "web"}, customer="acme")
    job.refresh_from_db()

    assert job.status == AsyncJob.Status.SUCCEEDED
    assert sorted((t.key, t.value) for t in created) == [("env", "prod"), ("team", "web")]
    tag = ResourceTag.objects.get(key="env")
    assert (tag.resource_type, tag.resource_uuid, tag.resource_id) == ("UserVm", vm.uuid, vm.pk)
    assert tag.account == cloud.alice.account and tag.customer == "acme"


def test_admin_tag_on_a_users_vm_belongs_to_the_user(cloud):
    vm = make_vm(cloud, cloud.alice)
    tags_create(caller=cloud.admin, resource_type="UserVm", resource_ids=[str(vm.uuid)], tags={"k": "v"})

    assert list(tag_list(caller=cloud.alice).values_list("key", flat=True)) == ["k"]
    assert ResourceTag.objects.get().account == cloud.alice.account


def test_others_cannot_tag_or_see_and_grantees_cannot_tag(cloud):
    vm = make_vm(cloud, cloud.alice)
    with pytest.raises(NotFound):
        tags_create(caller=cloud.bob, resource_type="UserVm", resource_ids=[str(vm.uuid)], tags={"k": "v"})
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="operate")
    with pytest.raises(PermissionDenied):
        tags_create(caller=cloud.bob, resource_type="UserVm", resource_ids=[str(vm.uuid)], tags={"k": "v"})
    tags_create(caller=cloud.alice, resource_type="UserVm", resource_ids=[str(vm.uuid)], tags={"k": "v"})

    assert list(tag_list(caller=cloud.bob)) == []
    with pytest.raises(NotFound):
        tags_delete(caller=cloud.bob, resource_type="UserVm", resource_ids=[str(make_vm(cloud, cloud.alice,
                                                                                           "other").uuid)])


def test_public_template_is_visible_but_not_taggable_by_users(cloud):
    with pytest.raises(PermissionDenied):
        tags_create(caller=cloud.alice, resource_type="Template", resource_ids=[str(cloud.template.uuid)],
                    tags={"k": "v"})
    tags_create(caller=cloud.admin, resource_type="Template", resource_ids=[str(cloud.template.uuid)],
                tags={"k": "v"})
    assert ResourceTag.objects.get().resource_type == "Template"


def test_volumes_and_key_pairs_are_taggable(cloud):
    vm = make_vm(cloud, cloud.alice)
    volume = Volume.objects.create(name="ROOT-1", volume_type=Volume.Type.ROOT, size=1, zone=cloud.zone,
                                   virtual_machine=vm, account=cloud.alice.account)
    pair, _private = keypair_create(caller=cloud.alice, name="k")
    tags_create(caller=cloud.alice, resource_type="Volume", resource_ids=[str(volume.uuid)], tags={"a": "1"})
    tags_create(caller=cloud.alice, resource_type="SSHKeyPair", resource_ids=[str(pair.uuid)], tags={"a": "2"})

    assert sorted(ResourceTag.objects.values_list("resource_type", "value")) == [("SSHKeyPair", "2"),
                                                                                ("Volume", "1")]
    with pytest.raises(NotFound):
        tags_create(caller=cloud.bob, resource_type="Volume", resource_ids=[str(volume.uuid)], tags={"b": "1"})


def test_refusals_change_nothing(cloud):
    vm, other = make_vm(cloud, cloud.alice), make_vm(cloud, cloud.alice, "vm2")
    tags_create(caller=cloud.alice, resource_type="UserVm", resource_ids=[str(vm.uuid)], tags={"env": "a"})

    for kwargs, error in (
        ({"resource_type": "Router", "tags": {"x": "1"}}, "Invalid resource type"),
        ({"resource_type": "UserVm", "tags": {}}, "At least one tag"),
        ({"resource_type": "UserVm", "tags": {"x": ""}}, "empty or null"),
        ({"resource_type": "UserVm", "tags": {"y": "1", "env": "b"}}, "already exists"),
    ):
        with pytest.raises(InvalidParameter, match=error):
            tags_create(caller=cloud.alice, resource_ids=[str(other.uuid), str(vm.uuid)], **kwargs)
    assert list(ResourceTag.objects.values_list("key", "value")) == [("env", "a")]


def test_delete_by_key_by_key_and_value_or_everything(cloud):
    vm = make_vm(cloud, cloud.alice)
    ids = [str(vm.uuid)]
    tags_create(caller=cloud.alice, resource_type="UserVm", resource_ids=ids, tags={"a": "1", "b": "2", "c": "3"})

    with pytest.raises(InvalidParameter, match="Unable to find any tags"):
        tags_delete(caller=cloud.alice, resource_type="UserVm", resource_ids=ids, tags={"a": "wrong"})
    tags_delete(caller=cloud.alice, resource_type="UserVm", resource_ids=ids, tags={"a": "1"})
    tags_delete(caller=cloud.alice, resource_type="UserVm", resource_ids=ids, tags={"b": ""})
    assert list(ResourceTag.objects.values_list("key", flat=True)) == ["c"]
    tags_delete(caller=cloud.alice, resource_type="UserVm", resource_ids=ids)
    assert not ResourceTag.objects.exists()


def test_tags_for_a_page_is_one_query_and_filter_by_tags_narrows(cloud):
    vms = [make_vm(cloud, cloud.alice, f"vm{n}") for n in range(4)]
    for n, vm in enumerate(vms):
        tags_create(caller=cloud.alice, resource_type="UserVm", resource_ids=[str(vm.uuid)],
                    tags={"env": "prod" if n % 2 else "dev", "n": str(n)})

    with CaptureQueriesContext(connection) as queries:
        found = tags_for("UserVm", vms)
    assert len(queries) == 1
    assert [sorted(t.key for t in found[vm.pk]) for vm in vms] == [["env", "n"]] * 4

    prod = filter_by_tags(vm_list(caller=cloud.alice), "UserVm", {"env": "prod"})
    assert sorted(vm.name for vm in prod) == ["vm1", "vm3"]
    assert [vm.name for vm in filter_by_tags(vm_list(caller=cloud.alice), "UserVm", {"env": "prod", "n": "3"})
            ] == ["vm3"]
    assert len(filter_by_tags(vm_list(caller=cloud.alice), "UserVm", {"env": ""})) == 4
