"""Jobs executed by a real worker process (not eagerly): routing to the host queue, persistence of a job
submitted while no worker runs, and the simulator host restoring its VMs when its agent restarts."""

from __future__ import annotations

import pytest

from compute import services
from portal.celery import app as celery_app
from portal.models import AsyncJob
from tests.support.agent import agent_process, shared_database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def real_broker():
    shared_database_url()  # skips (or fails in CI) unless the database can be shared
    celery_app.conf.task_always_eager = False
    yield


def job_done(job: AsyncJob):
    job.refresh_from_db()
    return job.is_done


def test_job_submitted_without_a_worker_runs_when_the_agent_starts(cloud, real_broker, tmp_path):
    vm, job = services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                 template=cloud.template, name="queued")
    # No worker yet: the job waits in the broker, persisted, like after a web restart.
    job.refresh_from_db()
    assert job.status == AsyncJob.Status.PENDING and job.queue == cloud.host.queue

    with agent_process(tmp_path, host_ids=[cloud.host.pk]) as agent:
        wait_for(lambda: job_done(job), timeout=60, what="the deploy job", process=agent)
        job.refresh_from_db()
        vm.refresh_from_db()
        assert job.status == AsyncJob.Status.SUCCEEDED, job.result
        assert vm.state == "Running"

        stop = services.vm_stop(caller=cloud.alice, vm=vm)
        wait_for(lambda: job_done(stop), timeout=60, what="the stop job", process=agent)
        vm.refresh_from_db()
        assert vm.state == "Stopped"


def test_simulator_host_restores_running_vms_after_agent_restart(cloud, real_broker, tmp_path):
    with agent_process(tmp_path, host_ids=[cloud.host.pk]) as agent:
        vm, job = services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                     template=cloud.template, name="survivor")
        wait_for(lambda: job_done(job), timeout=60, what="the deploy job", process=agent)
    vm.refresh_from_db()
    assert vm.state == "Running"

    # A new agent process starts with an empty test driver; it must recreate the running VM so a stop works.
    with agent_process(tmp_path, host_ids=[cloud.host.pk]) as agent:
        stop = services.vm_stop(caller=cloud.alice, vm=vm)
        wait_for(lambda: job_done(stop), timeout=60, what="the stop job", process=agent)
        stop.refresh_from_db()
        assert stop.status == AsyncJob.Status.SUCCEEDED, stop.result
        log = (tmp_path / "agent.log").read_text()
        assert f"restoring VM {vm.instance_name}" in log
