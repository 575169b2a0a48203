"""The async job engine: CloudStack's job semantics over Celery.

A service submits a job inside its transaction; the Celery message is published only after commit, so a
worker never sees a job whose rows are not there yet. The job row is the source of truth that every door
reads (queryAsyncJobResult, GET /api/v1/jobs/<id>, the UI), so a job outlives a web restart.
A handler is a function `handler(job) -> JobOutcome` named by dotted path; it runs in a worker.
Every change of a job row stamps `updated` and tells portal.live, which pushes it to browsers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import Account, User
from portal import live
from portal.errors import ServiceError
from portal.events import event_emit
from portal.models import AsyncJob, Event

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "cirrostack"


@dataclass(frozen=True)
class JobOutcome:
    """What a successful job produced: an object (rendered by each door) or a text."""

    object_type: str = ""
    object_id: str = ""
    text: str = ""

    @classmethod
    def of(cls, obj: Model) -> JobOutcome:
        return cls(object_type=obj._meta.model_name, object_id=str(obj.uuid))


class JobDeferred(Exception):
    """Raised by a handler that waits for other jobs (e.g. an account cleanup waiting for its VMs' destroy
    jobs on their hosts): the job stays pending and runs again after `countdown` seconds, so nothing blocks
    a worker or a web request. The handler's own writes before raising are kept."""

    def __init__(self, countdown: float = 2.0, progress: int | None = None) -> None:
        super().__init__(countdown)
        self.countdown, self.progress = countdown, progress


def job_submit(
    *,
    caller: User,
    account: Account,
    cmd: str,
    handler: str,
    instance: Model,
    event_type: str,
    description: str,
    queue: str = DEFAULT_QUEUE,
    params: dict | None = None,
) -> AsyncJob:
    """Record a pending job and its Scheduled event; enqueue it once the surrounding transaction commits."""
    job = AsyncJob.objects.create(
        account=caller.account or account,
        domain_id=(caller.account or account).domain_id,
        user=caller,
        cmd=cmd,
        handler=handler,
        params={"event_type": event_type, "description": description, "resource_account": account.pk,
                **(params or {})},
        queue=queue,
        instance_type=instance._meta.model_name,
        instance_id=str(instance.uuid),
    )
    event_emit(type=event_type, description=description, account=account, user=caller,
               state=Event.State.SCHEDULED, job=job, resource=instance)
    live.job_changed(job.pk)  # before the enqueue: an eager run publishes its own changes after this one
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: AsyncJob, countdown: float | None = None) -> None:
    from portal.tasks import run_job

    run_job.apply_async(args=[str(job.uuid)], queue=job.queue, countdown=countdown)


def job_progress(job: AsyncJob, percent: int) -> None:
    percent = max(0, min(100, int(percent)))
    AsyncJob.objects.filter(pk=job.pk).update(progress=percent, updated=timezone.now())
    job.progress = percent
    live.job_changed(job.pk)


def job_execute(job_uuid: str) -> AsyncJob | None:
    """Run a pending job's handler and record the outcome. Safe to call twice: a finished job is left alone.

    Messages name jobs by uuid, so a stale message left in a broker can never run another database's job.
    """
    job = AsyncJob.objects.select_related("account", "user").filter(uuid=job_uuid).first()
    if job is None:
        logger.warning("job %s vanished before it ran", job_uuid)
        return None
    if job.is_done:
        return job
    resource_account = Account.objects.get(pk=job.params.get("resource_account", job.account_id))
    event_type = job.params.get("event_type", job.cmd)
    description = job.params.get("description", job.cmd)
    now = timezone.now()
    first_run = job.started is None
    AsyncJob.objects.filter(pk=job.pk).update(started=job.started or now, updated=now)
    live.job_changed(job.pk)
    if first_run:  # a deferred job runs again; it started once
        event_emit(type=event_type, description=description, account=resource_account, user=job.user,
                   state=Event.State.STARTED, job=job)
    handler: Callable[[AsyncJob], JobOutcome] = import_string(job.handler)
    try:
        outcome = handler(job)
    except JobDeferred as deferred:
        _defer(job, deferred)
        return job
    except ServiceError as exc:
        _finish_failed(job, exc.errorcode, exc.message, resource_account, event_type)
    except Exception as exc:
        # A bug or an unexpected hypervisor failure: the job must still end, or clients poll forever.
        logger.exception("job %s (%s) crashed", job.uuid, job.handler)
        _finish_failed(job, 530, _("Internal error: %(error)s") % {"error": exc}, resource_account, event_type)
    else:
        _finish_succeeded(job, outcome, resource_account, event_type, description)
    job.refresh_from_db()
    return job


def _defer(job: AsyncJob, deferred: JobDeferred) -> None:
    if deferred.progress is not None:
        job_progress(job, deferred.progress)
    transaction.on_commit(lambda: _enqueue(job, countdown=deferred.countdown))


def _finish_succeeded(job: AsyncJob, outcome: JobOutcome, account: Account, event_type: str,
                      description: str) -> None:
    if outcome.object_type:
        result, result_type = {"object": outcome.object_type, "id": outcome.object_id}, "object"
    else:
        result, result_type = {"text": outcome.text}, "text"
    now = timezone.now()
    AsyncJob.objects.filter(pk=job.pk).update(
        status=AsyncJob.Status.SUCCEEDED, progress=100, result_code=0, result_type=result_type,
        result=result, completed=now, updated=now,
    )
    live.job_changed(job.pk)
    event_emit(type=event_type, description=_("Completed: %(what)s") % {"what": description},
               account=account, user=job.user, state=Event.State.COMPLETED, job=job)


def _finish_failed(job: AsyncJob, errorcode: int, message: str, account: Account, event_type: str) -> None:
    now = timezone.now()
    AsyncJob.objects.filter(pk=job.pk).update(
        status=AsyncJob.Status.FAILED, result_code=530, result_type="object",
        result={"errorcode": errorcode, "errortext": message}, completed=now, updated=now,
    )
    live.job_changed(job.pk)
    event_emit(type=event_type, description=_("Failed: %(error)s") % {"error": message}, account=account,
               user=job.user, state=Event.State.COMPLETED, level=Event.Level.ERROR, job=job)
