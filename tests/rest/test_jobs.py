"""/api/v1/jobs/: the jobs of the caller's account, rendered with links to what they act on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from compute import services
from compute.models import VirtualMachine
from tests.factories import TEST_PASSWORD
from tests.rest.helpers import JOBS, VMS, assert_error

pytestmark = pytest.mark.django_db


def test_job_list_pending_filter_and_ordering(cloud, alice_api, deploy):
    done = deploy(alice_api, name="web1").json()
    # Submitted outside run_jobs: it stays pending.
    pending = services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                 template=cloud.template, name="web2", start_vm=False)[1]

    listed = alice_api.get(JOBS).json()
    assert [job["id"] for job in listed["results"]] == [str(pending.uuid), done["id"]]
    assert [job["status"] for job in listed["results"]] == ["pending", "succeeded"]
    assert listed["results"][0]["result"] is None
    assert listed["results"][0]["user"] == "alice" and listed["results"][0]["account"] == "alice"

    only_pending = alice_api.get(JOBS, {"pending": "true"}).json()
    assert [job["id"] for job in only_pending["results"]] == [str(pending.uuid)]
    oldest_first = alice_api.get(JOBS, {"ordering": "created"}).json()
    assert [job["id"] for job in oldest_first["results"]] == [done["id"], str(pending.uuid)]


def test_job_of_a_vm_no_longer_visible_has_no_link(cloud, alice_api, deploy):
    job = deploy(alice_api, name="web1").json()
    # The job stays; its VM is expunged.
    VirtualMachine.objects.filter(uuid=job["resource"]["id"]).update(removed=timezone.now())

    shown = alice_api.get(f"{JOBS}{job['id']}/").json()
    assert shown["result"] == {"type": "virtualmachine", "id": job["resource"]["id"], "name": None, "url": None}
    assert alice_api.get(f"{VMS}{job['resource']['id']}/").status_code == 404


def test_unknown_job_is_404(cloud, alice_api):
    assert_error(alice_api.get(f"{JOBS}not-a-uuid/"), 404, 431)


def test_unknown_api_path_is_404_with_the_error_body(cloud, alice_api):
    assert_error(alice_api.get("/api/v1/no-such-thing/"), 404, 431)
    assert_error(Client().get("/api/v1/virtual-machines/x/y/z/"), 404, 431)


def test_missing_trailing_slash_is_explained(cloud, alice_api):
    error = assert_error(alice_api.get("/api/v1/virtual-machines"), 404, 431)
    assert "/api/v1/virtual-machines/" in error["message"]


def test_api_root_lists_the_resources(cloud, alice_api):
    assert_error(Client().get("/api/v1/"), 401, 401)
    root = alice_api.get("/api/v1/").json()
    assert root["virtual-machines"] == "http://testserver/api/v1/virtual-machines/"
    assert set(root) == {"virtual-machines", "jobs", "zones", "hosts", "storage-pools", "image-stores", "capacity",
                         "pods", "clusters", "physical-networks", "traffic-types",
                         "service-offerings", "disk-offerings", "templates", "domains",
                         "accounts", "users", "ldap-configurations", "ldap-links", "roles",
                         "configurations", "ssh-key-pairs", "affinity-groups", "tags",
                         "vm-snapshots"}


@pytest.mark.parametrize("path", ["/api/v1/", VMS, JOBS, "/api/v1/zones/", "/api/v1/templates/"])
def test_browsable_api_renders_for_a_logged_in_user(cloud, alice_api, deploy, path):
    deploy(alice_api, name="web1")
    client = Client()
    assert client.login(username="alice", password=TEST_PASSWORD)

    response = client.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
