"""Reads of jobs and events, scoped to the caller's tenancy."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from portal.authz import authorize, scope
from portal.lookup import get_by_uuid
from portal.models import AsyncJob, Event


def job_list(*, caller: User, pending_only: bool = False) -> QuerySet[AsyncJob]:
    authorize(caller, "job.list")
    jobs = scope(caller, AsyncJob.objects.select_related("account", "domain", "user"))
    if pending_only:
        jobs = jobs.filter(status=AsyncJob.Status.PENDING)
    return jobs


def job_get(*, caller: User, job_id: str) -> AsyncJob:
    authorize(caller, "job.view")
    return get_by_uuid(job_list(caller=caller), job_id, _("an async job"))


def event_list(*, caller: User) -> QuerySet[Event]:
    authorize(caller, "event.list")
    return scope(caller, Event.objects.select_related("account", "domain", "user"))
