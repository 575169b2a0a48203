"""Filtering (django-filter) and ordering of every REST list.

Filters only narrow what the caller may see; an invalid value is a 400 naming the parameter; ordering is
among declared fields, both directions, with the primary key breaking ties in the same direction.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from compute import services
from compute.models import VirtualMachine
from infrastructure.models import AllocationState, Zone
from portal.models import AsyncJob
from storage.models import Template
from tests import factories
from tests.rest.helpers import JOBS, VMS, assert_error

pytestmark = pytest.mark.django_db

ZONES = "/api/v1/zones/"
TEMPLATES = "/api/v1/templates/"
OFFERINGS = "/api/v1/service-offerings/"


def listed(client, path: str, key: str = "name", **params: Any) -> list[Any]:
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])  # every test list fits one page
    return [row[key] for row in body["results"]]


def assert_bad_parameter(client, path: str, **params: Any) -> dict[str, Any]:
    error = assert_error(client.get(path, params), 400, 431)
    assert set(error["fields"]) == set(params), error
    return error


# --- virtual machines -------------------------------------------------------------------------------------


@pytest.fixture
def vms(cloud, run_jobs) -> dict[str, VirtualMachine]:
    """alice's web2 (Running), cold (Stopped), web1 (Running, display name "Frontend"), created in that
    order, and bob's web1 (Running) in the same zone."""

    def deploy(user, name, start=True, display_name=""):
        with run_jobs():
            vm, _job = services.vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering,
                                          template=cloud.template, name=name, display_name=display_name,
                                          start_vm=start)
        vm.refresh_from_db()
        return vm

    made = {"web2": deploy(cloud.alice, "web2"), "cold": deploy(cloud.alice, "cold", start=False),
            "web1": deploy(cloud.alice, "web1", display_name="Frontend"), "bob-web1": deploy(cloud.bob, "web1")}
    assert [made[name].state for name in ("web2", "cold", "web1")] == ["Running", "Stopped", "Running"]
    return made


def test_vm_filters_narrow_the_callers_list(cloud, alice_api, vms):
    assert sorted(listed(alice_api, VMS)) == ["cold", "web1", "web2"]

    assert listed(alice_api, VMS, name="web1", key="id") == [str(vms["web1"].uuid)]  # not bob's web1
    assert listed(alice_api, VMS, name="web") == []  # name is exact
    assert sorted(listed(alice_api, VMS, keyword="WEB")) == ["web1", "web2"]
    assert listed(alice_api, VMS, keyword="front") == ["web1"]  # display name, any case
    assert sorted(listed(alice_api, VMS, zone=str(cloud.zone.uuid))) == ["cold", "web1", "web2"]
    assert listed(alice_api, VMS, zone=str(uuid.uuid4())) == []
    assert listed(alice_api, VMS, state="Stopped") == ["cold"]
    assert listed(alice_api, VMS, state="Running", keyword="2") == ["web2"]


@pytest.mark.parametrize("spelling", ["Running", "running", "RUNNING", "rUnNiNg"])
def test_vm_state_filter_ignores_letter_case(alice_api, vms, spelling):
    assert sorted(listed(alice_api, VMS, state=spelling)) == ["web1", "web2"]


def test_vm_zone_filter_keeps_other_zones_out(cloud, client_for, run_jobs, vms):
    other_host = factories.HostFactory()
    with run_jobs():
        services.vm_deploy(caller=cloud.alice, zone=other_host.zone, service_offering=cloud.offering,
                           template=cloud.template, name="far", start_vm=False)
    alice = client_for(cloud.alice)

    assert listed(alice, VMS, zone=str(other_host.zone.uuid)) == ["far"]
    assert "far" not in listed(alice, VMS, zone=str(cloud.zone.uuid))


def test_destroyed_vms_are_hidden_unless_asked_for(alice_api, vms, run_jobs):
    with run_jobs():
        assert alice_api.post(f"{VMS}{vms['cold'].uuid}/destroy/").status_code == 202
    assert VirtualMachine.objects.get(pk=vms["cold"].pk).state == "Destroyed"

    assert sorted(listed(alice_api, VMS)) == ["web1", "web2"]
    assert sorted(listed(alice_api, VMS, include_destroyed="false")) == ["web1", "web2"]
    assert sorted(listed(alice_api, VMS, include_destroyed="true")) == ["cold", "web1", "web2"]
    assert sorted(listed(alice_api, VMS, include_destroyed="1")) == ["cold", "web1", "web2"]
    # Asking for the state shows them.
    assert listed(alice_api, VMS, state="destroyed") == ["cold"]
    assert listed(alice_api, VMS, state="Destroyed", include_destroyed="false") == ["cold"]
    # The detail of a destroyed VM is still there.
    assert alice_api.get(f"{VMS}{vms['cold'].uuid}/").json()["state"] == "Destroyed"


