"""The VM operation commands and listIsos through /client/api."""

from __future__ import annotations

import base64

import pytest

from compute.models import VirtualMachine
from tests import factories
from tests.support.vms import deploy_vm

pytestmark = pytest.mark.django_db


def _deploy(cloud, run_jobs, name="web1"):
    return deploy_vm(cloud, run_jobs, name=name)


def test_update_virtual_machine(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    status, body = api_json("alice", "updateVirtualMachine", id=str(vm.uuid), displayname="Web",
                            group="front", userdata=base64.b64encode(b"#cloud-config\n").decode())
    assert status == 200, body
    assert body["virtualmachine"]["displayname"] == "Web"
    vm.refresh_from_db()
    assert (vm.group, vm.user_data) == ("front", "#cloud-config\n")


def test_update_refuses_bad_user_data_and_strangers(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    status, body = api_json("alice", "updateVirtualMachine", id=str(vm.uuid), displayname="x", userdata="!!")
    assert status == 431 and "base64" in body["errortext"]
    status, _body = api_json("bob", "updateVirtualMachine", id=str(vm.uuid), displayname="owned")
    assert status == 431  # another tenant's VM is not found
    vm.refresh_from_db()
    assert vm.display_name == "web1"


def test_list_isos(cloud, api_json):
    iso = factories.TemplateFactory(name="netinst", format="ISO")
    status, body = api_json("alice", "listIsos", isofilter="executable")
    assert status == 200 and body["count"] == 1
    assert body["iso"][0]["id"] == str(iso.uuid) and body["iso"][0]["bootable"] is True
    status, body = api_json("alice", "listTemplates", templatefilter="executable")
    assert [t["id"] for t in body["template"]] == [str(cloud.template.uuid)]


def test_migration_commands_are_root_only(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    for command in ("migrateVirtualMachine", "findHostsForMigration"):
        status, _body = api_json("alice", command, virtualmachineid=str(vm.uuid))
        assert status == 401, command  # as CloudStack: a command the role lacks is unknown to it
    assert VirtualMachine.objects.get(pk=vm.pk).host == cloud.host


def test_migrating_a_vm_on_local_storage_is_refused_clearly(cloud, api_json, run_jobs):
    vm = _deploy(cloud, run_jobs)
    factories.HostFactory(cluster=cloud.host.cluster, name="other")
    status, body = api_json("admin", "migrateVirtualMachine", virtualmachineid=str(vm.uuid))
    assert status == 432 and "local storage" in body["errortext"]
    vm.refresh_from_db()
    assert (vm.state, vm.host) == ("Running", cloud.host)
    status, body = api_json("admin", "findHostsForMigration", virtualmachineid=str(vm.uuid))
    assert status == 200 and body["count"] == 1
    host = body["host"][0]
    assert host["name"] == "other" and host["suitableformigration"] is False
    assert host["requiresStorageMotion"] is True and host["hasenoughcapacity"] is True
