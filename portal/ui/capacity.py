"""The capacity dashboard of the web UI, for root admins: each zone's CPU, memory and storage as bars, then
drilling into its pods, their clusters and the clusters' hosts.

Figures come from infrastructure.selectors_capacity (which authorizes the caller). Bars are server-rendered
SVG, no script: each shows what is used against the total (overprovisioning applied) and a marker at the
disable threshold; the table under them says the same in text for screen readers and copy-paste.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from accounts.models import User
from infrastructure.selectors_capacity import LEVELS, Capacity, capacity_list, capacity_summary
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

LEVEL_LABELS = {"zone": gettext_lazy("Zones"), "pod": gettext_lazy("Pods"), "cluster": gettext_lazy("Clusters"),
                "host": gettext_lazy("Hosts")}
# Where a row drills into: the next level down, filtered by the row's object.
NEXT_LEVEL = {"zone": "pod", "pod": "cluster", "cluster": "host"}


def amount(capacity: Capacity, value: int) -> str:
    if capacity.unit == "MHz":
        return _("%(value)s MHz") % {"value": f"{value:,}"}
    return str(filesizeformat(value))


@dataclass(frozen=True)
class Bar:
    """One capacity as the template draws it: SVG geometry in percent of the bar's width, and its text."""

    capacity: Capacity
    width: float  # used, in % of the total, capped at 100 for drawing
    threshold_x: float | None
    used_text: str
    total_text: str
    actual_text: str
    summary: str  # the accessible name of the chart


def bar_for(capacity: Capacity) -> Bar:
    used, total = amount(capacity, capacity.used), amount(capacity, capacity.total)
    summary = _("%(label)s: %(used)s of %(total)s used (%(percent)s%%).") % {
        "label": capacity.label, "used": used, "total": total, "percent": f"{capacity.percent_used:.2f}"}
    if capacity.threshold is not None:
        summary += " " + _("Disable threshold %(threshold)s%%.") % {"threshold": f"{capacity.threshold_percent:g}"}
        if capacity.threshold_crossed:
            summary += " " + _("Threshold crossed.")
    return Bar(capacity=capacity, width=min(capacity.percent_used, 100.0),
               threshold_x=capacity.threshold_percent, used_text=used, total_text=total,
               actual_text=amount(capacity, capacity.actual), summary=summary)


@dataclass
class Group:
    """The bars of one zone, pod, cluster or host."""

    owner: Any
    drill_url: str | None
    bars: list[Bar] = field(default_factory=list)

    @property
    def crossed(self) -> bool:
        return any(bar.capacity.threshold_crossed for bar in self.bars)


def _groups(rows: list[Capacity], level: str) -> list[Group]:
    groups: dict[tuple[str, int], Group] = {}
    following = NEXT_LEVEL.get(level)
    for capacity in rows:
        owner = capacity.owner
        key = (level, owner.pk)
        if key not in groups:
            drill = f"?level={following}&{level}={owner.uuid}" if following else None
            groups[key] = Group(owner=owner, drill_url=drill)
        groups[key].bars.append(bar_for(capacity))
    return list(groups.values())


def _trail(rows: list[Capacity], request: HttpRequest) -> list[tuple[str, str]]:
    """Breadcrumbs back up the drill-down, (label, query string): Zones, then the zone, pod and cluster the
    page is narrowed to (named from the rows, so no extra query); the last is the current page."""
    trail = [(str(LEVEL_LABELS["zone"]), "?level=zone")]
    if not rows:
        return trail
    first = rows[0]
    if any(request.GET.get(key) for key in ("zone", "pod", "cluster")):
        trail.append((first.zone.name, f"?level=pod&zone={first.zone.uuid}"))
    if first.pod is not None and any(request.GET.get(key) for key in ("pod", "cluster")):
        trail.append((first.pod.name, f"?level=cluster&pod={first.pod.uuid}"))
    if first.cluster is not None and request.GET.get("cluster"):
        trail.append((first.cluster.name, f"?level=host&cluster={first.cluster.uuid}"))
    return trail


@require_safe
@requires("capacity.list")
@http_errors
def capacity(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level") if request.GET.get("level") in LEVELS else "zone"
    rows = capacity_list(caller=request.user, level=level, zone_id=request.GET.get("zone") or None,
                         pod_id=request.GET.get("pod") or None, cluster_id=request.GET.get("cluster") or None)
    return render(request, "ui/capacity.html", {
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "groups": _groups(rows, level),
        "trail": _trail(rows, request),
        "drill_label": LEVEL_LABELS.get(NEXT_LEVEL.get(level, ""), ""),
    })


def dashboard_summary(caller: User) -> list[Bar]:
    """The whole cloud's bars for the admin dashboard (the caller may see capacity: checked by the caller)."""
    return [bar_for(capacity) for capacity in capacity_summary(caller=caller)]