@pytest.mark.parametrize("params", [
    {"state": "Sleeping"},
    {"state": "Run"},
    {"zone": "not-a-uuid"},
    {"include_destroyed": "maybe"},
    {"ordering": "host"},
    {"ordering": "-password"},
    {"ordering": "name,--name"},
])
def test_invalid_vm_filter_values_are_400_naming_the_parameter(alice_api, vms, params):
    assert_bad_parameter(alice_api, VMS, **params)


def test_several_invalid_values_are_all_named(alice_api, vms):
    assert_bad_parameter(alice_api, VMS, state="Sleeping", zone="x", include_destroyed="perhaps")


def test_vm_ordering_both_directions_with_the_primary_key_breaking_ties(alice_api, vms):
    assert listed(alice_api, VMS, ordering="name") == ["cold", "web1", "web2"]
    assert listed(alice_api, VMS, ordering="-name") == ["web2", "web1", "cold"]
    # web2 and web1 are both Running: the older row first ascending, last descending.
    assert listed(alice_api, VMS, ordering="state") == ["web2", "web1", "cold"]
    assert listed(alice_api, VMS, ordering="-state") == ["cold", "web1", "web2"]
    assert listed(alice_api, VMS, ordering="-state,name") == ["cold", "web1", "web2"]
    assert listed(alice_api, VMS, ordering="state,-name") == ["web2", "web1", "cold"]
    # The default: newest first.
    assert listed(alice_api, VMS) == ["web1", "cold", "web2"]
    assert listed(alice_api, VMS, ordering="created") == ["web2", "cold", "web1"]


def test_vm_ordering_with_equal_creation_times_still_pages_without_overlap(alice_api, vms):
    VirtualMachine.objects.update(created=timezone.now())

    expected = [str(vms[name].uuid) for name in ("web2", "cold", "web1")]
    assert listed(alice_api, VMS, key="id", ordering="created") == expected
    assert listed(alice_api, VMS, key="id", ordering="-created") == expected[::-1]
    assert listed(alice_api, VMS, key="id") == expected[::-1]  # default -created, -id
    pages = [alice_api.get(VMS, {"ordering": "created", "page_size": 1, "page": page}).json()["results"][0]["id"]
             for page in (1, 2, 3)]
    assert pages == expected


# --- jobs ---------------------------------------------------------------------------------------------


@pytest.fixture
def jobs(cloud, run_jobs, vms) -> dict[str, AsyncJob]:
    """alice's finished deploy jobs (from `vms`), a pending stop of web1, a failed one, and bob's."""
    pending = services.vm_stop(caller=cloud.alice, vm=vms["web1"])  # not run: stays pending
    failed = AsyncJob.objects.filter(instance_id=str(vms["web2"].uuid)).get()
    AsyncJob.objects.filter(pk=failed.pk).update(status=AsyncJob.Status.FAILED,
                                                 result={"errorcode": 530, "errortext": "boom"})
    return {
        "pending": pending,
        "failed": failed,
        "deploy-web1": AsyncJob.objects.get(instance_id=str(vms["web1"].uuid), cmd="deployVirtualMachine"),
        "deploy-cold": AsyncJob.objects.get(instance_id=str(vms["cold"].uuid)),
        "bob": AsyncJob.objects.get(instance_id=str(vms["bob-web1"].uuid)),
    }


def job_ids(*jobs: AsyncJob) -> list[str]:
    return [str(job.uuid) for job in jobs]


