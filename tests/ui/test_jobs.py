"""Dashboard and job pages of the web UI."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import AsyncJob

pytestmark = pytest.mark.django_db


def test_pending_job_and_vm_pages_follow_the_job_live_without_reloading(cloud, login, deploy_vm,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as enqueue:  # the job is submitted but not run yet
        vm = deploy_vm(cloud.alice, "web1", run=False)
    assert enqueue
    job = AsyncJob.objects.get(instance_id=str(vm.uuid))
    client = login(cloud.alice)

    pending = client.get(reverse("ui:job_detail", args=[job.uuid])).content.decode()
    assert "Pending" in pending and "deployVirtualMachine" in pending
    assert reverse("compute:vm_detail", args=[vm.uuid]) in pending
    # No self-refresh: static/js/live.js updates the marked elements from the WebSocket.
    assert 'http-equiv="refresh"' not in pending
    for marker in (f'data-job-status="{job.uuid}"', f'data-job-progress="{job.uuid}"',
                   f'data-job-pending="{job.uuid}"', f'data-vm-state="{vm.uuid}"', 'id="job-tray"'):
        assert marker in pending, marker

    # The VM page links the pending job and marks what live updates change.
    vm_page = client.get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()
    assert 'http-equiv="refresh"' not in vm_page
    assert reverse("ui:job_detail", args=[job.uuid]) in vm_page
    assert f'data-vm-state="{vm.uuid}"' in vm_page and f'data-job-pending="{job.uuid}"' in vm_page
    vm_list = client.get(reverse("compute:vm_list")).content.decode()
    assert f'data-vm-state="{vm.uuid}"' in vm_list and f'data-job-progress="{job.uuid}"' in vm_list

    for callback in enqueue:  # now the job runs (eager Celery, libvirt test driver)
        callback()
    done = client.get(reverse("ui:job_detail", args=[job.uuid])).content.decode()
    assert "Succeeded" in done and "100%" in done
    assert f'data-job-pending="{job.uuid}"' not in done


def test_failed_job_shows_the_error(cloud, login, deploy_vm):
    # A host whose libvirtd is gone: nothing listens on port 1.
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"
    cloud.host.save()
    vm = deploy_vm(cloud.alice, "web1")
    job = AsyncJob.objects.get(instance_id=str(vm.uuid))
    assert job.status == AsyncJob.Status.FAILED

    html = login(cloud.alice).get(reverse("ui:job_detail", args=[job.uuid])).content.decode()

    assert "Failed" in html
    assert "Error 530" in html
    assert job.result["errortext"].split(":")[0] in html
    assert 'http-equiv="refresh"' not in html


def test_jobs_are_scoped(cloud, login, deploy_vm):
    alice_vm = deploy_vm(cloud.alice, "alice-vm")
    bob_vm = deploy_vm(cloud.bob, "bob-vm")
    alice_job = AsyncJob.objects.get(instance_id=str(alice_vm.uuid))
    bob_job = AsyncJob.objects.get(instance_id=str(bob_vm.uuid))
    client = login(cloud.alice)

    listing = client.get(reverse("ui:job_list")).content.decode()
    assert str(alice_job.uuid) in listing and "alice-vm" in listing
    assert str(bob_job.uuid) not in listing and "bob-vm" not in listing
    assert client.get(reverse("ui:job_detail", args=[bob_job.uuid])).status_code == 404
    assert client.get(reverse("ui:job_detail", args=["nonsense"])).status_code == 404
    assert login(cloud.admin).get(reverse("ui:job_detail", args=[bob_job.uuid])).status_code == 200


def test_dashboard_counts_the_callers_vms_by_state(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "run1")
    deploy_vm(cloud.alice, "run2")
    deploy_vm(cloud.alice, "stop1", start_vm=False)
    for i in range(3):
        deploy_vm(cloud.bob, f"bob{i}")

    response = login(cloud.alice).get(reverse("ui:dashboard"))

    assert response.status_code == 200
    counts = {item["state"]: item["count"] for item in response.context["states"]}
    assert counts["Running"] == 2 and counts["Stopped"] == 1
    assert response.context["total"] == 3
    html = response.content.decode()
    assert "Deploying VM run1" in html  # recent events
    assert "bob0" not in html
    assert len(response.context["jobs"]) == 3


def test_dashboard_for_admin_counts_everyone(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "run1")
    deploy_vm(cloud.bob, "run2")

    response = login(cloud.admin).get(reverse("ui:dashboard"))

    assert response.context["total"] == 2
