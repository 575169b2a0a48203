"""Celery entry points of the job engine. Routed per job: `host.<id>` queues carry hypervisor work."""

from celery import shared_task

from portal import jobs


@shared_task(name="cirrostack.run_job", acks_late=True)
def run_job(job_uuid: str) -> None:
    jobs.job_execute(job_uuid)