def test_job_filters_narrow_the_callers_list(cloud, alice_api, jobs, vms):
    everything = set(listed(alice_api, JOBS, key="id"))
    assert everything == set(job_ids(jobs["pending"], jobs["failed"], jobs["deploy-web1"], jobs["deploy-cold"]))

    assert listed(alice_api, JOBS, key="id", pending="true") == job_ids(jobs["pending"])
    assert set(listed(alice_api, JOBS, key="id", pending="false")) == everything - set(job_ids(jobs["pending"]))
    assert listed(alice_api, JOBS, key="id", status="pending") == job_ids(jobs["pending"])
    assert listed(alice_api, JOBS, key="id", status="failed") == job_ids(jobs["failed"])
    assert set(listed(alice_api, JOBS, key="id", status="succeeded")) == set(
        job_ids(jobs["deploy-web1"], jobs["deploy-cold"]))
    assert listed(alice_api, JOBS, key="id", status="cancelled") == []
    assert listed(alice_api, JOBS, key="id", status="succeeded", pending="true") == []

    web1 = str(vms["web1"].uuid)
    assert set(listed(alice_api, JOBS, key="id", instance_id=web1)) == set(
        job_ids(jobs["pending"], jobs["deploy-web1"]))
    assert listed(alice_api, JOBS, key="id", instance_id=web1.upper(), pending="true") == job_ids(jobs["pending"])
    assert set(listed(alice_api, JOBS, key="id", instance_type="virtualmachine")) == everything
    assert listed(alice_api, JOBS, key="id", instance_type="volume") == []
    # Another tenant's object: nothing, not an error that would confirm it exists.
    assert listed(alice_api, JOBS, key="id", instance_id=str(vms["bob-web1"].uuid)) == []


@pytest.mark.parametrize("params", [
    {"status": "done"},
    {"status": "1"},
    {"pending": "soon"},
    {"instance_id": "not-a-uuid"},
    {"ordering": "status"},
])
def test_invalid_job_filter_values_are_400_naming_the_parameter(alice_api, jobs, params):
    assert_bad_parameter(alice_api, JOBS, **params)


def test_job_ordering_both_directions_with_the_primary_key_breaking_ties(alice_api, jobs):
    mine = AsyncJob.objects.exclude(pk=jobs["bob"].pk).order_by("pk")
    by_pk = [str(job.uuid) for job in mine]
    assert listed(alice_api, JOBS, key="id", ordering="created") == by_pk
    assert listed(alice_api, JOBS, key="id", ordering="-created") == by_pk[::-1]
    assert listed(alice_api, JOBS, key="id") == by_pk[::-1]

    AsyncJob.objects.update(created=timezone.now(), completed=timezone.now())
    assert listed(alice_api, JOBS, key="id", ordering="created") == by_pk
    assert listed(alice_api, JOBS, key="id", ordering="-created") == by_pk[::-1]
    assert listed(alice_api, JOBS, key="id", ordering="completed") == by_pk
    assert listed(alice_api, JOBS, key="id", ordering="-completed,created") == by_pk


# --- zones, templates, service offerings -----------------------------------------------------------------


def test_zone_filter_and_ordering(cloud, alice_api):
    disabled = factories.ZoneFactory(name="aa-disabled", allocation_state=AllocationState.DISABLED)
    other = factories.ZoneFactory(name="zz-open")
    enabled = sorted([cloud.zone.name, other.name])

    assert listed(alice_api, ZONES) == ["aa-disabled", *enabled]
    assert listed(alice_api, ZONES, available="true") == enabled
    assert listed(alice_api, ZONES, available="false") == ["aa-disabled"]
    assert listed(alice_api, ZONES, ordering="-name") == [*enabled[::-1], "aa-disabled"]

    Zone.objects.update(created=timezone.now())
    by_pk = [zone.name for zone in Zone.objects.order_by("pk")]
    assert disabled.name in by_pk
    assert listed(alice_api, ZONES, ordering="created") == by_pk
    assert listed(alice_api, ZONES, ordering="-created") == by_pk[::-1]

    assert_bad_parameter(alice_api, ZONES, available="yes please")
    assert_bad_parameter(alice_api, ZONES, ordering="allocation_state")


@pytest.fixture
def templates(cloud) -> dict[str, Template]:
    """Besides the public "Tiny" (every zone): alice's and bob's private templates, and two public "Dup"s,
    one featured in the cloud's zone, one in another zone. Names start with capitals, so their order is
    the same under every database collation."""
    elsewhere = factories.ZoneFactory(name="elsewhere")
    return {
        "own": factories.TemplateFactory(name="Own", is_public=False, account=cloud.alice.account,
                                         domain=cloud.alice.account.domain, size=3),
        "bobs": factories.TemplateFactory(name="Bobs", is_public=False, account=cloud.bob.account,
                                          domain=cloud.bob.account.domain),
        "featured": factories.TemplateFactory(name="Dup", is_featured=True, zone=cloud.zone, size=2),
        "elsewhere": factories.TemplateFactory(name="Dup", zone=elsewhere, size=2),
    }


