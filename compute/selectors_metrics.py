"""Reads of VM metrics: a chart's series for one VM, and the newest sample of a page of VMs.

Whoever may see a VM may see its metrics (vm.metrics is granted to every role; the VM itself comes through
the scoped VM selectors, and every read here is scoped again so a VM object from elsewhere leaks nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compute import metrics
from compute.models import VirtualMachine, VmMetric
from portal.authz import authorize, scope
from portal.errors import InvalidParameter


@dataclass(frozen=True)
class Period:
    name: str
    span: timedelta
    # The resolution a chart of this span reads: None = the raw samples (baselines left out).
    resolution: int | None


PERIODS: dict[str, Period] = {
    "1h": Period("1h", timedelta(hours=1), None),
    "1d": Period("1d", timedelta(days=1), metrics.FIVE_MINUTES),
    "1w": Period("1w", timedelta(weeks=1), metrics.ONE_HOUR),
}
DEFAULT_PERIOD = "1h"


def period_get(name: str | None) -> Period:
    """The named period (empty: the default); InvalidParameter names the valid ones."""
    period = PERIODS.get(name or DEFAULT_PERIOD)
    if period is None:
        raise InvalidParameter(_("Invalid period %(period)r: valid periods are %(valid)s.") % {
            "period": name, "valid": ", ".join(PERIODS)})
    return period


@dataclass(frozen=True)
class MetricsSeries:
    vm: VirtualMachine
    period: Period
    start: datetime
    end: datetime
    points: list[VmMetric]

    @property
    def resolution(self) -> int | None:
        """The rows' interval in seconds (for raw rows: the newest one's)."""
        if self.period.resolution is not None:
            return self.period.resolution
        return self.points[-1].resolution if self.points else None


def vm_metrics_series(*, caller: User, vm: VirtualMachine, period: str | None = None,
                      now: datetime | None = None) -> MetricsSeries:
    """The samples of one VM over a period, oldest first, at the period's resolution (1h: raw samples,
    1d: 5-minute averages, 1w: hourly averages) — a few hundred points at most whatever the period."""
    authorize(caller, "vm.metrics")
    authorize(caller, "vm.view", vm)
    chosen = period_get(period)
    end = now or timezone.now()
    start = end - chosen.span
    rows = VmMetric.objects.filter(
        virtual_machine__in=scope(caller, VirtualMachine.objects.filter(pk=vm.pk)).values("pk"),
        at__gte=start, at__lte=end)
    if chosen.resolution is None:
        rows = rows.filter(resolution__gt=metrics.BASELINE, resolution__lt=metrics.RAW_BELOW)
    else:
        rows = rows.filter(resolution=chosen.resolution)
    return MetricsSeries(vm=vm, period=chosen, start=start, end=end,
                         points=list(rows.defer("counters").order_by("at", "pk")))


def vm_metrics_latest(*, caller: User, vms: Iterable[VirtualMachine]) -> dict[int, VmMetric]:
    """The newest raw (or baseline) sample of each VM, by VM primary key, in one query for all of them;
    VMs without samples (never ran, or pruned) are absent."""
    authorize(caller, "vm.metrics")
    ids = [vm.pk for vm in vms]
    if not ids:
        return {}
    newest = (VmMetric.objects.filter(virtual_machine=OuterRef("virtual_machine"), resolution__lt=metrics.RAW_BELOW)
              .order_by("-at", "-pk").values("pk")[:1])
    rows = VmMetric.objects.filter(
        virtual_machine__in=scope(caller, VirtualMachine.objects.filter(pk__in=ids)).values("pk"),
        resolution__lt=metrics.RAW_BELOW, pk=Subquery(newest))
    return {row.virtual_machine_id: row for row in rows}
