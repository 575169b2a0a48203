"""Registering hosts and placement, on libvirt's test driver."""

from __future__ import annotations

import pytest

from compute import services as compute_services
from infrastructure import services
from infrastructure.models import Host
from infrastructure.placement import host_reserve
from portal.errors import InsufficientCapacity, InvalidParameter, PermissionDenied
from portal.models import AsyncJob
from tests import factories

pytestmark = pytest.mark.django_db


def test_root_admin_adds_a_host_and_the_agent_brings_it_up_with_real_facts(cloud, run_jobs):
    cluster = cloud.host.cluster
    with run_jobs():
        host, job = services.host_add(caller=cloud.admin, cluster=cluster, name="sim2",
                                      url="test:///default?second")
    host.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.SUCCEEDED, job.result
    assert job.queue == f"host.{host.pk}"
    # libvirt's test driver describes a fixed machine: 16 CPUs at 1400 MHz.
    assert (host.status, host.cpu_cores, host.cpu_speed) == ("Up", 16, 1400)
    assert host.memory_total > 0 and host.last_seen is not None
    assert host.domain_type == "test"
    # ...and its capabilities name the guest domain types it offers ("test" for the test driver).
    assert host.cpu_model and host.capabilities.split(",")[0] == "hvm" and "test" in host.capabilities.split(",")


def test_unreachable_host_fails_its_job_and_is_disconnected(cloud, run_jobs):
    with run_jobs():
        host, job = services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="gone",
                                      url="qemu+tcp://127.0.0.1:1/system")
    host.refresh_from_db()
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.FAILED
    assert job.result["errorcode"] == 534
    assert host.status == "Disconnected"


def test_only_root_admins_add_hosts_and_bad_uris_are_refused(cloud):
    with pytest.raises(PermissionDenied):
        services.host_add(caller=cloud.alice, cluster=cloud.host.cluster, name="x", url="test:///default")
    with pytest.raises(InvalidParameter):
        services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="x", url="http://example.test/")
    with pytest.raises(InvalidParameter):
        services.host_add(caller=cloud.admin, cluster=cloud.host.cluster, name="x", url=cloud.host.url)
    assert Host.objects.count() == 1
    assert not AsyncJob.objects.exists()


def test_placement_fills_a_host_then_reports_insufficient_capacity(cloud, run_jobs):
    from portal.configuration import GLOBAL
    from portal.services_configuration import config_update

    # A full cluster is only usable up to its disable threshold (0.85 by default); allow all of it here.
    config_update(caller=cloud.admin, name="cluster.memory.allocated.capacity.disablethreshold", value="1",
                  target=GLOBAL)
    cloud.offering.memory = 4096  # the factory host has 8 GiB: room for exactly two
    cloud.offering.save()
    for name in ("a", "b"):
        with run_jobs():
            compute_services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                       template=cloud.template, name=name)
    with pytest.raises(InsufficientCapacity):
        host_reserve(zone=cloud.zone, cpu_mhz=1000, memory_bytes=4096 * 2**20)
    cloud.host.refresh_from_db()
    assert cloud.host.memory_allocated == 8 * 2**30


def test_placement_skips_hosts_that_are_not_up(cloud):
    down = factories.HostFactory(cluster=cloud.host.cluster, status=Host.Status.DISCONNECTED)
    cloud.host.status = Host.Status.DISCONNECTED
    cloud.host.save()
    with pytest.raises(InsufficientCapacity):
        host_reserve(zone=cloud.zone, cpu_mhz=1000, memory_bytes=2**20)
    down.refresh_from_db()
    assert down.memory_allocated == 0


def test_overprovisioning_factor_multiplies_memory(cloud):
    cluster = cloud.host.cluster
    cluster.memory_overprovisioning = 2.0
    cluster.save()
    host = host_reserve(zone=cloud.zone, cpu_mhz=1000, memory_bytes=12 * 2**30)
    assert host == cloud.host