def test_template_filters_narrow_the_callers_list(cloud, alice_api, client_for, templates):
    usable_by_alice = ["Dup", "Dup", "Own", "Tiny"]
    assert sorted(listed(alice_api, TEMPLATES)) == usable_by_alice
    assert sorted(listed(alice_api, TEMPLATES, template_filter="executable")) == usable_by_alice
    assert listed(alice_api, TEMPLATES, template_filter="self") == ["Own"]
    assert listed(alice_api, TEMPLATES, template_filter="featured", key="id") == [str(templates["featured"].uuid)]
    assert sorted(listed(alice_api, TEMPLATES, template_filter="community")) == ["Dup", "Tiny"]
    # "all" is everything for root admins only; for others, what they may see.
    assert sorted(listed(alice_api, TEMPLATES, template_filter="all")) == usable_by_alice
    assert "Bobs" in listed(client_for(cloud.admin), TEMPLATES, template_filter="all")
    assert "Bobs" not in listed(client_for(cloud.admin), TEMPLATES, template_filter="self")

    # Zone: the zone's own templates and those of every zone.
    in_zone = listed(alice_api, TEMPLATES, zone=str(cloud.zone.uuid), ordering="name", key="id")
    assert in_zone == [str(t.uuid) for t in (templates["featured"], templates["own"], cloud.template)]
    elsewhere = str(templates["elsewhere"].zone.uuid)
    assert sorted(listed(alice_api, TEMPLATES, zone=elsewhere, template_filter="community")) == ["Dup", "Tiny"]
    assert listed(alice_api, TEMPLATES, zone=elsewhere, template_filter="featured") == []


@pytest.mark.parametrize("params", [
    {"template_filter": "mine"},
    {"zone": "not-a-uuid"},
    {"zone": "00000000-0000-0000-0000-000000000000"},  # well-formed, no such zone
    {"ordering": "url"},
])
def test_invalid_template_filter_values_are_400_naming_the_parameter(alice_api, templates, params):
    assert_bad_parameter(alice_api, TEMPLATES, **params)


def test_template_ordering_both_directions_with_the_primary_key_breaking_ties(cloud, alice_api, templates):
    tiny, own = str(cloud.template.uuid), str(templates["own"].uuid)
    featured, elsewhere = str(templates["featured"].uuid), str(templates["elsewhere"].uuid)
    assert listed(alice_api, TEMPLATES, key="id", ordering="name") == [featured, elsewhere, own, tiny]
    assert listed(alice_api, TEMPLATES, key="id", ordering="-name") == [tiny, own, elsewhere, featured]
    # Both "Dup"s have size 2: the older row first ascending, last descending.
    assert listed(alice_api, TEMPLATES, key="id", ordering="size") == [featured, elsewhere, own, tiny]
    assert listed(alice_api, TEMPLATES, key="id", ordering="-size") == [tiny, own, elsewhere, featured]
    # The default (by name) breaks ties too.
    assert listed(alice_api, TEMPLATES, key="id") == [featured, elsewhere, own, tiny]


def test_service_offering_ordering(cloud, alice_api):
    big = factories.ServiceOfferingFactory(name="Big", cpu_number=4, memory=4096)
    twin = factories.ServiceOfferingFactory(name="Twin", memory=512)

    assert listed(alice_api, OFFERINGS, ordering="name") == ["Big", "Small", "Twin"]
    assert listed(alice_api, OFFERINGS, ordering="-cpu_number,name") == ["Big", "Small", "Twin"]
    # Small and Twin both have 512 MiB: primary key order, reversed when descending.
    assert listed(alice_api, OFFERINGS, ordering="memory") == ["Small", "Twin", "Big"]
    assert listed(alice_api, OFFERINGS, ordering="-memory") == ["Big", "Twin", "Small"]
    assert big.pk > cloud.offering.pk and twin.pk > cloud.offering.pk

    assert_bad_parameter(alice_api, OFFERINGS, ordering="cpu_speed")
