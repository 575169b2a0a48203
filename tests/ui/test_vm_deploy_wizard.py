"""The deploy wizard (compute.views_deploy), walked step by step through Django's test client as a browser
without JavaScript would: each page's hidden inputs posted back with the step's answers."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django.urls import reverse

from compute.models import AffinityGroup, ServiceOffering, SSHKeyPair, VirtualMachine
from portal.models import AsyncJob
from storage.models import DiskOffering, Volume
from tests import factories

pytestmark = pytest.mark.django_db

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
STEP = re.compile(r'data-deploy-step="([a-z]+)"')


def step_of(response) -> str:
    match = STEP.search(response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def carried(response) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(response.content.decode()):
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(htmllib.unescape(value))
    return data


def post(client, response, answers=None, goto="next"):
    """Submit the page's form with `answers` for its own fields."""
    data = carried(response)
    data.update({name: value if isinstance(value, list) else [value] for name, value in (answers or {}).items()})
    data["wizard_goto"] = [goto]
    return client.post(reverse("compute:vm_deploy"), data)


def walk_to(client, cloud, last: str, **answers):
    """Walk from the start to the step `last`, answering each step with `answers` (per step dicts)."""
    defaults = {
        "zone": {"zone": str(cloud.zone.uuid)},
        "image": {"template": str(cloud.template.uuid)},
        "offering": {"service_offering": str(cloud.offering.uuid)},
        "disk": {},
        "access": {},
        "affinity": {},
        "details": {"name": "web1", "display_name": "Web one", "start_vm": "on"},
    }
    response = client.get(reverse("compute:vm_deploy"))
    while step_of(response) != last:
        step = step_of(response)
        response = post(client, response, answers.get(step, defaults[step]))
        assert response.status_code == 200
        assert step_of(response) != step, f"stuck on {step}: {response.content.decode()[:3000]}"
    return response


def test_the_wizard_starts_at_the_zone_and_walks_to_the_review(cloud, login):
    client = login(cloud.alice)
    first = client.get(reverse("compute:vm_deploy"))
    assert first.status_code == 200 and step_of(first) == "zone"
    assert cloud.zone.name in first.content.decode()

    review = walk_to(client, cloud, "review")
    html = review.content.decode()
    for text in (cloud.zone.name, cloud.template.name, cloud.offering.name, "web1", "Web one"):
        assert text in html
    assert 'value="deploy"' in html
    assert not VirtualMachine.objects.exists()


def test_walking_all_steps_deploys_with_key_pair_user_data_affinity_and_group(cloud, login, run_jobs):
    client = login(cloud.alice)
    SSHKeyPair.objects.create(name="laptop", fingerprint="aa:bb", public_key="ssh-ed25519 AAAAC3 alice@laptop",
                              account=cloud.alice.account, domain=cloud.alice.account.domain)
    group = AffinityGroup.objects.create(name="spread", group_type="host anti-affinity",
                                         account=cloud.alice.account, domain=cloud.alice.account.domain)
    review = walk_to(client, cloud, "review", access={"key_pairs": ["laptop"], "user_data": "#cloud-config\n"},
                     affinity={"affinity_groups": [str(group.uuid)]},
                     details={"name": "web1", "display_name": "Web one", "group": "frontend", "start_vm": "on"})
    assert "laptop" in review.content.decode() and "spread" in review.content.decode()

    with run_jobs():
        response = post(client, review, goto="deploy")

    assert response.status_code == 302, response.content.decode()[:3000]
    vm = VirtualMachine.objects.get(name="web1")
    assert response.url == reverse("compute:vm_detail", args=[vm.uuid])
    assert (vm.display_name, vm.group, vm.user_data, vm.state) == ("Web one", "frontend", "#cloud-config\n",
                                                                   "Running")
    assert vm.key_pair_names == "laptop"
    assert list(vm.affinity_groups.all()) == [group]
    page = client.get(response.url)
    assert page.status_code == 200 and "Deploying VM web1." in page.content.decode()


def test_deploy_from_an_iso_requires_a_root_disk_offering(cloud, login, run_jobs):
    client = login(cloud.alice)
    iso = factories.TemplateFactory(name="Installer", format="ISO", bootable=True, account=cloud.template.account,
                                    domain=cloud.template.domain)
    disk = DiskOffering.objects.create(name="Custom disk", is_customized=True)

    image = walk_to(client, cloud, "image")
    assert "Installer" in image.content.decode() and 'id="images-isos"' in image.content.decode()
    offering = post(client, image, {"template": str(iso.uuid)})
    disk_step = post(client, offering, {"service_offering": str(cloud.offering.uuid)})
    assert step_of(disk_step) == "disk"
    assert "Root disk offering" in disk_step.content.decode()

    refused = post(client, disk_step, {"disk_offering": ""})
    assert step_of(refused) == "disk" and 'id="id_disk_offering_error"' in refused.content.decode()
    no_size = post(client, disk_step, {"disk_offering": str(disk.uuid)})
    assert step_of(no_size) == "disk" and 'id="id_size_gb_error"' in no_size.content.decode()

    access = post(client, disk_step, {"disk_offering": str(disk.uuid), "size_gb": "2"})
    assert step_of(access) == "access"
    review = walk_to_review_from(client, access)
    assert "Installer" in review.content.decode() and "Custom disk (2 GiB)" in review.content.decode()

    with run_jobs():
        response = post(client, review, goto="deploy")
    assert response.status_code == 302, response.content.decode()[:3000]
    vm = VirtualMachine.objects.get(name="web1")
    assert vm.template == iso
    root = Volume.objects.get(virtual_machine=vm, volume_type=Volume.Type.ROOT)
    assert (root.disk_offering, root.size) == (disk, 2 * 2**30)


