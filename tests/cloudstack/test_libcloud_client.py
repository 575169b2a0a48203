"""apache-libcloud's CloudStack driver, unmodified, against a real server socket."""

from __future__ import annotations

import gc

import pytest
from libcloud.compute.providers import get_driver
from libcloud.compute.types import NodeState, Provider

from compute.models import VirtualMachine

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
