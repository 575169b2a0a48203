"""/api/v1/virtual-machines/{id}/ operations (compute/api_vm_ops.py): settings, change-offering, scale,
attach-iso/detach-iso, reset-ssh-key, migrate and hosts-for-migration; jobs run for real on the test driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from compute.models import SSHKeyPair, VirtualMachine
from infrastructure import hypervisor as hv
from portal.models import AsyncJob
from tests import factories
from tests.rest.helpers import VMS, assert_error
from tests.support.queries import assert_queries_constant, ok
from tests.support.vms import running_vm, stop_vm

pytestmark = pytest.mark.django_db

NODE = ("<node><cpu><mhz>2000</mhz><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>8</cores>"
        "<threads>1</threads></cpu><memory>8388608</memory></node>")


def _deploy(cloud, run_jobs, name="web1") -> VirtualMachine:
    return running_vm(cloud, run_jobs, name=name)


_stop = stop_vm


def _row(vm) -> dict:
    return VirtualMachine.objects.filter(pk=vm.pk).values().get()


def _accepted(response) -> AsyncJob:
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    return AsyncJob.objects.get(uuid=body["id"])


def _succeeded(response) -> AsyncJob:
    job = _accepted(response)
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    return job


def url(vm, suffix: str) -> str:
    return f"{VMS}{vm.uuid}/{suffix}/"


# settings -------------------------------------------------------------------------------------------------

def test_settings_patch_answers_the_vm(cloud, run_jobs, alice_api):
    vm = _deploy(cloud, run_jobs)
    response = alice_api.patch(url(vm, "settings"), {"display_name": "Web one", "group": "front",
                                                     "user_data": "#cloud-config\n"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["display_name"], body["group"]) == (str(vm.uuid), "Web one", "front")
    vm.refresh_from_db()
    assert (vm.display_name, vm.group, vm.user_data) == ("Web one", "front", "#cloud-config\n")


def test_settings_refusals_change_nothing(cloud, run_jobs, alice_api, client_for):
    vm = _deploy(cloud, run_jobs)
    before = _row(vm)
    assert_error(alice_api.patch(url(vm, "settings"), {"ha_enabled": True}, format="json"), 400, 431)
    assert_error(alice_api.patch(url(vm, "settings"), {"name": "-bad-"}, format="json"), 400, 431)
    assert_error(alice_api.patch(url(vm, "settings"), {"group": "x" * 300}, format="json"), 400, 431)
    assert_error(client_for(cloud.bob).patch(url(vm, "settings"), {"group": "owned"}, format="json"), 404, 431)
    assert_error(alice_api.patch(f"{VMS}00000000-0000-0000-0000-000000000000/settings/", {"group": "g"},
                                 format="json"), 404, 431)
    assert _row(vm) == before


# change offering and scale --------------------------------------------------------------------------------

def test_change_offering_of_a_stopped_vm(cloud, run_jobs, alice_api):
    vm = _stop(cloud, run_jobs, _deploy(cloud, run_jobs))
    bigger = factories.ServiceOfferingFactory(name="Medium", cpu_number=2, cpu_speed=1000, memory=1024)
    response = alice_api.post(url(vm, "change-offering"), {"service_offering": str(bigger.uuid)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["cpu_number"], body["memory"], body["service_offering"]["id"]) == (2, 1024, str(bigger.uuid))


def test_change_offering_refusals(cloud, run_jobs, alice_api, client_for):
    vm = _deploy(cloud, run_jobs)
    bigger = factories.ServiceOfferingFactory(cpu_number=2, cpu_speed=1000, memory=1024)
    before = _row(vm)
    body = {"service_offering": str(bigger.uuid)}
    assert_error(alice_api.post(url(vm, "change-offering"), body, format="json"), 409, 431)  # running
    assert_error(alice_api.post(url(vm, "change-offering"), {}, format="json"), 400, 431)
    assert_error(alice_api.post(url(vm, "change-offering"), {"service_offering": str(vm.uuid)}, format="json"),
                 404, 431)
    assert_error(client_for(cloud.bob).post(url(vm, "change-offering"), body, format="json"), 404, 431)
    custom = factories.ServiceOfferingFactory(cpu_number=None, cpu_speed=None, memory=None, min_cpu_number=1,
                                              max_cpu_number=2, min_memory=256, max_memory=2048)
    _stop(cloud, run_jobs, vm)
    before = _row(vm)
    assert_error(alice_api.post(url(vm, "change-offering"), {"service_offering": str(custom.uuid),
                                                             "cpu_number": 8, "cpu_speed": 1000,
                                                             "memory": 512}, format="json"), 400, 431)
    assert _row(vm) == before


def test_scale_a_running_vm(cloud, run_jobs, alice_api):
    vm = _deploy(cloud, run_jobs)
    bigger = factories.ServiceOfferingFactory(cpu_number=2, cpu_speed=1000, memory=1024)
    with run_jobs():
        response = alice_api.post(url(vm, "scale"), {"service_offering": str(bigger.uuid)}, format="json")
    _succeeded(response)
    vm.refresh_from_db()
    assert (vm.cpu_number, vm.memory, vm.service_offering) == (2, 1024, bigger)
    xml = hv.domain_xml(cloud.host.url, vm.instance_name)
    assert "current='2'" in xml or 'current="2"' in xml  # two vCPUs online now, live
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (2000, 1024 * 2**20)
    body = alice_api.get(f"{VMS}{vm.uuid}/").json()
    assert (body["cpu_number"], body["memory"], body["state"]) == (2, 1024, "Running")


def test_scale_refusals_change_nothing(cloud, run_jobs, alice_api, client_for):
    vm = _deploy(cloud, run_jobs)
    smaller = factories.ServiceOfferingFactory(cpu_number=1, cpu_speed=500, memory=256)
    before = _row(vm)
    error = assert_error(alice_api.post(url(vm, "scale"), {"service_offering": str(smaller.uuid)},
                                        format="json"), 400, 431)
    assert "scaled up" in error["message"]
    assert_error(client_for(cloud.bob).post(url(vm, "scale"), {"service_offering": str(smaller.uuid)},
                                            format="json"), 404, 431)
    assert_error(alice_api.post(url(vm, "scale"), {"service_offering": "x"}, format="json"), 400, 431)
    assert _row(vm) == before
    assert not AsyncJob.objects.filter(cmd="scaleVirtualMachine").exists()


# ISO ------------------------------------------------------------------------------------------------------

def test_attach_and_detach_iso(cloud, run_jobs, alice_api):
    vm = _deploy(cloud, run_jobs)
    iso = factories.TemplateFactory(name="tools", format="ISO")
    with run_jobs():
        response = alice_api.post(url(vm, "attach-iso"), {"iso": str(iso.uuid)}, format="json")
    _succeeded(response)
    vm.refresh_from_db()
    assert vm.iso == iso
    assert f"{iso.uuid}.iso" in hv.domain_xml(cloud.host.url, vm.instance_name)
    assert alice_api.get(f"{VMS}{vm.uuid}/").json()["iso"]["id"] == str(iso.uuid)
    assert_error(alice_api.post(url(vm, "attach-iso"), {"iso": str(iso.uuid)}, format="json"), 409, 431)
    with run_jobs():
        response = alice_api.post(url(vm, "detach-iso"))
    _succeeded(response)
    vm.refresh_from_db()
    assert vm.iso is None
    assert f"{iso.uuid}.iso" not in hv.domain_xml(cloud.host.url, vm.instance_name)
    assert_error(alice_api.post(url(vm, "detach-iso")), 409, 431)


def test_attach_iso_refusals(cloud, run_jobs, alice_api, client_for):
    vm = _deploy(cloud, run_jobs)
    iso = factories.TemplateFactory(name="tools", format="ISO")
    assert_error(alice_api.post(url(vm, "attach-iso"), {"iso": str(cloud.template.uuid)}, format="json"),
                 404, 431)  # a template is not among the ISOs
    assert_error(alice_api.post(url(vm, "attach-iso"), {}, format="json"), 400, 431)
    assert_error(client_for(cloud.bob).post(url(vm, "attach-iso"), {"iso": str(iso.uuid)}, format="json"),
                 404, 431)
    assert_error(client_for(cloud.bob).post(url(vm, "detach-iso")), 404, 431)
    assert _row(vm)["iso_id"] is None
    assert not AsyncJob.objects.filter(cmd__icontains="iso").exists()


# SSH keys -------------------------------------------------------------------------------------------------

def test_reset_ssh_key_of_a_stopped_vm(cloud, run_jobs, alice_api):
    SSHKeyPair.objects.create(name="laptop", fingerprint="f", public_key="ssh-ed25519 AAAA laptop",
                              account=cloud.alice.account, domain=cloud.alice.account.domain)
    vm = _deploy(cloud, run_jobs)
    assert_error(alice_api.post(url(vm, "reset-ssh-key"), {"key_pairs": ["laptop"]}, format="json"), 409, 431)
    _stop(cloud, run_jobs, vm)
    assert_error(alice_api.post(url(vm, "reset-ssh-key"), {"key_pairs": []}, format="json"), 400, 431)
    assert_error(alice_api.post(url(vm, "reset-ssh-key"), {"key_pairs": ["nope"]}, format="json"), 404, 431)
    assert _row(vm)["key_pair_names"] == ""
    with run_jobs():
        response = alice_api.post(url(vm, "reset-ssh-key"), {"key_pairs": ["laptop"]}, format="json")
    _succeeded(response)
    vm.refresh_from_db()
    assert (vm.key_pair_names, vm.ssh_public_keys) == ("laptop", "ssh-ed25519 AAAA laptop")
    assert alice_api.get(f"{VMS}{vm.uuid}/").json()["key_pairs"] == ["laptop"]


# migration ------------------------------------------------------------------------------------------------

@pytest.fixture
def on_shared_storage(cloud, run_jobs, tmp_path: Path):
    """A running VM with its disk on a cluster pool, and a second host of that cluster on its own test driver."""
    factories.StoragePoolFactory(cluster=cloud.host.cluster, name="shared")
    vm = _deploy(cloud, run_jobs)
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    target = factories.HostFactory(cluster=cloud.host.cluster, name="target", url=f"test://{node}")
    return vm, target


def test_hosts_for_migration_and_migrate(cloud, run_jobs, client_for, on_shared_storage):
    vm, target = on_shared_storage
    admin = client_for(cloud.admin)
    response = admin.get(url(vm, "hosts-for-migration"))
    assert response.status_code == 200, response.content
    assert response.json() == [{"id": str(target.uuid), "name": "target", "cluster": cloud.host.cluster.name,
                                "suitable": True, "requires_storage_motion": False, "has_enough_capacity": True,
                                "reason": ""}]
    with run_jobs():
        response = admin.post(url(vm, "migrate"), {"host": str(target.uuid)}, format="json")
    _succeeded(response)
    vm.refresh_from_db()
    assert (vm.state, vm.host) == ("Running", target)
    assert hv.domain_state(target.url, vm.instance_name) == hv.DomainState.RUNNING
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.MISSING
    with run_jobs():  # and back, the planner choosing (the only other host)
        response = admin.post(url(vm, "migrate"), {}, format="json")
    _succeeded(response)
    vm.refresh_from_db()
    assert vm.host == cloud.host


def test_migrate_refusals_change_nothing(cloud, run_jobs, client_for, alice_api, on_shared_storage):
    vm, target = on_shared_storage
    admin = client_for(cloud.admin)
    before = _row(vm)
    assert_error(alice_api.post(url(vm, "migrate"), {"host": str(target.uuid)}, format="json"), 403, 531)
    assert_error(alice_api.get(url(vm, "hosts-for-migration")), 403, 531)
    assert_error(admin.post(url(vm, "migrate"), {"host": str(cloud.host.uuid)}, format="json"), 400, 431)
    assert_error(admin.post(url(vm, "migrate"), {"host": str(vm.uuid)}, format="json"), 404, 431)
    assert_error(admin.post(f"{VMS}00000000-0000-0000-0000-000000000000/migrate/", {}, format="json"), 404, 431)
    assert _row(vm) == before
    _stop(cloud, run_jobs, vm)
    before = _row(vm)
    assert_error(admin.post(url(vm, "migrate"), {"host": str(target.uuid)}, format="json"), 409, 431)
    assert_error(admin.get(url(vm, "hosts-for-migration")), 409, 431)
    assert _row(vm) == before
    assert not AsyncJob.objects.filter(cmd="migrateVirtualMachine").exists()


def test_migrating_a_vm_on_local_storage_is_unsupported(cloud, run_jobs, client_for):
    vm = _deploy(cloud, run_jobs)
    factories.HostFactory(cluster=cloud.host.cluster, name="other")
    before = _row(vm)
    error = assert_error(client_for(cloud.admin).post(url(vm, "migrate"), {}, format="json"), 400, 432)
    assert "local storage" in error["message"]
    assert _row(vm) == before


def test_hosts_for_migration_query_count_does_not_grow_with_hosts(cloud, client_for, on_shared_storage):
    vm, _target = on_shared_storage
    admin = client_for(cloud.admin)

    def grow() -> None:
        for i in range(3):
            factories.HostFactory(cluster=factories.ClusterFactory(pod=cloud.host.pod), name=f"more{i}")

    before, after = assert_queries_constant(lambda: ok(admin.get(url(vm, "hosts-for-migration"))), grow,
                                            at_most=12)
    assert (len(before.json()), len(after.json())) == (1, 4)
