"""Placement under contention: concurrent deploys, each in its own thread and database connection, racing for
less room than they ask for. Needs a database that real concurrent transactions can share (PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connection, transaction

from accounts.limits import ResourceCount, ResourceType
from compute import services
from compute.models import VirtualMachine
from infrastructure.models import Host
from infrastructure.placement import Request, place_vm
from portal.configuration import GLOBAL
from portal.errors import InsufficientCapacity
from portal.services_configuration import config_update
from storage.models import Volume
from tests import factories
from tests.support.agent import shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)

RACERS, ROOM = 100, 50


def test_100_deploys_racing_for_room_for_50_place_exactly_50(cloud):
    shared_database_url()  # PostgreSQL only (fails instead of skipping in CI)
    config_update(caller=cloud.admin, name="cluster.memory.allocated.capacity.disablethreshold", value="1",
                  target=GLOBAL)
    offering = factories.ServiceOfferingFactory(name="racer", memory=512)
    # Two hosts with room for 25 VMs each by memory (CPU is plentiful): 50 in all.
    second = factories.HostFactory(cluster=cloud.host.cluster, name="second")
    Host.objects.filter(pk__in=[cloud.host.pk, second.pk]).update(
        memory_total=(ROOM // 2) * 512 * 2**20, cpu_cores=100, memory_allocated=0, cpu_allocated=0)

    def deploy(n: int) -> str:
        try:
            services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=offering,
                               template=cloud.template, name=f"racer-{n}")
            return "placed"
        except InsufficientCapacity as exc:
            assert exc.errorcode == 533
            return "533"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(deploy, range(RACERS)))

    assert outcomes.count("placed") == ROOM and outcomes.count("533") == RACERS - ROOM
    # Nothing half-created for the losers: exactly the winners' VMs, volumes and counts exist.
    assert VirtualMachine.objects.filter(name__startswith="racer-").count() == ROOM
    assert Volume.objects.filter(virtual_machine__name__startswith="racer-").count() == ROOM
    counts = dict(ResourceCount.objects.filter(account=cloud.alice.account).values_list("resource_type", "count"))
    assert counts[ResourceType.USER_VM] == ROOM and counts[ResourceType.VOLUME] == ROOM
    for host in Host.objects.filter(pk__in=[cloud.host.pk, second.pk]):
        assert host.memory_allocated == host.memory_total  # full, never over
        assert VirtualMachine.objects.filter(host=host, name__startswith="racer-").count() == ROOM // 2


def test_100_placements_racing_for_50_slots_without_the_deploy_service(cloud):
    """vm_deploy serialises on the ROOT domain's resource-count row (every deploy updates it before placing),
    so the test above cannot tell an atomic host reservation from a read-then-write one. Here 100 threads,
    released together, each place one VM in its own transaction with nothing else shared: only the
    conditional UPDATE of infrastructure.placement keeps the hosts from being overcommitted."""
    shared_database_url()  # PostgreSQL only (fails instead of skipping in CI)
    config_update(caller=cloud.admin, name="cluster.memory.allocated.capacity.disablethreshold", value="1",
                  target=GLOBAL)
    config_update(caller=cloud.admin, name="vm.allocation.algorithm", value="firstfit", target=GLOBAL)
    hosts = [cloud.host, *(factories.HostFactory(cluster=cloud.host.cluster) for _ in range(4))]
    Host.objects.filter(pk__in=[h.pk for h in hosts]).update(
        memory_total=(ROOM // len(hosts)) * 512 * 2**20, cpu_cores=100, memory_allocated=0, cpu_allocated=0)
    request = Request(zone=cloud.zone, account=cloud.alice.account, cpu_mhz=1000, memory_bytes=512 * 2**20)
    barrier = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                place_vm(request)
            outcomes.append("placed")
        except InsufficientCapacity:
            outcomes.append("533")
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=attempt) for _ in range(RACERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes) == ["533"] * (RACERS - ROOM) + ["placed"] * ROOM
    for host in Host.objects.filter(pk__in=[h.pk for h in hosts]):
        assert host.memory_allocated == host.memory_total  # full, never over
