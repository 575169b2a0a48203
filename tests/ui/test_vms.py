"""VM pages of the web UI, driven through Django's test client; jobs run for real on libvirt's test driver."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from compute.models import VirtualMachine
from infrastructure import hypervisor as hv
from portal.models import AsyncJob
from storage.models import Volume
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def deploy_data(cloud, **overrides):
    """Every answer of the deploy wizard at once, as its review page posts them (the steps one by one are
    tests/ui/test_vm_deploy_wizard.py)."""
    data = {"zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
            "template": str(cloud.template.uuid), "name": "web1", "display_name": "Web one", "start_vm": "on",
            "wizard_step": "review", "wizard_goto": "deploy"}
    data.update(overrides)
    return data


def job_of(response) -> AsyncJob:
    match = re.fullmatch(r"/jobs/([0-9a-f-]{36})/", response.url)
    assert match, response.url
    return AsyncJob.objects.get(uuid=match.group(1))


# --- list -----------------------------------------------------------------------------------------------

def test_vm_list_is_scoped_to_the_caller(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "alice-vm")
    deploy_vm(cloud.bob, "bob-vm")

    alice_html = login(cloud.alice).get(reverse("compute:vm_list")).content.decode()
    admin_html = login(cloud.admin).get(reverse("compute:vm_list")).content.decode()

    assert "alice-vm" in alice_html and "bob-vm" not in alice_html
    assert "alice-vm" in admin_html and "bob-vm" in admin_html
    # Root admins see the host column; users do not.
    assert cloud.host.name in admin_html and cloud.host.name not in alice_html


def test_vm_list_shows_columns_and_pending_job_link(cloud, login, deploy_vm):
    done = deploy_vm(cloud.alice, "done-vm", display_name="Finished one")
    busy = deploy_vm(cloud.alice, "busy-vm", run=False)  # its deploy job is still pending
    job = AsyncJob.objects.get(instance_id=str(busy.uuid))

    html = login(cloud.alice).get(reverse("compute:vm_list")).content.decode()

    for text in ("Finished one", cloud.zone.name, cloud.offering.name, cloud.template.name, "Running",
                 "Starting", reverse("compute:vm_detail", args=[done.uuid])):
        assert text in html
    assert html.count('class="pending-job"') == 1
    assert reverse("ui:job_detail", args=[job.uuid]) in html


def listed_vm_names(html: str) -> list[str]:
    return re.findall(r'<a href="/vms/[0-9a-f-]{36}/"><strong>([^<]+)</strong></a>', html)


def test_vm_list_filters_by_state_and_keyword(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")
    stopped = deploy_vm(cloud.alice, "db1", start_vm=False)
    assert stopped.state == "Stopped"
    client = login(cloud.alice)

    by_state = client.get(reverse("compute:vm_list"), {"state": "Stopped"}).content.decode()
    by_name = client.get(reverse("compute:vm_list"), {"q": "web"}).content.decode()

    # Names from the rows, not substrings of the page: a VM's uuid may contain "db1" too.
    assert listed_vm_names(by_state) == ["db1"]
    assert listed_vm_names(by_name) == ["web1"]


def test_vm_list_paginates(cloud, login, deploy_vm):
    for i in range(22):
        deploy_vm(cloud.alice, f"vm{i:02d}", start_vm=False)
    client = login(cloud.alice)

    first = client.get(reverse("compute:vm_list")).content.decode()
    second = client.get(reverse("compute:vm_list"), {"page": 2}).content.decode()

    detail_link = re.compile(r'href="/vms/[0-9a-f-]{36}/"')
    assert len(detail_link.findall(first)) == 20 and len(detail_link.findall(second)) == 2
    assert "Page 1 of 2" in first and "page=2" in first
    assert "vm00" in second and "vm00" not in first  # newest first


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_vm_list_query_count_does_not_grow_with_rows(cloud, login, deploy_vm, who):
    client = login(getattr(cloud, who))
    deploy_vm(cloud.alice, "vm0")
    deploy_vm(cloud.alice, "vm1", run=False)

    def add() -> None:
        for i in range(2, 10):
            deploy_vm(cloud.alice, f"vm{i}", run=i % 2 == 0)

    small, large = assert_queries_constant(lambda: ok(client.get(reverse("compute:vm_list"))), add, warm=False)

    html = small.content.decode()
    assert "vm0" in html and "vm1" in html
    html = large.content.decode()
    assert all(f"vm{i}<" in html for i in range(10))
    assert html.count('class="pending-job"') == 5


# --- detail ---------------------------------------------------------------------------------------------

def test_vm_detail_shows_buttons_valid_for_the_state(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1")
    client = login(cloud.alice)

    html = client.get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()
    assert reverse("compute:vm_stop", args=[vm.uuid]) in html
    assert reverse("compute:vm_reboot", args=[vm.uuid]) in html
    assert reverse("compute:vm_destroy", args=[vm.uuid]) in html
    assert reverse("compute:vm_start", args=[vm.uuid]) not in html

    with run_jobs():
        client.post(reverse("compute:vm_stop", args=[vm.uuid]))
    html = client.get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()
    assert reverse("compute:vm_start", args=[vm.uuid]) in html
    assert reverse("compute:vm_destroy", args=[vm.uuid]) in html
    assert reverse("compute:vm_stop", args=[vm.uuid]) not in html
    assert reverse("compute:vm_reboot", args=[vm.uuid]) not in html


def test_another_accounts_vm_is_not_found(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.bob, "bob-vm")
    client = login(cloud.alice)

    assert client.get(reverse("compute:vm_detail", args=[vm.uuid])).status_code == 404
    assert client.get(reverse("compute:vm_detail", args=["not-a-uuid"])).status_code == 404
    assert client.post(reverse("compute:vm_stop", args=[vm.uuid])).status_code == 404
    vm.refresh_from_db()
    assert vm.state == "Running"
    assert login(cloud.admin).get(reverse("compute:vm_detail", args=[vm.uuid])).status_code == 200


# --- deploy ---------------------------------------------------------------------------------------------

def test_deploy_starts_with_the_zones_the_caller_may_use(cloud, login):
    disabled = factories.ZoneFactory(name="closed-zone", allocation_state="Disabled")

    html = login(cloud.alice).get(reverse("compute:vm_deploy")).content.decode()

    assert str(cloud.zone.uuid) in html
    assert str(disabled.uuid) not in html


def test_deploy_happy_path_runs_the_vm_and_shows_the_job(cloud, login, run_jobs):
    client = login(cloud.alice)

    with run_jobs():
        response = client.post(reverse("compute:vm_deploy"), deploy_data(cloud))

    assert response.status_code == 302
    vm = VirtualMachine.objects.get(name="web1")
    assert response.url == reverse("compute:vm_detail", args=[vm.uuid])
    job = AsyncJob.objects.get(instance_id=str(vm.uuid))
    assert (vm.account, vm.display_name, vm.state) == (cloud.alice.account, "Web one", "Running")
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING
    assert job.status == AsyncJob.Status.SUCCEEDED and job.instance_id == str(vm.uuid)

    assert client.get(response.url).status_code == 200
    page = client.get(reverse("ui:job_detail", args=[job.uuid]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Succeeded" in html and "Completed successfully." in html
    assert reverse("compute:vm_detail", args=[vm.uuid]) in html
    assert 'http-equiv="refresh"' not in html


def test_deploy_without_start_leaves_the_vm_stopped(cloud, login, run_jobs):
    with run_jobs():
        response = login(cloud.alice).post(reverse("compute:vm_deploy"),
                                           deploy_data(cloud, start_vm=""))
    assert response.status_code == 302
    assert VirtualMachine.objects.get(name="web1").state == "Stopped"


def test_deploy_without_capacity_shows_the_error_and_creates_nothing(cloud, login, run_jobs):
    cloud.offering.memory = 16 * 1024
    cloud.offering.save()

    with run_jobs():
        response = login(cloud.alice).post(reverse("compute:vm_deploy"), deploy_data(cloud, name="huge"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "alert-error" in html
    assert f"No host in zone {cloud.zone.name} has room" in html
    assert not VirtualMachine.objects.exists()
    assert not Volume.objects.exists()
    assert not AsyncJob.objects.exists()
    cloud.host.refresh_from_db()
    assert (cloud.host.cpu_allocated, cloud.host.memory_allocated) == (0, 0)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "-bad name-"}, "name"),
    ({"service_offering": "00000000-0000-0000-0000-000000000000"}, "service_offering"),
    ({"zone": ""}, "zone"),
])
def test_deploy_validation_errors_are_shown_inline(cloud, login, overrides, field):
    response = login(cloud.alice).post(reverse("compute:vm_deploy"), deploy_data(cloud, **overrides))

    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not VirtualMachine.objects.exists()


def test_deploy_of_another_accounts_private_template_is_refused(cloud, login):
    private = factories.TemplateFactory(is_public=False, account=cloud.bob.account,
                                        domain=cloud.bob.account.domain)

    response = login(cloud.alice).post(reverse("compute:vm_deploy"),
                                       deploy_data(cloud, template=str(private.uuid)))

    assert response.status_code == 200
    assert 'id="id_template_error"' in response.content.decode()
    assert not VirtualMachine.objects.exists()


# --- actions --------------------------------------------------------------------------------------------

def test_stop_start_reboot_destroy_through_the_ui(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1")
    client = login(cloud.alice)

    def act(action: str, **data) -> AsyncJob:
        with run_jobs():
            response = client.post(reverse(f"compute:vm_{action}", args=[vm.uuid]), data)
        assert response.status_code == 302
        job = job_of(response)
        assert job.status == AsyncJob.Status.SUCCEEDED, job.result
        assert client.get(response.url).status_code == 200
        vm.refresh_from_db()
        return job

    assert act("stop").cmd == "stopVirtualMachine"
    assert vm.state == "Stopped"
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.SHUTOFF

    act("start")
    assert vm.state == "Running"
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.RUNNING

    assert act("reboot").cmd == "rebootVirtualMachine"
    assert vm.state == "Running"

    assert act("stop", forced="1").params["forced"] is True
    act("start")

    act("destroy")
    assert vm.state == "Destroyed"
    assert hv.domain_state(cloud.host.url, vm.instance_name) == hv.DomainState.MISSING


def test_invalid_action_shows_the_error_and_changes_nothing(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")
    client = login(cloud.alice)
    jobs_before = AsyncJob.objects.count()

    response = client.post(reverse("compute:vm_start", args=[vm.uuid]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("compute:vm_detail", args=[vm.uuid])
    assert "alert-error" in response.content.decode()
    assert "StartRequested is not possible" in response.content.decode()
    vm.refresh_from_db()
    assert vm.state == "Running"
    assert AsyncJob.objects.count() == jobs_before


@pytest.mark.parametrize("action", ["start", "stop", "reboot", "destroy"])
def test_get_on_an_action_url_is_405_and_changes_nothing(cloud, login, deploy_vm, run_jobs, action):
    vm = deploy_vm(cloud.alice, "web1")
    jobs_before = AsyncJob.objects.count()

    with run_jobs():
        response = login(cloud.alice).get(reverse(f"compute:vm_{action}", args=[vm.uuid]))

    assert response.status_code == 405
    vm.refresh_from_db()
    assert vm.state == "Running"
    assert AsyncJob.objects.count() == jobs_before


def test_actions_need_the_csrf_token(cloud, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cloud.alice)

    with run_jobs():
        refused = client.post(reverse("compute:vm_stop", args=[vm.uuid]))
    assert refused.status_code == 403
    vm.refresh_from_db()
    assert vm.state == "Running"

    # The detail page's form carries the token, and with it the same POST works.
    html = client.get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    with run_jobs():
        accepted = client.post(reverse("compute:vm_stop", args=[vm.uuid]), {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    vm.refresh_from_db()
    assert vm.state == "Stopped"


def test_deploy_needs_the_csrf_token(cloud, run_jobs):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cloud.alice)

    with run_jobs():
        response = client.post(reverse("compute:vm_deploy"), deploy_data(cloud))

    assert response.status_code == 403
    assert not VirtualMachine.objects.exists()
