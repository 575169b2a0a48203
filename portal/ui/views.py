"""Web UI pages that are not about one kind of resource: dashboard, async jobs and events.

Reads go through selectors (already scoped to the caller); nothing here writes or checks roles.
"""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_safe

from compute.selectors import VmFilters, vm_get, vm_list
from compute.states import VmState
from infrastructure.selectors import zone_list
from portal.authz import can
from portal.errors import NotFound
from portal.models import AsyncJob
from portal.selectors import event_list, job_get, job_list
from portal.ui.access import requires
from portal.ui.capacity import dashboard_summary
from portal.ui.shortcuts import VM_INSTANCE_TYPE, cmd_label, http_errors, job_rows
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

# States shown on the dashboard even when the caller has no VM in them.
ALWAYS_SHOWN_STATES = (VmState.RUNNING, VmState.STOPPED)
HIDDEN_FROM_TOTAL = (VmState.DESTROYED, VmState.EXPUNGING)


@require_safe
@requires("dashboard.view")
@http_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    counts = dict(
        vm_list(caller=request.user, filters=VmFilters(include_destroyed=True))
        .order_by().values_list("state").annotate(n=Count("id"))
    )
    states = [
        {"state": state.value, "label": state.label, "count": counts.get(state.value, 0)}
        for state in VmState
        if counts.get(state.value) or state in ALWAYS_SHOWN_STATES
    ]
    total = sum(n for state, n in counts.items() if state not in HIDDEN_FROM_TOTAL)
    return render(request, "ui/dashboard.html", {
        "total": total,
        "states": states,
        "jobs": job_rows(caller=request.user, jobs=job_list(caller=request.user)[:5]),
        "events": event_list(caller=request.user)[:10],
        # A fresh install: root admins are invited to the setup wizard (portal.ui.setup_wizard).
        "offer_setup": can(request.user, "infrastructure.setup") and not zone_list(caller=request.user).exists(),
        # Root admins also see the cloud's capacity at a glance (portal.ui.capacity).
        "capacity_bars": dashboard_summary(request.user) if can(request.user, "capacity.list") else None,
    })


JOB_TABLE = TableSpec(
    id="job-table",
    columns=(
        Column("job", _("Job"), ("cmd",)),
        Column("status", _("Status"), ("status",)),
        Column("progress", _("Progress"), ("progress",), css="hide-sm"),
        Column("object", _("Object")),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-sm"),
        Column("completed", pgettext_lazy("timestamp", "Completed"), ("completed",), css="hide-sm"),
    ),
    default_sort="-created",
    search_fields=("cmd", "instance_id"),
    search_placeholder=_("Search by command or object id"),
)

EVENT_TABLE = TableSpec(
    id="event-table",
    columns=(
        Column("time", _("Time"), ("created",)),
        Column("level", _("Level"), ("level",)),
        Column("type", _("Type"), ("type",)),
        Column("state", _("State"), ("state",), css="hide-sm"),
        Column("description", _("Description")),
        Column("account", _("Account"), ("account__name",), css="hide-sm"),
        Column("user", _("User"), ("user__username",), css="hide-md"),
    ),
    default_sort="-time",
    search_fields=("type", "description", "account__name", "user__username"),
    search_placeholder=_("Search by type, text, account or user"),
)


@require_safe
@requires("job.list")
@http_errors
def jobs(request: HttpRequest) -> HttpResponse:
    table = build_table(JOB_TABLE, parse_query(request, JOB_TABLE), job_list(caller=request.user),
                        rows=lambda page: job_rows(caller=request.user, jobs=page))
    return render_table(request, table, "ui/job_list.html", "ui/_job_table.html")


@require_safe
@requires("event.list")
@http_errors
def events(request: HttpRequest) -> HttpResponse:
    """Every event the caller may see: a domain admin's whole subtree, everything for a root admin."""
    table = build_table(EVENT_TABLE, parse_query(request, EVENT_TABLE), event_list(caller=request.user))
    return render_table(request, table, "ui/event_list.html", "ui/_event_table.html")


@require_safe
@requires("job.view")
@http_errors
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = job_get(caller=request.user, job_id=job_id)
    vm = None
    if job.instance_type == VM_INSTANCE_TYPE and job.instance_id:
        try:
            vm = vm_get(caller=request.user, vm_id=job.instance_id)
        except NotFound:
            vm = None  # removed meanwhile, or owned by someone the caller may not see
    result = job.result or {}
    return render(request, "ui/job_detail.html", {
        "job": job,
        "label": cmd_label(job.cmd),
        "vm": vm,
        "pending": job.status == AsyncJob.Status.PENDING,
        "succeeded": job.status == AsyncJob.Status.SUCCEEDED,
        "error_code": result.get("errorcode"),
        "error_text": result.get("errortext", ""),
        "result_text": result.get("text", ""),
        "events": event_list(caller=request.user).filter(job=job).order_by("created", "id"),
    })
