"""Capacity figures per zone, pod, cluster and host: overprovisioning factors, disable thresholds, storage."""

from __future__ import annotations

import pytest

from infrastructure.selectors_capacity import (
    CPU,
    MEMORY,
    SECONDARY_STORAGE,
    STORAGE,
    STORAGE_ALLOCATED,
    capacity_list,
    capacity_summary,
)
from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.models import ConfigurationValue
from tests import factories
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db
GiB = 2**30


def _by_type(rows):
    return {row.type: row for row in rows}


@pytest.fixture
def layout(cloud):
    """cloud.host's cluster (factors 1) plus a second cluster in the same pod with factors 2 (CPU) and 1.5
    (memory), holding one host; a cluster pool, a host-local pool and a zone-wide pool; one image store."""
    first = cloud.host.cluster
    second = factories.ClusterFactory(pod=first.pod, cpu_overprovisioning=2.0, memory_overprovisioning=1.5)
    other = factories.HostFactory(cluster=second, cpu_allocated=4000, memory_allocated=3 * GiB)
    cloud.host.cpu_allocated, cloud.host.memory_allocated = 1000, 1 * GiB
    cloud.host.save()
    factories.StoragePoolFactory(cluster=first, capacity_bytes=100 * GiB, used_bytes=10 * GiB,
                                 allocated_bytes=50 * GiB)
    factories.StoragePoolFactory(cluster=None, pod=None, zone=cloud.zone, scope="HOST", host=other,
                                 capacity_bytes=20 * GiB, used_bytes=5 * GiB, allocated_bytes=8 * GiB)
    factories.StoragePoolFactory(cluster=None, pod=None, zone=cloud.zone, scope="ZONE", capacity_bytes=30 * GiB,
                                 used_bytes=3 * GiB, allocated_bytes=6 * GiB)
    factories.StoragePoolFactory(cluster=first, capacity_bytes=999 * GiB, removed="2026-01-01T00:00:00Z")
    factories.ImageStoreFactory(zone=cloud.zone, capacity_bytes=500 * GiB, used_bytes=125 * GiB)
    return first, second, other


def test_zone_level_with_factors(cloud, layout):
    rows = _by_type(capacity_list(caller=cloud.admin, level="zone"))
    assert set(rows) == {MEMORY, CPU, STORAGE, STORAGE_ALLOCATED, SECONDARY_STORAGE}
    cpu = rows[CPU]
    # 16000 MHz x 1 + 16000 MHz x 2
    assert (cpu.actual, cpu.total, cpu.used) == (32000, 48000, 5000)
    assert cpu.percent_used == round(100 * 5000 / 48000, 2)
    memory = rows[MEMORY]
    assert (memory.actual, memory.total, memory.used) == (16 * GiB, 8 * GiB + 12 * GiB, 4 * GiB)
    storage = rows[STORAGE]  # removed pool left out; cluster, host and zone pools counted
    assert (storage.total, storage.used, storage.allocated) == (150 * GiB, 18 * GiB, 64 * GiB)
    allocated = rows[STORAGE_ALLOCATED]  # default storage.overprovisioning.factor is 2
    assert (allocated.total, allocated.used, allocated.factor) == (300 * GiB, 64 * GiB, 2.0)
    secondary = rows[SECONDARY_STORAGE]
    assert (secondary.total, secondary.used, secondary.percent_used, secondary.threshold) == (
        500 * GiB, 125 * GiB, 25.0, None)
    assert cpu.threshold == 0.85 and storage.threshold == 0.85
    assert (cpu.zone, cpu.pod, cpu.cluster, cpu.host) == (cloud.zone, None, None, None)


