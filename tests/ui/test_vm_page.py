"""The VM page (tabs, action buttons per state and role, the action form pages) and the admins' VM list."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse

from compute.models import ServiceOffering, VirtualMachine
from portal.models import AsyncJob
from tests import factories

pytestmark = pytest.mark.django_db


def page(client, vm, tab: str = "overview") -> str:
    response = client.get(reverse("compute:vm_detail", args=[vm.uuid]), {"tab": tab})
    assert response.status_code == 200
    return response.content.decode()


def actions_on(html: str) -> set[str]:
    return set(re.findall(r'data-vm-action="([a-z_]+)"', html))


def route(name: str, vm) -> str | None:
    try:
        return reverse(f"compute:vm_{name}", args=[vm.uuid])
    except NoReverseMatch:  # an action whose service has not landed in this checkout
        return None


# --- tabs -----------------------------------------------------------------------------------------------

def test_every_tab_renders_its_section(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1", display_name="Web one", group="frontend")
    client = login(cloud.alice)

    overview = page(client, vm)
    for text in ("Web one", cloud.zone.name, cloud.offering.name, "1 vCPU, 1000 MHz, 512 MiB", cloud.template.name,
                 "frontend", 'aria-current="page" data-tab="overview"', "vm-sharing"):
        assert text in overview
    assert cloud.host.name not in overview  # hosts are for root admins

    volumes = page(client, vm, "volumes")
    assert f"ROOT-{vm.pk}" in volumes and "64.0\xa0MB" in volumes

    nics = page(client, vm, "nics")
    assert "has no network interfaces yet" in nics

    events = page(client, vm, "events")
    assert "Created VM web1" in events

    for tab, name in (("snapshots", "compute:vm_snapshots"), ("metrics", "compute:vm_metrics")):
        html = page(client, vm, tab)
        try:
            url = reverse(name, args=[vm.uuid])
        except NoReverseMatch:
            assert "Not available yet." in html
        else:
            assert f'hx-get="{url}' in html and f'href="{url}' in html  # htmx, and a link without JavaScript
    # An unknown tab is the overview.
    assert 'data-tab="overview"' in page(client, vm, "nonsense")


def test_the_overview_shows_the_host_to_root_admins(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")
    html = page(login(cloud.admin), vm)
    assert cloud.host.name in html and vm.instance_name in html and "alice" in html


def test_another_tenants_vm_and_its_pages_are_not_found(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.bob, "bob-vm")
    client = login(cloud.alice)

    for tab in ("overview", "volumes", "events"):
        assert client.get(reverse("compute:vm_detail", args=[vm.uuid]), {"tab": tab}).status_code == 404
    assert client.get(reverse("compute:vm_scale", args=[vm.uuid])).status_code == 404
    assert client.post(reverse("compute:vm_scale", args=[vm.uuid]),
                       {"service_offering": str(cloud.offering.uuid)}).status_code == 404
    assert client.post(reverse("compute:vm_detach_iso", args=[vm.uuid])).status_code == 404


# --- buttons --------------------------------------------------------------------------------------------

def test_buttons_follow_the_state(cloud, login, deploy_vm):
    running = deploy_vm(cloud.alice, "web1")
    stopped = deploy_vm(cloud.alice, "db1", start_vm=False)
    client = login(cloud.alice)

    on_running = actions_on(page(client, running))
    assert {"stop", "reboot", "destroy", "scale", "attach_iso"} <= on_running
    assert not on_running & {"start", "change_offering", "reset_ssh_key", "recover", "expunge", "detach_iso",
                             "migrate"}

    on_stopped = actions_on(page(client, stopped))
    assert {"start", "destroy", "change_offering", "reset_ssh_key", "attach_iso"} <= on_stopped
    assert not on_stopped & {"stop", "reboot", "scale", "migrate", "recover"}


def test_migrate_is_offered_to_root_admins_only(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")

    assert "migrate" in actions_on(page(login(cloud.admin), vm))
    assert "migrate" not in actions_on(page(login(cloud.alice), vm))
    # The route itself refuses the role.
    assert login(cloud.alice).get(reverse("compute:vm_migrate", args=[vm.uuid])).status_code == 403


def test_a_console_only_grantee_sees_no_buttons(cloud, login, deploy_vm):
    from compute import services_grants

    vm = deploy_vm(cloud.alice, "web1")
    services_grants.vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    html = page(login(cloud.bob), vm)

    assert actions_on(html) == set()


@pytest.mark.parametrize("action", ["start", "stop", "reboot", "destroy", "detach_iso", "recover", "expunge",
                                    "restore"])
def test_button_actions_are_post_only(cloud, login, deploy_vm, run_jobs, action):
    vm = deploy_vm(cloud.alice, "web1")
    url = route(action, vm)
    if url is None:
        pytest.skip(f"the {action} service is not in this checkout yet")
    jobs_before = AsyncJob.objects.count()

    with run_jobs():
        response = login(cloud.alice).get(url)

    assert response.status_code == 405
    vm.refresh_from_db()
    assert vm.state == "Running"
    assert AsyncJob.objects.count() == jobs_before


# --- form actions ---------------------------------------------------------------------------------------

def test_change_offering_of_a_stopped_vm_through_its_form(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "db1", start_vm=False)
    bigger = ServiceOffering.objects.create(name="Medium", cpu_number=2, cpu_speed=1000, memory=1024)
    client = login(cloud.alice)

    form = client.get(reverse("compute:vm_change_offering", args=[vm.uuid]))
    assert form.status_code == 200 and "Medium" in form.content.decode()

    response = client.post(reverse("compute:vm_change_offering", args=[vm.uuid]),
                           {"service_offering": str(bigger.uuid)})

    assert response.status_code == 302 and response.url == reverse("compute:vm_detail", args=[vm.uuid])
    vm.refresh_from_db()
    assert (vm.service_offering, vm.cpu_number, vm.memory) == (bigger, 2, 1024)


def test_a_custom_size_out_of_bounds_is_refused_on_the_form(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "db1", start_vm=False)
    custom = ServiceOffering.objects.create(name="Flexible", cpu_speed=1000, min_cpu_number=1, max_cpu_number=2,
                                            min_memory=256, max_memory=1024)

    response = login(cloud.alice).post(reverse("compute:vm_change_offering", args=[vm.uuid]),
                                       {"service_offering": str(custom.uuid), "cpu_number": "8", "memory": "512"})

    assert response.status_code == 400
    assert 'id="id_cpu_number_error"' in response.content.decode()
    vm.refresh_from_db()
    assert vm.service_offering == cloud.offering


def test_a_form_action_not_valid_in_the_state_goes_back_to_the_vm(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")  # running: no offering change

    response = login(cloud.alice).get(reverse("compute:vm_change_offering", args=[vm.uuid]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("compute:vm_detail", args=[vm.uuid])
    assert "alert-error" in response.content.decode()


def test_attach_and_detach_an_iso(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1")
    iso = factories.TemplateFactory(name="Tools", format="ISO", account=cloud.template.account,
                                    domain=cloud.template.domain)
    client = login(cloud.alice)

    assert "Tools" in client.get(reverse("compute:vm_attach_iso", args=[vm.uuid])).content.decode()
    with run_jobs():
        response = client.post(reverse("compute:vm_attach_iso", args=[vm.uuid]), {"iso": str(iso.uuid)})
    assert response.status_code == 302 and response.url.startswith("/jobs/")
    vm.refresh_from_db()
    assert vm.iso == iso
    html = page(client, vm)
    assert "Tools" in html and "detach_iso" in actions_on(html) and "attach_iso" not in actions_on(html)

    with run_jobs():
        client.post(reverse("compute:vm_detach_iso", args=[vm.uuid]))
    vm.refresh_from_db()
    assert vm.iso is None


def test_the_migrate_form_lists_the_candidates(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")
    other = factories.HostFactory(name="other-host", cluster=cloud.host.cluster, pod=cloud.host.pod,
                                  zone=cloud.zone)

    html = login(cloud.admin).get(reverse("compute:vm_migrate", args=[vm.uuid])).content.decode()

    assert "Let the planner choose" in html and other.name in html


# --- the list -------------------------------------------------------------------------------------------

def test_admins_see_the_account_and_domain_columns_and_filter_by_them(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "alice-vm")
    deploy_vm(cloud.bob, "bob-vm")
    admin = login(cloud.admin)

    html = admin.get(reverse("compute:vm_list")).content.decode()
    assert ">Account<" in html and ">Domain<" in html
    assert "alice-vm" in html and "bob-vm" in html

    only_alice = admin.get(reverse("compute:vm_list"), {"account": str(cloud.alice.account.uuid)}).content.decode()
    assert "alice-vm" in only_alice and "bob-vm" not in only_alice

    user_html = login(cloud.alice).get(reverse("compute:vm_list")).content.decode()
    assert ">Account<" not in user_html and 'name="account"' not in user_html
    # A user cannot filter their way to another account's VMs.
    assert "bob-vm" not in login(cloud.alice).get(
        reverse("compute:vm_list"), {"account": str(cloud.bob.account.uuid)}).content.decode()


def test_the_list_filters_by_zone(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")
    other_zone = factories.ZoneFactory(name="elsewhere")
    client = login(cloud.alice)

    assert "web1" in client.get(reverse("compute:vm_list"), {"zone": str(cloud.zone.uuid)}).content.decode()
    assert "web1" not in client.get(reverse("compute:vm_list"), {"zone": str(other_zone.uuid)}).content.decode()


def test_a_domain_admin_sees_the_vms_of_the_subdomain(cloud, tenants, login, deploy_vm):
    deploy_vm(tenants.carol, "carol-vm")
    deploy_vm(cloud.bob, "bob-vm")

    html = login(tenants.domain_admin).get(reverse("compute:vm_list")).content.decode()

    assert "carol-vm" in html and "bob-vm" not in html and "ROOT/Sales" in html
    assert VirtualMachine.objects.count() == 2


# --- destroy, recover, expunge, restore -----------------------------------------------------------------

def test_destroy_then_recover_then_destroy_with_expunge(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1", start_vm=False)
    admin = login(cloud.admin)
    assert 'name="expunge"' in page(admin, vm)  # admins may expunge at once

    with run_jobs():
        admin.post(reverse("compute:vm_destroy", args=[vm.uuid]))
    vm.refresh_from_db()
    assert vm.state == "Destroyed"
    on_destroyed = actions_on(page(admin, vm))
    assert on_destroyed == {"recover", "expunge"}

    response = admin.post(reverse("compute:vm_recover", args=[vm.uuid]))
    assert response.status_code == 302 and response.url == reverse("compute:vm_detail", args=[vm.uuid])
    vm.refresh_from_db()
    assert vm.state == "Stopped"

    with run_jobs():
        admin.post(reverse("compute:vm_destroy", args=[vm.uuid]), {"expunge": "1"})
    vm.refresh_from_db()
    assert vm.state == "Expunging" or vm.removed is not None


def test_users_are_offered_recover_and_expunge_only_where_allowed(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "web1", start_vm=False)
    client = login(cloud.alice)
    assert 'name="expunge"' not in page(client, vm)  # allow.user.expunge.recover.vm is false by default
    with run_jobs():
        client.post(reverse("compute:vm_destroy", args=[vm.uuid]))
    vm.refresh_from_db()
    assert vm.state == "Destroyed"

    assert actions_on(page(client, vm)) == set()
    refused = client.post(reverse("compute:vm_recover", args=[vm.uuid]), follow=True)
    assert "alert-error" in refused.content.decode()
    vm.refresh_from_db()
    assert vm.state == "Destroyed"


def test_restore_through_the_page(cloud, login, deploy_vm, run_jobs):
    vm = deploy_vm(cloud.alice, "db1", start_vm=False)
    client = login(cloud.alice)
    assert "restore" in actions_on(page(client, vm))

    with run_jobs():
        response = client.post(reverse("compute:vm_restore", args=[vm.uuid]))

    assert response.status_code == 302 and response.url.startswith("/jobs/")
    job = AsyncJob.objects.filter(instance_id=str(vm.uuid)).order_by("-created").first()
    assert job.cmd == "restoreVirtualMachine" and job.status == AsyncJob.Status.SUCCEEDED, job.result