def walk_to_review_from(client, response):
    answers = {"access": {}, "affinity": {}, "details": {"name": "web1", "start_vm": "on"}}
    while step_of(response) != "review":
        response = post(client, response, answers[step_of(response)])
    return response


def test_a_template_deploy_offers_an_optional_data_disk(cloud, login):
    DiskOffering.objects.create(name="Small disk", disk_size=2 * 2**30)
    disk_step = walk_to(login(cloud.alice), cloud, "disk")
    html = disk_step.content.decode()
    assert "No data disk" in html and "Root disk offering" not in html


def test_a_custom_offering_asks_for_its_sizes_within_its_bounds(cloud, login):
    custom = ServiceOffering.objects.create(name="Flexible", cpu_speed=1000, min_cpu_number=1, max_cpu_number=2,
                                            min_memory=256, max_memory=1024)
    client = login(cloud.alice)
    offering_step = walk_to(client, cloud, "offering")
    assert "Flexible" in offering_step.content.decode()
    assert "1-2 vCPU" in offering_step.content.decode()

    missing = post(client, offering_step, {"service_offering": str(custom.uuid)})
    assert step_of(missing) == "offering"
    assert 'id="id_cpu_number_error"' in missing.content.decode()
    assert 'id="id_memory_error"' in missing.content.decode()

    too_big = post(client, offering_step, {"service_offering": str(custom.uuid), "cpu_number": "4",
                                           "memory": "512"})
    assert step_of(too_big) == "offering"
    assert 'id="id_cpu_number_error"' in too_big.content.decode()
    assert 'id="id_memory_error"' not in too_big.content.decode()

    fits = post(client, offering_step, {"service_offering": str(custom.uuid), "cpu_number": "2", "memory": "512"})
    assert step_of(fits) == "disk"
    assert not VirtualMachine.objects.exists()


def test_back_keeps_the_answers(cloud, login):
    client = login(cloud.alice)
    offering_step = walk_to(client, cloud, "offering")

    image = post(client, offering_step, {"service_offering": str(cloud.offering.uuid)}, goto="back")

    assert step_of(image) == "image"
    assert re.search(rf'value="{cloud.template.uuid}"[^>]* checked', image.content.decode())
    # The offering chosen before going back is still carried to the next visit of its step.
    again = post(client, image, {"template": str(cloud.template.uuid)})
    assert re.search(rf'value="{cloud.offering.uuid}"[^>]* checked', again.content.decode())


def test_another_accounts_private_template_is_not_offered_nor_accepted(cloud, login):
    private = factories.TemplateFactory(name="BobsPrivate", is_public=False, account=cloud.bob.account,
                                        domain=cloud.bob.account.domain)
    client = login(cloud.alice)
    image = walk_to(client, cloud, "image")
    assert "BobsPrivate" not in image.content.decode()

    refused = post(client, image, {"template": str(private.uuid)})

    assert step_of(refused) == "image" and 'id="id_template_error"' in refused.content.decode()
    assert "BobsPrivate" in walk_to(login(cloud.bob), cloud, "image").content.decode()


def test_a_refused_deploy_shows_on_its_step_and_creates_nothing(cloud, login, run_jobs):
    cloud.offering.memory = 16 * 1024
    cloud.offering.save()
    client = login(cloud.alice)
    review = walk_to(client, cloud, "review")

    with run_jobs():
        response = post(client, review, goto="deploy")

    assert response.status_code == 200
    assert step_of(response) == "offering"
    assert f"No host in zone {cloud.zone.name} has room" in response.content.decode()
    assert not VirtualMachine.objects.exists()
    assert not Volume.objects.exists()
    assert not AsyncJob.objects.exists()


def test_an_answer_gone_stale_sends_back_to_its_step(cloud, login):
    client = login(cloud.alice)
    review = walk_to(client, cloud, "review")
    cloud.template.is_public = False
    cloud.template.save()

    response = post(client, review, goto="deploy")

    assert step_of(response) == "image" and 'id="id_template_error"' in response.content.decode()
    assert not VirtualMachine.objects.exists()


@pytest.mark.parametrize(("step", "answers", "field"), [
    ("details", {"name": "-bad name-"}, "name"),
    ("offering", {"service_offering": "00000000-0000-0000-0000-000000000000"}, "service_offering"),
    ("zone", {"zone": ""}, "zone"),
])
def test_validation_errors_are_shown_inline(cloud, login, step, answers, field):
    client = login(cloud.alice)
    page = walk_to(client, cloud, step)

    response = post(client, page, answers)

    assert response.status_code == 200 and step_of(response) == step
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not VirtualMachine.objects.exists()


def test_deploy_needs_the_csrf_token(cloud, run_jobs):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cloud.alice)
    with run_jobs():
        response = client.post(reverse("compute:vm_deploy"), {"zone": str(cloud.zone.uuid), "wizard_goto": "deploy"})
    assert response.status_code == 403
    assert not VirtualMachine.objects.exists()
