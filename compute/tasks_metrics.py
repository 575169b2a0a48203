"""VM metrics collection, downsampling and pruning: job-less periodic Celery tasks.

The agent's timer thread (infrastructure.agent) queues `vm_metrics_collect` for every served host on the
host's own queue every vm.stats.interval, like the heartbeat, so a slow host only delays its own queue; the
agent serving the default queue also queues `vm_metrics_maintain` (downsampling and pruning, database work
only). They are not AsyncJobs: nobody waits for them, and a poll a minute would bury real jobs.

Metrics are an observation, never an actor: a VM whose stats cannot be read is logged and skipped (the
others are still collected), and nothing here changes a VM's or a host's state; the heartbeat and the
reconciliation own those.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from compute import metrics
from compute.models import VirtualMachine, VmMetric
from compute.states import VmState
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.configuration import config_value

logger = logging.getLogger(__name__)

# How long the agent waits before looking again while collection is disabled (vm.stats.interval <= 0).
DISABLED_RECHECK_SECONDS = 60.0


def metrics_interval() -> float | None:
    """vm.stats.interval in seconds; None when collection is disabled (0 or less, as in CloudStack)."""
    milliseconds = int(config_value("vm.stats.interval"))
    return milliseconds / 1000.0 if milliseconds > 0 else None


def metrics_wait() -> float:
    """How long the agent's metrics timer sleeps: the interval, or a re-check delay while disabled or while
    the setting cannot be read (the database may be restarting; the timer must survive it)."""
    try:
        return metrics_interval() or DISABLED_RECHECK_SECONDS
    except Exception:  # (any database failure: retry later rather than end the timer)
        logger.warning("vm metrics: cannot read vm.stats.interval", exc_info=True)
        return DISABLED_RECHECK_SECONDS


def _raw_resolution(interval_s: float) -> int:
    return min(max(round(interval_s), 1), metrics.RAW_BELOW - 1)


def _previous_samples(vm_ids: list[int]) -> dict[int, VmMetric]:
    """Each VM's newest raw (or baseline) row, one query for all of them."""
    newest = (VmMetric.objects.filter(virtual_machine=OuterRef("virtual_machine"), resolution__lt=metrics.RAW_BELOW)
              .order_by("-at", "-pk").values("pk")[:1])
    rows = VmMetric.objects.filter(virtual_machine_id__in=vm_ids, resolution__lt=metrics.RAW_BELOW,
                                   pk=Subquery(newest))
    return {row.virtual_machine_id: row for row in rows}


def sample_row(vm_id: int, stats: dict, previous: VmMetric | None, now: datetime, interval_s: float) -> VmMetric:
    """The row for one reading of a VM's stats: a raw row with rates when the previous sample is usable,
    else a baseline row."""
    counters = metrics.counters_from_stats(stats)
    used_kib, total_kib = metrics.memory_from_stats(stats)
    rates = None
    if previous is not None and metrics.previous_is_usable(previous.at, now, interval_s):
        rates = metrics.rates_between(previous.counters, counters, (now - previous.at).total_seconds())
    row = VmMetric(virtual_machine_id=vm_id, at=now, counters=counters, memory_used_kib=used_kib,
                   memory_total_kib=total_kib,
                   resolution=metrics.BASELINE if rates is None else _raw_resolution(interval_s))
    if rates is not None:
        for name in metrics.RATE_FIELDS:
            setattr(row, name, getattr(rates, name))
    return row


def collect_host(host: Host, *, now: datetime | None = None) -> int:
    """Read the stats of every Running VM on the host and store one row each; returns the rows stored."""
    if host.status != Host.Status.UP:
        return 0
    interval_s = metrics_interval() or DISABLED_RECHECK_SECONDS
    vms = list(VirtualMachine.objects.filter(host=host, state=VmState.RUNNING, removed__isnull=True,
                                             instance_name__isnull=False).only("pk", "instance_name"))
    if not vms:
        return 0
    previous = _previous_samples([vm.pk for vm in vms])
    rows = []
    for vm in vms:
        now_vm = now or timezone.now()
        try:
            stats = hv.domain_stats(host.url, vm.instance_name)
        except hv.ConnectionFailed as exc:
            # The host is unreachable: every other VM would fail the same way. The heartbeat decides what
            # that means for the host; metrics just skip this round.
            logger.warning("vm metrics: host %s unreachable, skipping collection: %s", host.name, exc)
            break
        except hv.HypervisorError as exc:
            logger.warning("vm metrics: cannot read stats of %s on host %s: %s", vm.instance_name, host.name, exc)
            continue
        except Exception:  # (one VM's unexpected failure must not cost the others their sample)
            logger.exception("vm metrics: reading stats of %s on host %s failed", vm.instance_name, host.name)
            continue
        rows.append(sample_row(vm.pk, stats, previous.get(vm.pk), now_vm, interval_s))
    VmMetric.objects.bulk_create(rows)
    return len(rows)


