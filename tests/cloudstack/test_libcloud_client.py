"""apache-libcloud's CloudStack driver, unmodified, against a real server socket."""

from __future__ import annotations

import gc

import pytest
from libcloud.compute.providers import get_driver
from libcloud.compute.types import NodeState, Provider

from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from portal.models import ResourceTag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def driver_for(live_server, keys):
    drivers = []

    def make(username: str):
        api_key, secret = keys[username]
        driver = get_driver(Provider.CLOUDSTACK)(key=api_key, secret=secret, secure=False,
                                                 url=f"{live_server.url}/client/api")
        driver.connection.poll_interval = 0.05
        drivers.append(driver)
        return driver

    yield make
    # libcloud opens a new keep-alive session per request and drops the old one: collect them now, so
    # their sockets close and the live server's handler threads end before the server stops.
    drivers.clear()
    gc.collect()


def test_libcloud_driver(cloud, driver_for):
    driver = driver_for("alice")

    [location] = driver.list_locations()
    assert (location.id, location.name) == (str(cloud.zone.uuid), cloud.zone.name)
    [size] = driver.list_sizes()
    assert (size.id, size.ram, size.extra["cpu"]) == (str(cloud.offering.uuid), 512, 1)
    [image] = driver.list_images(location=location)
    assert (image.id, image.extra["format"], image.extra["hypervisor"]) == (str(cloud.template.uuid), "QCOW2", "KVM")

    # libcloud sends startvm=False unless told otherwise.
    idle = driver.create_node(name="idle", size=size, image=image, location=location)
    assert idle.state == NodeState.STOPPED
    node = driver.create_node(name="web1", size=size, image=image, location=location, ex_start_vm=True)
    assert node.state == NodeState.RUNNING

    nodes = {n.name: n for n in driver.list_nodes()}
    assert set(nodes) == {"idle", "web1"}
    assert nodes["web1"].state == NodeState.RUNNING
    assert nodes["web1"].public_ips == [] and nodes["web1"].private_ips == []
    assert driver_for("bob").list_nodes() == []

    assert driver.reboot_node(node) is True
    assert driver.destroy_node(node) is True
    assert VirtualMachine.objects.get(uuid=node.id).state == "Destroyed"
    assert [n.name for n in driver.list_nodes()] == ["idle"]


PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0JNFqByTj6bSK2pYgJ1xN4Bi7a2/Jx6Vbrc3nGKqD alice@laptop"
USER_DATA = "#cloud-config\nruncmd: [echo hello]\n"


def test_key_pair_user_data_stop_start_tags_destroy(cloud, driver_for):
    """Issue 6 item 9 with libcloud: import a key, deploy with it and user-data (libcloud base64-encodes
    ex_userdata itself), stop/start, tag and destroy."""
    driver = driver_for("alice")
    pair = driver.import_key_pair_from_string("laptop", PUBLIC_KEY)
    assert pair.name == "laptop" and pair.fingerprint
    assert [p.name for p in driver.list_key_pairs()] == ["laptop"]

    [location], [size] = driver.list_locations(), driver.list_sizes()
    [image] = driver.list_images(location=location)
    node = driver.create_node(name="web1", size=size, image=image, location=location, ex_start_vm=True,
                              ex_keyname="laptop", ex_userdata=USER_DATA)
    assert node.state == NodeState.RUNNING
    row = VirtualMachine.objects.get(uuid=node.id)
    assert (row.key_pair_names, row.ssh_public_keys, row.user_data) == ("laptop", PUBLIC_KEY, USER_DATA)
    assert row.config_drive_path and row.config_drive_path in hv.domain_xml(cloud.host.url, row.instance_name)

    assert driver.ex_stop(node) == "Stopped"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.SHUTOFF
    assert driver.ex_start(node) == "Running"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.RUNNING

    assert driver.ex_create_tags([node.id], "UserVm", {"env": "prod", "team": "web"}) is True
    [listed] = driver.list_nodes()
    assert listed.extra["tags"] == {"env": "prod", "team": "web"}
    assert listed.extra["key_name"] == "laptop"  # libcloud reads the pre-4.17 `keypair` field
    assert driver.ex_delete_tags([node.id], "UserVm", ["env"]) is True
    assert driver.ex_get_node(node.id).extra["tags"] == {"team": "web"}
    assert ResourceTag.objects.filter(resource_uuid=node.id).count() == 1

    assert driver.destroy_node(node) is True
    assert VirtualMachine.objects.get(uuid=node.id).state == "Destroyed"
    assert hv.domain_state(cloud.host.url, row.instance_name) == hv.DomainState.MISSING
    assert driver.list_nodes() == []
