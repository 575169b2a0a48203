"""Web UI: the "Metrics" panel of a VM — server-rendered SVG line charts, no JavaScript library.

The VM page loads the panel with htmx into its Metrics tab (URL name compute:vm_metrics, ?period=1h|1d|1w);
the period links swap the panel in place. Without JavaScript the same URL is a page of its own. The chart
geometry is computed here (plain numbers for the template), colours come from the theme's CSS variables,
so the charts follow the light and dark themes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from compute.models import VmMetric
from compute.selectors import vm_get
from compute.selectors_metrics import DEFAULT_PERIOD, PERIODS, MetricsSeries, vm_metrics_series
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 90, 8, 10, 24
# Points further apart than this many resolutions are not joined: the VM was off or not sampled.
GAP_FACTOR = 2.5

PERIOD_LABELS = {"1h": gettext_lazy("1 hour"), "1d": gettext_lazy("1 day"), "1w": gettext_lazy("1 week")}
COLOURS = ("var(--primary)", "var(--green-solid)")


def _bytes(value: float, suffix: str = "") -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    index = 0
    while abs(value) >= 1024 and index < len(units) - 1:
        value /= 1024.0
        index += 1
    return f"{value:.1f} {units[index]}{suffix}" if index else f"{value:.0f} {units[index]}{suffix}"


def _rate(value: float) -> str:
    return _bytes(value, "/s")


def _percent(value: float) -> str:
    return f"{value:.1f} %"


def _memory(kib: float) -> str:
    return _bytes(kib * 1024.0)


def _per_second(value: float) -> str:
    return f"{value:.1f}/s"


def _nice_ceiling(value: float) -> float:
    """A round axis maximum at or above value (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _binary_ceiling(value: float) -> float:
    """A round axis maximum for a byte quantity: the next power of two (512 MiB, 2 KiB/s ...)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power < value:
        power *= 2
    return power


@dataclass
class Line:
    label: str
    colour: str
    segments: list[str] = field(default_factory=list)  # SVG polyline "x,y x,y" strings
    latest: str = ""
    peak: str = ""


@dataclass
class Chart:
    key: str
    title: str
    lines: list[Line]
    y_max_label: str
    y_mid_label: str
    summary: str
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def plot_mid(self) -> int:
        return (self.plot_top + self.plot_bottom) // 2


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    fields: tuple[tuple[str, str], ...]  # (VmMetric field, line label)
    fmt: Callable[[float], str]
    fixed_max: float | None = None
    binary: bool = False  # a byte quantity: its axis ends on a power of two


MEASURES = (
    Measure("cpu", gettext_lazy("CPU"), (("cpu_percent", gettext_lazy("CPU used")),), _percent, fixed_max=100.0),
    Measure("memory", gettext_lazy("Memory"), (("memory_used_kib", gettext_lazy("Used")),
                                               ("memory_total_kib", gettext_lazy("Total"))), _memory, binary=True),
    Measure("disk", gettext_lazy("Disk throughput"), (("disk_read_bps", gettext_lazy("Read")),
                                                      ("disk_write_bps", gettext_lazy("Write"))), _rate, binary=True),
    Measure("iops", gettext_lazy("Disk operations"), (("disk_read_iops", gettext_lazy("Reads")),
                                                      ("disk_write_iops", gettext_lazy("Writes"))), _per_second),
    Measure("network", gettext_lazy("Network"), (("net_rx_bps", gettext_lazy("Received")),
                                                 ("net_tx_bps", gettext_lazy("Sent"))), _rate, binary=True),
)


def _x(at: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    return LEFT + (WIDTH - LEFT - RIGHT) * min(max((at - start).total_seconds() / span, 0.0), 1.0)


def _y(value: float, y_max: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(max(value / y_max, 0.0), 1.0)


def _segments(points: Sequence[VmMetric], name: str, series: MetricsSeries, y_max: float) -> list[str]:
    """The line as polylines, broken where samples are missing; a lone point becomes a short dash."""
    segments: list[list[tuple[float, float]]] = []
    previous: VmMetric | None = None
    for point in points:
        gap = max(point.resolution, previous.resolution if previous else 0, 1) * GAP_FACTOR
        if previous is None or (point.at - previous.at).total_seconds() > gap:
            segments.append([])
        segments[-1].append((_x(point.at, series.start, series.end), _y(float(getattr(point, name)), y_max)))
        previous = point
    lines = []
    for segment in segments:
        if len(segment) == 1:
            x, y = segment[0]
            segment = [(max(x - 1.5, LEFT), y), (x, y)]
        lines.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in segment))
    return lines


def build_chart(measure: Measure, series: MetricsSeries) -> Chart:
    points = series.points
    peak = max((float(getattr(p, name)) for p in points for name, _label in measure.fields), default=0.0)
    y_max = measure.fixed_max or (_binary_ceiling(peak) if measure.binary else _nice_ceiling(peak))
    lines = []
    for index, (name, label) in enumerate(measure.fields):
        values = [float(getattr(p, name)) for p in points]
        lines.append(Line(label=str(label), colour=COLOURS[index % len(COLOURS)],
                          segments=_segments(points, name, series, y_max),
                          latest=measure.fmt(values[-1]) if values else "",
                          peak=measure.fmt(max(values)) if values else ""))
    summary = "; ".join(_("%(line)s: latest %(latest)s, peak %(peak)s") % {
        "line": line.label, "latest": line.latest, "peak": line.peak} for line in lines)
    return Chart(key=measure.key, title=str(measure.title), lines=lines, y_max_label=measure.fmt(y_max),
                 y_mid_label=measure.fmt(y_max / 2), summary=f"{measure.title}: {summary}")


@require_safe
@requires("vm.metrics")
@http_errors
def vm_metrics(request: HttpRequest, vm_id: str) -> HttpResponse:
    vm = vm_get(caller=request.user, vm_id=vm_id)
    period = request.GET.get("period")
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    series = vm_metrics_series(caller=request.user, vm=vm, period=period)
    htmx = getattr(request, "htmx", None)
    template = "compute/_vm_metrics.html" if htmx and not htmx.boosted else "compute/vm_metrics.html"
    return render(request, template, {
        "vm": vm,
        "series": series,
        "charts": [build_chart(measure, series) for measure in MEASURES] if series.points else [],
        "periods": [(name, PERIOD_LABELS[name]) for name in PERIODS],
        "width": WIDTH,
        "height": HEIGHT,
    })
