"""VM metrics arithmetic: rates from two counter samples, averaging into coarser rows, retention.

Pure functions over plain values, no database and no hypervisor, so the subtle parts (counter resets, a
disk hot-plugged between two samples, bucket boundaries) are tested without either. The collection task
(compute.tasks_metrics) and the selectors (compute.selectors_metrics) build on them.

Rows and resolutions (compute.models.VmMetric.resolution, seconds):

- raw rows: one per collection, resolution = the collection interval (vm.stats.interval, always under five
  minutes), rates over the time since the previous sample; they carry the cumulative counters read from the
  host so the next collection can difference against them;
- baseline rows (resolution 0): the first sample after a VM started or after a gap. They cover no interval,
  so their rates are unknown (stored as 0) and charts and averages leave them out; their gauges (memory)
  and counters are real;
- 5-minute and 1-hour rows: averages of the finer rows inside each bucket, made by the downsampling task.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BASELINE = 0
FIVE_MINUTES = 300
ONE_HOUR = 3600
# Raw rows are finer than the first downsampled resolution (vm.stats.interval is capped below it).
RAW_BELOW = FIVE_MINUTES
# A previous sample older than this many collection intervals is not differenced against: the VM may have
# been stopped and started in between (its counters restarted and grew past the old values unnoticed).
MAX_GAP_INTERVALS = 3

RATE_FIELDS = ("cpu_percent", "disk_read_bps", "disk_write_bps", "disk_read_iops", "disk_write_iops",
               "net_rx_bps", "net_tx_bps")
GAUGE_FIELDS = ("memory_used_kib", "memory_total_kib")
VALUE_FIELDS = RATE_FIELDS + GAUGE_FIELDS

_DISK_COUNTERS = ("rd_bytes", "wr_bytes", "rd_reqs", "wr_reqs")
_NET_COUNTERS = ("rx_bytes", "tx_bytes")


def counters_from_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What a raw row keeps of infrastructure.hypervisor.domain_stats: the cumulative counters, per device
    (a per-device record lets a detached or hot-plugged disk be told apart from a counter reset)."""
    return {
        "cpu_time_ns": int(stats.get("cpu_time_ns") or 0),
        "vcpus": int(stats.get("vcpus") or 0),
        "disks": {dev: {key: int(values.get(key, 0)) for key in _DISK_COUNTERS}
                  for dev, values in (stats.get("disks") or {}).items()},
        "interfaces": {dev: {key: int(values.get(key, 0)) for key in _NET_COUNTERS}
                       for dev, values in (stats.get("interfaces") or {}).items()},
    }


def memory_from_stats(stats: Mapping[str, Any]) -> tuple[int, int]:
    """(used KiB, total KiB). Total is the balloon's current size (what the guest has now), used the QEMU
    process's resident memory when the host reports it (else all of it: a guest's own free memory is not
    visible without a guest agent)."""
    total = int(stats.get("memory_current_kib") or stats.get("memory_max_kib") or 0)
    rss = stats.get("memory_rss_kib")
    used = total if rss is None else min(int(rss), total) if total else int(rss)
    return used, total


def _increase(current: int, previous: int | None, restarted: bool) -> int:
    """How much a cumulative counter grew. A counter that went down was reset (the VM restarted, the device
    was re-plugged): everything it counts now was counted since then, inside the interval. A device that was
    not there before was plugged in during the interval and counts from zero."""
    if previous is None or restarted or current < previous:
        return max(current, 0)
    return current - previous


def _device_increase(current: Mapping[str, Mapping[str, int]], previous: Mapping[str, Mapping[str, int]],
                     key: str, restarted: bool) -> int:
    total = 0
    for dev, values in current.items():
        before = previous.get(dev)
        total += _increase(int(values.get(key, 0)), None if before is None else int(before.get(key, 0)), restarted)
    return total


@dataclass(frozen=True)
class Rates:
    cpu_percent: float
    disk_read_bps: float
    disk_write_bps: float
    disk_read_iops: float
    disk_write_iops: float
    net_rx_bps: float
    net_tx_bps: float