def test_cluster_level_per_cluster_factor_and_threshold(cloud, layout):
    first, second, _other = layout
    ConfigurationValue.objects.create(name="cluster.cpu.allocated.capacity.disablethreshold", scope="cluster",
                                      scope_id=second.pk, value="0.1")
    rows = capacity_list(caller=cloud.admin, level="cluster", zone_id=cloud.zone.uuid)
    by_cluster = {(row.cluster, row.type): row for row in rows}
    assert {row.cluster for row in rows} == {first, second}
    cpu2 = by_cluster[second, CPU]
    assert (cpu2.actual, cpu2.total, cpu2.used, cpu2.factor, cpu2.threshold) == (16000, 32000, 4000, 2.0, 0.1)
    assert cpu2.threshold_crossed  # 12.5% > 10%
    cpu1 = by_cluster[first, CPU]
    assert (cpu1.total, cpu1.threshold, cpu1.threshold_crossed) == (16000, 0.85, False)
    assert by_cluster[second, MEMORY].total == 12 * GiB
    # The host-local pool counts in its host's cluster; the zone-wide pool in no cluster.
    assert by_cluster[second, STORAGE].total == 20 * GiB
    assert by_cluster[first, STORAGE].total == 100 * GiB
    assert not any(row.type == SECONDARY_STORAGE for row in rows)


def test_pool_threshold_is_zone_scoped_and_crossed(cloud, layout):
    ConfigurationValue.objects.create(name="pool.storage.capacity.disablethreshold", scope="zone",
                                      scope_id=cloud.zone.pk, value="0.2")
    ConfigurationValue.objects.create(name="storage.overprovisioning.factor", scope="global", scope_id=0,
                                      value="1")
    rows = _by_type(capacity_list(caller=cloud.admin, level="zone", zone_id=str(cloud.zone.uuid)))
    allocated = rows[STORAGE_ALLOCATED]
    assert (allocated.total, allocated.threshold) == (150 * GiB, 0.2)
    assert allocated.threshold_crossed  # 64/150 > 20%
    assert not rows[STORAGE].threshold_crossed  # 18/150 = 12%


def test_pod_and_host_levels(cloud, layout):
    _first, second, other = layout
    pods = capacity_list(caller=cloud.admin, level="pod", capacity_type=CPU)
    assert len(pods) == 1 and pods[0].pod == cloud.host.pod and pods[0].total == 48000
    hosts = capacity_list(caller=cloud.admin, level="host", cluster_id=second.uuid)
    assert {row.host for row in hosts} == {other}
    by_type = _by_type(hosts)
    assert (by_type[CPU].total, by_type[CPU].used) == (32000, 4000)
    assert by_type[STORAGE].total == 20 * GiB  # its local pool
    one = capacity_list(caller=cloud.admin, level="host", host_id=cloud.host.uuid, capacity_type=MEMORY)
    assert [(row.host, row.total, row.used) for row in one] == [(cloud.host, 8 * GiB, 1 * GiB)]


def test_empty_zone_reports_zero_and_sort_by_usage(cloud, layout):
    empty = factories.ZoneFactory()
    rows = capacity_list(caller=cloud.admin, level="zone", zone_id=empty.uuid)
    assert rows and all(row.total == 0 and row.percent_used == 0.0 and not row.threshold_crossed for row in rows)
    ordered = capacity_list(caller=cloud.admin, sort_by_usage=True)
    assert [row.fraction_used for row in ordered] == sorted((row.fraction_used for row in ordered), reverse=True)


def test_summary_adds_zones(cloud, layout):
    factories.HostFactory()  # another zone
    summary = _by_type(capacity_summary(caller=cloud.admin))
    assert summary[CPU].total == 48000 + 16000


def test_bad_input_and_non_root_refused(cloud, layout):
    with pytest.raises(InvalidParameter):
        capacity_list(caller=cloud.admin, capacity_type=4)
    with pytest.raises(InvalidParameter):
        capacity_list(caller=cloud.admin, level="galaxy")
    with pytest.raises(NotFound):
        capacity_list(caller=cloud.admin, zone_id="00000000-0000-0000-0000-000000000000")
    for user in (cloud.alice, cloud.bob):
        with pytest.raises(PermissionDenied):
            capacity_list(caller=user)


@pytest.mark.parametrize("level", ["zone", "pod", "cluster", "host"])
def test_query_count_constant(cloud, level):
    def grow(count: int) -> None:
        for _ in range(count):
            host = factories.HostFactory()
            factories.StoragePoolFactory(cluster=host.cluster)
            factories.ImageStoreFactory(zone=host.zone)

    grow(2)
    capacity_list(caller=cloud.admin, level=level)
    small, before = count_queries(lambda: capacity_list(caller=cloud.admin, level=level))
    grow(27)
    large, after = count_queries(lambda: capacity_list(caller=cloud.admin, level=level))
    assert len(after) > len(before)
    assert small == large <= 8
