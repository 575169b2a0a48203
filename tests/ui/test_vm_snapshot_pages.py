"""The Snapshots panel of the VM page: list, take, revert and delete (POST only), refusals shown, nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compute import services
from compute.models import VMSnapshot
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(cloud, deploy_vm):
    return deploy_vm(cloud.alice, "snappy")


def _take(client, run_jobs, vm, **data):
    with run_jobs():
        return client.post(reverse("compute:vm_snapshot_take", args=[vm.uuid]), data)


def test_vm_page_loads_the_snapshots_panel(cloud, vm, login):
    html = login(cloud.alice).get(reverse("compute:vm_detail", args=[vm.uuid]) + "?tab=snapshots").content.decode()
    assert reverse("compute:vm_snapshots", args=[vm.uuid]) in html


def test_take_revert_and_delete(cloud, vm, login, run_jobs):
    client = login(cloud.alice)
    panel_url = reverse("compute:vm_snapshots", args=[vm.uuid])
    panel = client.get(panel_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="vm-snapshots"' in panel and "<html" not in panel and "no snapshots" in panel

    response = _take(client, run_jobs, vm, name="before", description="first", memory="on")
    assert response.status_code == 302
    assert response.url == reverse("compute:vm_detail", args=[vm.uuid]) + "?tab=snapshots"
    snapshot = VMSnapshot.objects.get(virtual_machine=vm)
    assert (snapshot.display_name, snapshot.state, snapshot.snapshot_type) == ("before", "Ready", "DiskAndMemory")

    page = client.get(panel_url).content.decode()
    assert "<html" in page and f'data-snapshot="{snapshot.uuid}"' in page and "before" in page
    assert reverse("compute:vm_snapshot_revert", args=[vm.uuid, snapshot.uuid]) in page

    with run_jobs():
        response = client.post(reverse("compute:vm_snapshot_revert", args=[vm.uuid, snapshot.uuid]),
                               HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "Reverting VM snappy" in html

    with run_jobs():
        response = client.post(reverse("compute:vm_snapshot_delete", args=[vm.uuid, snapshot.uuid]))
    assert response.status_code == 302
    snapshot.refresh_from_db()
    assert snapshot.state == "Removed"


def test_refusal_is_shown_and_changes_nothing(cloud, vm, login, run_jobs):
    client = login(cloud.alice)
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    response = _take(client, run_jobs, vm, memory="on")
    assert response.status_code == 302
    page = client.get(response.url, follow=True).content.decode()
    assert "Can not snapshot memory" in page
    assert not VMSnapshot.objects.exists()


def test_get_cannot_change_anything_and_strangers_get_404(cloud, vm, login, run_jobs):
    client = login(cloud.alice)
    assert client.get(reverse("compute:vm_snapshot_take", args=[vm.uuid])).status_code == 405
    _take(client, run_jobs, vm, memory="on")
    snapshot = VMSnapshot.objects.get()
    bob = login(cloud.bob)
    assert bob.get(reverse("compute:vm_snapshots", args=[vm.uuid])).status_code == 404
    assert bob.post(reverse("compute:vm_snapshot_delete", args=[vm.uuid, snapshot.uuid])).status_code == 404
    snapshot.refresh_from_db()
    assert snapshot.state == "Ready"


def test_panel_query_count_is_constant(cloud, vm, login, run_jobs):
    client = login(cloud.alice)
    _take(client, run_jobs, vm, memory="on")
    url = reverse("compute:vm_snapshots", args=[vm.uuid])

    def grow() -> None:
        _take(client, run_jobs, vm, memory="on")
        _take(client, run_jobs, vm, memory="on")

    before, after = assert_queries_constant(lambda: ok(client.get(url, HTTP_HX_REQUEST="true")), grow)
    assert before.content.decode().count("data-snapshot=") == 1
    assert after.content.decode().count("data-snapshot=") == 3
