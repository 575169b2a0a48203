"""VM metrics: rate arithmetic (counter resets included), downsampling, retention, and the collection task
on libvirt's test driver."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from compute import metrics, tasks_metrics
from compute.models import VirtualMachine, VmMetric
from compute.selectors_metrics import vm_metrics_latest, vm_metrics_series
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.models import ConfigurationValue
from tests.support.vms import deploy_vm

NOW = datetime(2025, 3, 4, 12, 0, 30, tzinfo=UTC)
_names = itertools.count(1)


def counters(cpu_s: float, *, vcpus: int = 1, disks: dict | None = None, nics: dict | None = None) -> dict:
    return metrics.counters_from_stats({
        "cpu_time_ns": int(cpu_s * 1e9), "vcpus": vcpus,
        "disks": {dev: dict(zip(("rd_bytes", "wr_bytes", "rd_reqs", "wr_reqs"), values, strict=True))
                  for dev, values in (disks or {}).items()},
        "interfaces": {dev: dict(zip(("rx_bytes", "tx_bytes"), values, strict=True))
                       for dev, values in (nics or {}).items()},
    })


# --- rates ----------------------------------------------------------------------------------------------

def test_rates_between_two_samples():
    before = counters(100, vcpus=2, disks={"vda": (1000, 2000, 10, 20)}, nics={"vnet0": (500, 600)})
    after = counters(130, vcpus=2, disks={"vda": (7000, 14000, 70, 80)}, nics={"vnet0": (6500, 3600)})
    rates = metrics.rates_between(before, after, 60)
    assert rates.cpu_percent == pytest.approx(25.0)  # 30 s of CPU over 60 s and two vCPUs
    assert rates.disk_read_bps == pytest.approx(100.0)
    assert rates.disk_write_bps == pytest.approx(200.0)
    assert rates.disk_read_iops == pytest.approx(1.0)
    assert rates.disk_write_iops == pytest.approx(1.0)
    assert (rates.net_rx_bps, rates.net_tx_bps) == (pytest.approx(100.0), pytest.approx(50.0))


def test_rates_after_the_vm_restarted_count_from_zero():
    # CPU time went down: the domain restarted inside the interval, so every counter restarted too, even one
    # that is (by chance) higher than before.
    before = counters(5000, disks={"vda": (1000, 1000, 10, 10)})
    after = counters(6, disks={"vda": (6000, 600, 6, 60)})
    rates = metrics.rates_between(before, after, 60)
    assert rates.cpu_percent == pytest.approx(10.0)
    assert rates.disk_read_bps == pytest.approx(100.0)
    assert rates.disk_write_bps == pytest.approx(10.0)
    assert rates.disk_write_iops == pytest.approx(1.0)


def test_rates_with_one_device_reset_or_hot_plugged():
    before = counters(10, disks={"vda": (6000, 0, 0, 0)}, nics={"vnet0": (9000, 0)})
    after = counters(11, disks={"vda": (600, 0, 0, 0), "vdb": (1200, 0, 0, 0)}, nics={"vnet0": (9600, 0)})
    rates = metrics.rates_between(before, after, 60)
    # vda's counter went down (re-plugged): its 600 are new; vdb was plugged in: its 1200 are new.
    assert rates.disk_read_bps == pytest.approx(30.0)
    assert rates.net_rx_bps == pytest.approx(10.0)
    assert rates.cpu_percent == pytest.approx(100 / 60)


def test_no_rates_without_a_previous_sample_and_cpu_is_clamped():
    assert metrics.rates_between(None, counters(1), 60) is None
    assert metrics.rates_between(counters(1), counters(2), 0) is None
    assert metrics.rates_between(counters(0), counters(120), 60).cpu_percent == 100.0


def test_previous_sample_must_be_recent():
    assert metrics.previous_is_usable(NOW - timedelta(seconds=60), NOW, 60)
    assert not metrics.previous_is_usable(NOW - timedelta(seconds=181), NOW, 60)
    assert not metrics.previous_is_usable(None, NOW, 60)


def test_memory_and_totals():
    assert metrics.memory_from_stats({"memory_current_kib": 1024, "memory_rss_kib": 300}) == (300, 1024)
    assert metrics.memory_from_stats({"memory_current_kib": 1024, "memory_rss_kib": None}) == (1024, 1024)
    total = metrics.totals(counters(1, disks={"vda": (1, 2, 3, 4), "vdb": (10, 20, 30, 40)}, nics={"n": (5, 6)}))
    assert total == {"rd_bytes": 11, "wr_bytes": 22, "rd_reqs": 33, "wr_reqs": 44, "rx_bytes": 5, "tx_bytes": 6}


# --- downsampling (pure) ---------------------------------------------------------------------------------

def row(vm_id: int, at: datetime, resolution: int = 60, **values) -> SimpleNamespace:
    base = dict.fromkeys(metrics.VALUE_FIELDS, 0)
    return SimpleNamespace(virtual_machine_id=vm_id, at=at, resolution=resolution, **{**base, **values})


def test_bucket_start_is_aligned():
    assert metrics.bucket_start(NOW, 300) == datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    assert metrics.bucket_start(datetime(2025, 3, 4, 12, 59, 59, tzinfo=UTC), 3600) == datetime(
        2025, 3, 4, 12, 0, tzinfo=UTC)


def test_downsample_averages_complete_buckets_only():
    start = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    rows = [row(1, start + timedelta(seconds=s), cpu_percent=c, memory_used_kib=m)
            for s, c, m in ((0, 10, 100), (60, 20, 200), (120, 60, 301))]
    rows += [row(1, start + timedelta(seconds=90), resolution=0, cpu_percent=99)]  # a baseline: left out
    rows += [row(2, start + timedelta(seconds=30), cpu_percent=5)]
    rows += [row(1, start + timedelta(minutes=5, seconds=10), cpu_percent=50)]  # next bucket, not over yet
    result = metrics.downsample(rows, 300, until=start + timedelta(minutes=6))
    assert set(result) == {(1, start), (2, start)}
    assert result[1, start]["cpu_percent"] == pytest.approx(30.0)
    assert result[1, start]["memory_used_kib"] == 200
    assert result[2, start]["cpu_percent"] == pytest.approx(5.0)


def test_hourly_rows_average_the_five_minute_rows():
    start = datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
    rows = [row(1, start + timedelta(minutes=5 * i), resolution=300, net_rx_bps=float(i)) for i in range(12)]
    rows.append(row(1, start, resolution=60, net_rx_bps=1000.0))  # raw rows are not averaged again
    result = metrics.downsample(rows, 3600, until=start + timedelta(hours=1))
    assert result == {(1, start): pytest.approx({**dict.fromkeys(metrics.VALUE_FIELDS, 0), "net_rx_bps": 5.5})}


# --- database: downsampling task, retention, selectors ----------------------------------------------------

def make_vm(cloud, owner=None, *, state="Running") -> VirtualMachine:
    owner = owner or cloud.alice
    return VirtualMachine.objects.create(
        name=f"vm{next(_names)}", account=owner.account, user=owner, zone=cloud.zone, host=cloud.host,
        service_offering=cloud.offering, template=cloud.template, cpu_number=2, cpu_speed=1500, memory=1024,
        state=state)


def store(vm: VirtualMachine, at: datetime, resolution: int = 60, **values) -> VmMetric:
    return VmMetric.objects.create(virtual_machine=vm, at=at, resolution=resolution, **values)


def set_config(name: str, value: str) -> None:
    ConfigurationValue.objects.update_or_create(name=name, scope="global", scope_id=0, defaults={"value": value})


@pytest.mark.django_db
def test_downsample_task_writes_each_bucket_once(cloud):
    vm = make_vm(cloud)
    start = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    for minute, cpu in enumerate((10, 20, 30, 40, 50)):
        store(vm, start + timedelta(minutes=minute, seconds=5), cpu_percent=cpu)
    store(vm, start + timedelta(minutes=5, seconds=5), cpu_percent=90)

    assert tasks_metrics.downsample(300, now=start + timedelta(minutes=4)) == 0  # bucket not over
    assert tasks_metrics.downsample(300, now=start + timedelta(minutes=6)) == 1
    assert tasks_metrics.downsample(300, now=start + timedelta(minutes=7)) == 0  # idempotent
    five = VmMetric.objects.get(virtual_machine=vm, resolution=300)
    assert (five.at, five.cpu_percent, five.counters) == (start, pytest.approx(30.0), {})
    assert tasks_metrics.downsample(300, now=start + timedelta(minutes=10)) == 1
    assert VmMetric.objects.filter(resolution=300).count() == 2


@pytest.mark.django_db
def test_prune_by_retention_per_resolution(cloud):
    vm = make_vm(cloud)
    ages = {  # resolution: (pruned age, kept age) with the default retentions (720 min, 2 days, 14 days)
        60: (timedelta(hours=13), timedelta(hours=11)),
        0: (timedelta(hours=13), timedelta(hours=11)),
        300: (timedelta(days=3), timedelta(days=1)),
        3600: (timedelta(days=15), timedelta(days=13)),
    }
    kept = {store(vm, NOW - keep, resolution).pk for resolution, (_drop, keep) in ages.items()}
    for resolution, (drop, _keep) in ages.items():
        store(vm, NOW - drop, resolution)
    assert tasks_metrics.prune(now=NOW) == 4
    assert set(VmMetric.objects.values_list("pk", flat=True)) == kept

    set_config("vm.stats.max.retention.time", "0")  # CloudStack: 0 disables the cleanup
    store(vm, NOW - timedelta(days=30), 60)
    set_config("vm.stats.hourly.retention.time", "60")
    assert tasks_metrics.prune(now=NOW) == 1  # only the hourly row of 13 days ago
    assert VmMetric.objects.filter(resolution=60, at=NOW - timedelta(days=30)).exists()


@pytest.mark.django_db
def test_series_picks_the_resolution_of_the_period(cloud):
    vm = make_vm(cloud)
    store(vm, NOW - timedelta(minutes=30), 60, cpu_percent=1)
    store(vm, NOW - timedelta(minutes=29), 0, cpu_percent=0)  # baseline: not charted
    store(vm, NOW - timedelta(hours=2), 60, cpu_percent=2)  # outside the hour
    store(vm, NOW - timedelta(hours=3), 300, cpu_percent=3)
    store(vm, NOW - timedelta(days=2), 3600, cpu_percent=4)

    def cpu(period):
        return [p.cpu_percent for p in vm_metrics_series(caller=cloud.alice, vm=vm, period=period, now=NOW).points]

    assert (cpu("1h"), cpu("1d"), cpu("1w")) == ([1], [3], [4])
    assert vm_metrics_series(caller=cloud.alice, vm=vm, now=NOW).period.name == "1h"
    with pytest.raises(InvalidParameter):
        vm_metrics_series(caller=cloud.alice, vm=vm, period="1y")
    with pytest.raises(PermissionDenied):
        vm_metrics_series(caller=cloud.bob, vm=vm, period="1h")


@pytest.mark.django_db
def test_latest_sample_of_a_page_in_one_query(cloud, django_assert_num_queries):
    vms = [make_vm(cloud) for _ in range(3)]
    for index, vm in enumerate(vms[:2]):
        store(vm, NOW - timedelta(minutes=2), 60, cpu_percent=10)
        store(vm, NOW - timedelta(minutes=1), 60, cpu_percent=20 + index)
        store(vm, NOW, 300, cpu_percent=99)  # a downsampled row is never "the latest sample"
    other = make_vm(cloud, cloud.bob)
    store(other, NOW, 60, cpu_percent=50)
    vm_metrics_latest(caller=cloud.alice, vms=vms)  # warm: the caller's role rules are read once per caller
    with django_assert_num_queries(1):
        latest = vm_metrics_latest(caller=cloud.alice, vms=[*vms, other])
    assert {pk: row.cpu_percent for pk, row in latest.items()} == {vms[0].pk: 20, vms[1].pk: 21}


# --- collection on the test driver --------------------------------------------------------------------

deploy = deploy_vm


@pytest.mark.django_db
def test_collection_stores_rows_for_running_vms_only(cloud, run_jobs):
    running = [deploy(cloud, run_jobs) for _ in range(2)]
    stopped = deploy(cloud, run_jobs, start_vm=False)
    assert [vm.state for vm in running] == ["Running", "Running"] and stopped.state == "Stopped"

    assert tasks_metrics.collect_host(cloud.host, now=NOW) == 2
    first = VmMetric.objects.filter(at=NOW)
    assert {row.virtual_machine_id for row in first} == {vm.pk for vm in running}
    assert {row.resolution for row in first} == {metrics.BASELINE}  # nothing to difference against yet
    assert all(row.counters["cpu_time_ns"] > 0 and row.memory_total_kib == 512 * 1024 for row in first)

    later = NOW + timedelta(seconds=60)
    assert tasks_metrics.collect_host(cloud.host, now=later) == 2
    second = list(VmMetric.objects.filter(at=later))
    assert {row.resolution for row in second} == {60}
    # The test driver's CPU time and block counters follow the wall clock, so they grew since the first read.
    assert all(row.cpu_percent > 0 and row.disk_read_bps > 0 for row in second)
    assert not VmMetric.objects.filter(virtual_machine=stopped).exists()


@pytest.mark.django_db
def test_one_failing_vm_does_not_stop_the_others(cloud, run_jobs, caplog):
    broken, healthy = deploy(cloud, run_jobs), deploy(cloud, run_jobs)
    hv.destroy_domain(cloud.host.url, broken.instance_name)  # removed behind the portal's back
    hv.undefine_domain(cloud.host.url, broken.instance_name)

    assert tasks_metrics.vm_metrics_collect(cloud.host.pk) == 1
    assert list(VmMetric.objects.values_list("virtual_machine_id", flat=True)) == [healthy.pk]
    assert broken.instance_name in caplog.text
    broken.refresh_from_db()
    cloud.host.refresh_from_db()
    assert broken.state == "Running" and cloud.host.status == Host.Status.UP  # metrics change nothing


@pytest.mark.django_db
def test_hosts_not_up_are_skipped_and_collection_can_be_disabled(cloud, run_jobs):
    deploy(cloud, run_jobs)
    Host.objects.filter(pk=cloud.host.pk).update(status=Host.Status.DISCONNECTED)
    assert tasks_metrics.vm_metrics_collect(cloud.host.pk) == 0
    assert tasks_metrics.vm_metrics_collect(999999) == 0
    Host.objects.filter(pk=cloud.host.pk).update(status=Host.Status.UP)

    assert tasks_metrics.submit_metrics([cloud.host.pk], maintain=True) == 1  # eager in tests: runs at once
    assert VmMetric.objects.count() == 1
    set_config("vm.stats.interval", "0")
    assert tasks_metrics.submit_metrics([cloud.host.pk], maintain=True) == 0
    assert tasks_metrics.metrics_wait() == tasks_metrics.DISABLED_RECHECK_SECONDS
    assert VmMetric.objects.count() == 1


@pytest.mark.django_db
def test_series_of_another_tenants_vm_is_refused(cloud):
    vm = make_vm(cloud, cloud.bob)
    from compute.selectors import vm_get

    with pytest.raises(NotFound):
        vm_get(caller=cloud.alice, vm_id=str(vm.uuid))