def rates_between(previous: Mapping[str, Any] | None, current: Mapping[str, Any], elapsed_s: float) -> Rates | None:
    """Per-second rates over `elapsed_s` seconds from two counter records (counters_from_stats), or None when
    there is nothing to difference against (no previous sample, no time elapsed).

    CPU is the share of the VM's vCPUs kept busy (100 % = every vCPU all the time), clamped to 0..100 because
    CPU time is read a moment apart from the clock. A lower CPU time than before means the domain restarted
    within the interval: then every counter started again from zero."""
    if previous is None or elapsed_s <= 0:
        return None
    restarted = int(current.get("cpu_time_ns", 0)) < int(previous.get("cpu_time_ns", 0))
    cpu_ns = _increase(int(current.get("cpu_time_ns", 0)), int(previous.get("cpu_time_ns", 0)), restarted)
    vcpus = max(int(current.get("vcpus") or 1), 1)
    cpu = 100.0 * cpu_ns / (elapsed_s * 1e9 * vcpus)
    disks, old_disks = current.get("disks") or {}, ({} if restarted else previous.get("disks") or {})
    nics, old_nics = current.get("interfaces") or {}, ({} if restarted else previous.get("interfaces") or {})
    per_second = 1.0 / elapsed_s
    return Rates(
        cpu_percent=min(max(cpu, 0.0), 100.0),
        disk_read_bps=_device_increase(disks, old_disks, "rd_bytes", restarted) * per_second,
        disk_write_bps=_device_increase(disks, old_disks, "wr_bytes", restarted) * per_second,
        disk_read_iops=_device_increase(disks, old_disks, "rd_reqs", restarted) * per_second,
        disk_write_iops=_device_increase(disks, old_disks, "wr_reqs", restarted) * per_second,
        net_rx_bps=_device_increase(nics, old_nics, "rx_bytes", restarted) * per_second,
        net_tx_bps=_device_increase(nics, old_nics, "tx_bytes", restarted) * per_second,
    )


def previous_is_usable(previous_at: datetime | None, now: datetime, interval_s: float) -> bool:
    """Whether a VM's last raw sample is recent enough to difference against (see MAX_GAP_INTERVALS)."""
    if previous_at is None:
        return False
    age = (now - previous_at).total_seconds()
    return 0 < age <= max(interval_s, 1.0) * MAX_GAP_INTERVALS


def totals(counters: Mapping[str, Any]) -> dict[str, int]:
    """The counters summed over devices (what CloudStack shows as the VM's disk and network totals)."""
    disks = (counters.get("disks") or {}).values()
    nics = (counters.get("interfaces") or {}).values()
    return {
        **{key: sum(int(d.get(key, 0)) for d in disks) for key in _DISK_COUNTERS},
        **{key: sum(int(n.get(key, 0)) for n in nics) for key in _NET_COUNTERS},
    }


# --- downsampling ---------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(at: datetime, resolution: int) -> datetime:
    """The start of the `resolution`-second bucket holding `at`, aligned to the epoch (so 5-minute buckets
    start at :00, :05, ... and hourly ones on the hour, whichever process computes them)."""
    seconds = math.floor((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % resolution)


def source_resolution_ok(resolution: int, target: int) -> bool:
    """Which rows a `target` row averages: 5-minute rows the raw ones (baselines excluded: they have no
    rates), hourly rows the 5-minute ones."""
    if target == FIVE_MINUTES:
        return BASELINE < resolution < RAW_BELOW
    return resolution == FIVE_MINUTES


def average(rows: Iterable[Any]) -> dict[str, float | int]:
    """The mean of each value field over rows (objects with VmMetric's attributes). Each row weighs the
    time it covers, so a gap-filled long raw interval counts for more than a short one."""
    rows = list(rows)
    weights = [max(int(getattr(row, "resolution", 1) or 1), 1) for row in rows]
    total = float(sum(weights)) or 1.0
    values: dict[str, float | int] = {}
    for name in VALUE_FIELDS:
        mean = sum(float(getattr(row, name)) * w for row, w in zip(rows, weights, strict=True)) / total
        values[name] = round(mean) if name in GAUGE_FIELDS else mean
    return values


def downsample(rows: Iterable[Any], target: int, *, until: datetime) -> dict[tuple[int, datetime], dict]:
    """Average rows (VmMetric-like: virtual_machine_id, at, resolution and the value fields) into `target`
    buckets per VM: {(vm id, bucket start): averaged values}. Only buckets that ended by `until` are made,
    so a bucket is never written before all its samples can have arrived."""
    groups: dict[tuple[int, datetime], list[Any]] = defaultdict(list)
    for row in rows:
        if not source_resolution_ok(int(row.resolution), target):
            continue
        start = bucket_start(row.at, target)
        if start + timedelta(seconds=target) <= until:
            groups[row.virtual_machine_id, start].append(row)
    return {key: average(members) for key, members in groups.items()}


def retention_cutoff(now: datetime, minutes: int) -> datetime | None:
    """Rows older than this are pruned; None keeps everything (CloudStack: 0 or less disables cleanup)."""
    if minutes <= 0:
        return None
    return now - timedelta(minutes=minutes)
