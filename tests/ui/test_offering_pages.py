"""Offering pages of the web UI (root admins): compute and disk offerings listed, created, edited and deleted
by POST, reachable from Settings through tabs; refusals are shown and change nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from compute.models import ServiceOffering
from storage.models import DiskOffering
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def test_settings_page_links_to_the_offering_tabs_and_nav_stays_on_settings(cloud, login):
    client = login(cloud.admin)
    settings_html = client.get(reverse("ui:config_list")).content.decode()
    assert reverse("ui:offering_list") in settings_html and reverse("ui:disk_offering_list") in settings_html
    html = client.get(reverse("ui:offering_list")).content.decode()
    nav = re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0)
    assert re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', nav) == [reverse("ui:config_list")]
    assert cloud.offering.name in html and reverse("ui:offering_add") in html


def test_create_fixed_and_custom_offerings_through_the_form(cloud, login):
    client = login(cloud.admin)
    assert client.get(reverse("ui:offering_add")).status_code == 200
    response = client.post(reverse("ui:offering_add"), {
        "name": "Medium", "kind": "fixed", "cpu_number": "2", "cpu_speed": "2000", "memory": "2048",
        "storage_type": "shared", "offer_ha": "on", "host_tags": "ssd", "dynamic_scaling_enabled": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("ui:offering_list")
    medium = ServiceOffering.objects.get(name="Medium")
    assert (medium.cpu_number, medium.memory, medium.offer_ha, medium.host_tags) == (2, 2048, True, "ssd")
    client.post(reverse("ui:offering_add"), {
        "name": "Flex", "kind": "constrained", "cpu_speed": "1000", "min_cpu_number": "1", "max_cpu_number": "4",
        "min_memory": "512", "max_memory": "2048", "storage_type": "shared"})
    assert ServiceOffering.objects.get(name="Flex").is_customized


def test_refused_offering_is_shown_on_the_form_and_not_created(cloud, login):
    response = login(cloud.admin).post(reverse("ui:offering_add"), {
        "name": "Bad", "kind": "fixed", "cpu_number": "1", "memory": "512", "storage_type": "shared"})
    assert response.status_code == 400 and "cpuspeed" in response.content.decode()
    assert not ServiceOffering.objects.filter(name="Bad").exists()


def test_edit_and_delete_an_offering(cloud, login):
    client = login(cloud.admin)
    url = reverse("ui:offering_edit", kwargs={"offering_id": cloud.offering.uuid})
    assert "Small" in client.get(url).content.decode()
    assert client.post(url, {"name": "Smaller", "host_tags": "a"}).status_code == 302
    cloud.offering.refresh_from_db()
    assert (cloud.offering.name, cloud.offering.host_tags) == ("Smaller", "a")
    delete = reverse("ui:offering_delete", kwargs={"offering_id": cloud.offering.uuid})
    assert client.get(delete).status_code == 405  # changes are POSTs only
    assert client.post(delete).status_code == 302
    cloud.offering.refresh_from_db()
    assert cloud.offering.removed is not None
    assert url not in client.get(reverse("ui:offering_list")).content.decode()  # no longer listed


def test_disk_offering_pages(cloud, login):
    client = login(cloud.admin)
    # The add and edit forms (one template with the compute offerings') go back to the disk offerings.
    cancel = f'href="{reverse("ui:disk_offering_list")}"'
    assert cancel in client.get(reverse("ui:disk_offering_add")).content.decode()
    response = client.post(reverse("ui:disk_offering_add"), {
        "name": "Data 5", "disk_size_gb": "5", "storage_type": "shared", "iops_read_rate": "300",
        "display_offering": "on"})
    assert response.status_code == 302
    disk = DiskOffering.objects.get(name="Data 5")
    assert (disk.disk_size, disk.iops_read_rate, disk.is_customized) == (5 * 2**30, 300, False)
    html = client.get(reverse("ui:disk_offering_list")).content.decode()
    assert "Data 5" in html and "300 read IOPS" in html
    edit = reverse("ui:disk_offering_edit", kwargs={"offering_id": disk.uuid})
    assert cancel in client.get(edit).content.decode()
    assert client.post(edit, {"name": "Data five", "bytes_write_rate": "1048576"}).status_code == 302
    disk.refresh_from_db()
    assert (disk.name, disk.iops_read_rate, disk.bytes_write_rate, disk.display_offering) == (
        "Data five", None, 1048576, False)
    assert client.post(reverse("ui:disk_offering_delete", kwargs={"offering_id": disk.uuid})).status_code == 302
    disk.refresh_from_db()
    assert disk.removed is not None


def test_users_cannot_reach_or_change_offering_pages(cloud, login):
    disk = DiskOffering.objects.create(name="Data", disk_size=2**30)
    client = login(cloud.alice)
    for name in ("ui:offering_list", "ui:offering_add", "ui:disk_offering_list", "ui:disk_offering_add"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.post(reverse("ui:offering_delete", kwargs={"offering_id": cloud.offering.uuid})).status_code == 403
    assert client.post(reverse("ui:disk_offering_edit", kwargs={"offering_id": disk.uuid}),
                       {"name": "x"}).status_code == 403
    cloud.offering.refresh_from_db()
    disk.refresh_from_db()
    assert (cloud.offering.removed, disk.name) == (None, "Data")


@pytest.mark.parametrize("url_name,make", [
    ("ui:offering_list", lambda domain: factories.ServiceOfferingFactory(domains=[domain])),
    ("ui:disk_offering_list",
     lambda domain: DiskOffering.objects.create(name="d", disk_size=2**30).domains.add(domain)),
])
def test_offering_pages_run_a_constant_number_of_queries(cloud, login, url_name, make):
    client = login(cloud.admin)
    domain = cloud.admin.account.domain
    make(domain)
    assert_queries_constant(lambda: ok(client.get(reverse(url_name))), lambda: [make(domain) for _ in range(3)])
