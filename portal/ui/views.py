"""Web UI pages that are not about one kind of resource: dashboard and async jobs.

Reads go through selectors (already scoped to the caller); nothing here writes or checks roles.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from compute.selectors import VmFilters, vm_get, vm_list
from compute.states import VmState
from portal.errors import NotFound
from portal.models import AsyncJob
from portal.selectors import event_list, job_get, job_list
from portal.ui.shortcuts import (
    VM_INSTANCE_TYPE,
    cmd_label,
    http_errors,
    job_rows,
    paginate,
    querystring_without_page,
)

# States shown on the dashboard even when the caller has no VM in them.
ALWAYS_SHOWN_STATES = (VmState.RUNNING, VmState.STOPPED)
HIDDEN_FROM_TOTAL = (VmState.DESTROYED, VmState.EXPUNGING)


@require_safe
@login_required
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
    })


@require_safe
@login_required
@http_errors
def jobs(request: HttpRequest) -> HttpResponse:
    page = paginate(request, job_list(caller=request.user))
    return render(request, "ui/job_list.html", {
        "page": page,
        "rows": job_rows(caller=request.user, jobs=page.object_list),
        "querystring": querystring_without_page(request),
    })


@require_safe
@login_required
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