@shared_task(name="cirrostack.vm_metrics_collect", ignore_result=True)
def vm_metrics_collect(host_id: int) -> int:
    host = Host.objects.filter(pk=host_id).first()
    if host is None:
        return 0
    try:
        return collect_host(host)
    except Exception:  # (a failed poll is logged; it must never surface as a host failure)
        logger.exception("vm metrics: collection on host %s failed", host_id)
        return 0


def downsample(target: int, *, now: datetime | None = None) -> int:
    """Write the `target`-second averages of every bucket that ended since the last run; returns the rows
    written. Buckets already written (another run got there first) are left alone."""
    now = now or timezone.now()
    until = metrics.bucket_start(now, target)
    last = VmMetric.objects.filter(resolution=target).aggregate(last=Max("at"))["last"]
    if target == metrics.FIVE_MINUTES:
        source = VmMetric.objects.filter(resolution__gt=metrics.BASELINE, resolution__lt=metrics.RAW_BELOW)
    else:
        source = VmMetric.objects.filter(resolution=metrics.FIVE_MINUTES)
    source = source.filter(at__lt=until)
    written = VmMetric.objects.filter(resolution=target, at__lt=until)
    if last is not None:
        start = last + timedelta(seconds=target)
        source, written = source.filter(at__gte=start), written.filter(at__gte=start)
    fields = ("virtual_machine_id", "at", "resolution", *metrics.VALUE_FIELDS)
    averages = metrics.downsample(source.only(*fields).iterator(), target, until=until)
    existing = set(written.values_list("virtual_machine_id", "at"))
    rows = [VmMetric(virtual_machine_id=vm_id, at=at, resolution=target, **values)
            for (vm_id, at), values in sorted(averages.items(), key=lambda item: (item[0][1], item[0][0]))
            if (vm_id, at) not in existing]
    VmMetric.objects.bulk_create(rows)
    return len(rows)


RETENTION_SETTINGS = (
    ("vm.stats.max.retention.time", {"resolution__lt": metrics.RAW_BELOW}),
    ("vm.stats.5min.retention.time", {"resolution": metrics.FIVE_MINUTES}),
    ("vm.stats.hourly.retention.time", {"resolution": metrics.ONE_HOUR}),
)


def prune(*, now: datetime | None = None) -> int:
    """Delete rows past their resolution's retention; returns how many."""
    now = now or timezone.now()
    deleted = 0
    for setting, rows in RETENTION_SETTINGS:
        cutoff = metrics.retention_cutoff(now, int(config_value(setting)))
        if cutoff is not None:
            deleted += VmMetric.objects.filter(at__lt=cutoff, **rows).delete()[0]
    return deleted


@shared_task(name="cirrostack.vm_metrics_maintain", ignore_result=True)
def vm_metrics_maintain() -> None:
    """Downsample (5-minute rows first: the hourly ones average them) and prune."""
    try:
        downsample(metrics.FIVE_MINUTES)
        downsample(metrics.ONE_HOUR)
        prune()
    except Exception:  # (logged; the next run catches up from the newest written bucket)
        logger.exception("vm metrics: downsampling or pruning failed")


def submit_metrics(host_ids: Iterable[int], *, maintain: bool) -> int:
    """Queue one collection per host on its own queue (and the maintenance task on the default queue when
    `maintain`); how the agent's timer drives metrics. Nothing is queued while collection is disabled."""
    from portal.jobs import DEFAULT_QUEUE

    interval_s = metrics_interval()
    if interval_s is None:
        return 0
    count = 0
    for host_id in host_ids:
        vm_metrics_collect.apply_async(args=[host_id], queue=f"host.{host_id}", expires=interval_s)
        count += 1
    if maintain:
        vm_metrics_maintain.apply_async(queue=DEFAULT_QUEUE, expires=interval_s)
    return count
