"""Host pages of the web UI: the list with state, resource state and tags; the host page and its POST actions,
for root admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from infrastructure.models import Host
from portal.models import AsyncJob
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def _url(name: str, host: Host) -> str:
    return reverse(f"ui:host_{name}", kwargs={"host_id": host.uuid})


def test_host_list_shows_state_resource_state_tags_and_links(cloud, login):
    Host.objects.filter(pk=cloud.host.pk).update(host_tags="ssd,gpu", resource_state="Disabled")
    html = login(cloud.admin).get(reverse("ui:host_list")).content.decode()
    assert ">ssd</span>" in html and ">gpu</span>" in html and "Disabled" in html and "Up" in html
    assert _url("detail", cloud.host) in html


def test_host_list_search_finds_tags(cloud, login):
    factories.HostFactory(name="tagged", host_tags="gpu")
    html = login(cloud.admin).get(reverse("ui:host_list"), {"q": "gpu"}).content.decode()
    assert "tagged" in html and cloud.host.name not in html


def test_host_page_shows_facts_and_the_actions_valid_now(cloud, login):
    Host.objects.filter(pk=cloud.host.pk).update(username="root", password_encrypted="gAAAA-token")
    html = login(cloud.admin).get(_url("detail", cloud.host)).content.decode()
    assert cloud.host.url in html and "root" in html and "gAAAA-token" not in html
    for action in ("reconnect", "disable", "maintenance", "update", "delete"):
        assert _url(action, cloud.host) in html, action
    for action in ("enable", "cancel_maintenance"):
        assert _url(action, cloud.host) not in html, action


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_users_get_403_everywhere(cloud, login, user):
    client = login(getattr(cloud, user))
    assert client.get(reverse("ui:host_list")).status_code == 403
    assert client.get(_url("detail", cloud.host)).status_code == 403
    for action in ("reconnect", "enable", "disable", "maintenance", "cancel_maintenance", "update", "delete"):
        assert client.post(_url(action, cloud.host), {"name": "mine"}).status_code == 403, action
    assert client.get(reverse("ui:host_add")).status_code == 403
    assert client.post(reverse("ui:host_add"), {"cluster": str(cloud.host.cluster.uuid), "name": "mine",
                                                "url": "test:///default"}).status_code == 403
    cloud.host.refresh_from_db()
    assert cloud.host.name != "mine" and Host.objects.count() == 1 and not AsyncJob.objects.exists()


def test_actions_are_post_only(cloud, login):
    assert login(cloud.admin).get(_url("disable", cloud.host)).status_code == 405


def test_disable_enable_and_update(cloud, login):
    client = login(cloud.admin)
    response = client.post(_url("disable", cloud.host))
    assert response.status_code == 302 and response.url == _url("detail", cloud.host)
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Disabled"
    client.post(_url("enable", cloud.host))
    client.post(_url("update", cloud.host), {"name": "renamed", "host_tags": "a, b"})
    cloud.host.refresh_from_db()
    assert (cloud.host.resource_state, cloud.host.name, cloud.host.host_tags) == ("Enabled", "renamed", "a,b")


def test_maintenance_redirects_to_the_job(cloud, login, run_jobs):
    client = login(cloud.admin)
    with run_jobs():
        response = client.post(_url("maintenance", cloud.host))
    job = AsyncJob.objects.get()
    assert response.url == reverse("ui:job_detail", kwargs={"job_id": job.uuid})
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Maintenance"


def test_refusal_is_shown_and_nothing_changes(cloud, login):
    client = login(cloud.admin)
    response = client.post(_url("cancel_maintenance", cloud.host), follow=True)
    assert "not possible in that state" in response.content.decode()
    response = client.post(_url("update", cloud.host), {"name": " "}, follow=True)
    assert "needs a name" in response.content.decode()
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Enabled" and cloud.host.name.strip()


def test_delete_goes_back_to_the_list(cloud, login):
    host = factories.HostFactory(cluster=cloud.host.cluster)
    response = login(cloud.admin).post(_url("delete", host))
    assert response.url == reverse("ui:host_list")
    assert not Host.objects.filter(pk=host.pk).exists()


def test_host_list_query_count_does_not_grow(cloud, login):
    client = login(cloud.admin)

    def add(count: int) -> None:
        for _ in range(count):
            factories.HostFactory(host_tags="x,y")

    assert_queries_constant(lambda: ok(client.get(reverse("ui:host_list"))), lambda: add(8))


def test_add_host_form_connects_the_host_through_a_job(cloud, login, run_jobs):
    client = login(cloud.admin)
    page = client.get(reverse("ui:host_list")).content.decode()
    assert reverse("ui:host_add") in page
    form = {"cluster": str(cloud.host.cluster.uuid), "name": "added", "url": "test:///default?added",
            "host_tags": "ssd, gpu"}
    with run_jobs():
        response = client.post(reverse("ui:host_add"), form)
    job = AsyncJob.objects.get(cmd="addHost")
    assert response.status_code == 302 and response.url == reverse("ui:job_detail", args=[job.uuid])
    host = Host.objects.get(name="added")
    assert host.status == "Up" and host.host_tags == "ssd,gpu" and host.cluster == cloud.host.cluster


def test_add_host_refusal_is_shown_and_nothing_is_created(cloud, login):
    client = login(cloud.admin)
    response = client.post(reverse("ui:host_add"), {"cluster": str(cloud.host.cluster.uuid), "name": "bad",
                                                    "url": "http://not-libvirt/"})
    assert response.status_code == 400 and "alert alert-error" in response.content.decode()
    assert not Host.objects.filter(name="bad").exists() and not AsyncJob.objects.exists()
