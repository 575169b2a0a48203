"""Storage pages of the web UI: primary storage pools (list, create, detail with its POST actions) and image
stores (list, add, delete), for root admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import AsyncJob
from storage.models import ImageStore, StoragePool, Volume
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def _url(name: str, pool: StoragePool) -> str:
    return reverse(f"ui:storage_pool_{name}", kwargs={"pool_id": pool.uuid})


def test_pool_list_shows_pools_and_links(cloud, login):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, tags="ssd", status="Disabled")
    html = login(cloud.admin).get(reverse("ui:storage_pool_list")).content.decode()
    assert pool.name in html and ">ssd</span>" in html and "Disabled" in html
    assert _url("detail", pool) in html and reverse("ui:storage_pool_add") in html


def test_create_pool_through_the_form(cloud, login, run_jobs):
    client = login(cloud.admin)
    assert client.get(reverse("ui:storage_pool_add")).status_code == 200
    with run_jobs():
        response = client.post(reverse("ui:storage_pool_add"), {
            "name": "nfs1", "zone": str(cloud.zone.uuid), "scope": "CLUSTER", "cluster": str(cloud.host.cluster.uuid),
            "url": "nfs://10.0.0.1/export", "tags": "ssd", "capacity_gib": "10"})
    pool = StoragePool.objects.get(name="nfs1")
    assert response.status_code == 302 and response["Location"] == _url("detail", pool)
    assert (pool.pool_type, pool.capacity_bytes, pool.tags) == ("NetworkFilesystem", 10 * 2**30, "ssd")
    assert AsyncJob.objects.filter(cmd="createStoragePool").count() == 1


def test_create_pool_refusal_is_shown_on_the_form(cloud, login):
    response = login(cloud.admin).post(reverse("ui:storage_pool_add"), {
        "name": "bad", "zone": str(cloud.zone.uuid), "scope": "CLUSTER", "url": "/srv/x"})
    assert response.status_code == 400
    assert "needs a cluster" in response.content.decode()
    assert not StoragePool.objects.exists()


def test_pool_page_shows_the_actions_valid_now(cloud, login):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    html = login(cloud.admin).get(_url("detail", pool)).content.decode()
    assert pool.url in html and pool.libvirt_name in html
    for action in ("disable", "maintenance", "update", "delete"):
        assert _url(action, pool) in html, action
    for action in ("enable", "cancel_maintenance"):
        assert _url(action, pool) not in html, action


def test_pool_actions(cloud, login, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    client = login(cloud.admin)
    response = client.post(_url("update", pool), {"name": "renamed", "tags": "a,b", "capacity_gib": "2"})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.name, pool.tags, pool.capacity_bytes) == ("renamed", "a,b", 2 * 2**30)
    client.post(_url("disable", pool))
    pool.refresh_from_db()
    assert pool.status == "Disabled"
    client.post(_url("enable", pool))
    with run_jobs():
        response = client.post(_url("maintenance", pool))
    job = AsyncJob.objects.get(cmd="enableStorageMaintenance")
    assert response["Location"] == reverse("ui:job_detail", kwargs={"job_id": job.uuid})
    pool.refresh_from_db()
    assert pool.status == "Maintenance"
    with run_jobs():
        client.post(_url("cancel_maintenance", pool))
    pool.refresh_from_db()
    assert pool.status == "Up"
    Volume.objects.create(name="v", zone=cloud.zone, storage_pool=pool, account=cloud.alice.account,
                          domain=cloud.alice.account.domain)
    response = client.post(_url("delete", pool), follow=True)
    assert "still holds 1 volume" in response.content.decode()
    pool.refresh_from_db()
    assert pool.removed is None
    Volume.objects.all().delete()
    response = client.post(_url("delete", pool))
    assert response["Location"] == reverse("ui:storage_pool_list")
    pool.refresh_from_db()
    assert pool.removed is not None


def test_image_store_pages(cloud, login, tmp_path):
    client = login(cloud.admin)
    assert client.get(reverse("ui:image_store_add")).status_code == 200
    response = client.post(reverse("ui:image_store_add"), {"name": "local", "zone": str(cloud.zone.uuid),
                                                           "provider": "Local", "url": f"file://{tmp_path}"})
    assert response.status_code == 302
    response = client.post(reverse("ui:image_store_add"), {"name": "bad", "zone": str(cloud.zone.uuid),
                                                           "provider": "NFS", "url": "file:///x"})
    assert response.status_code == 400 and "nfs://server/path" in response.content.decode()
    store = ImageStore.objects.get()
    html = client.get(reverse("ui:image_store_list")).content.decode()
    assert "local" in html and str(tmp_path) in html
    assert client.post(reverse("ui:image_store_delete", kwargs={"store_id": store.uuid})).status_code == 302
    assert not ImageStore.objects.exists()


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_users_get_403_everywhere(cloud, login, user):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    store = factories.ImageStoreFactory(zone=cloud.zone)
    client = login(getattr(cloud, user))
    for url in (reverse("ui:storage_pool_list"), reverse("ui:storage_pool_add"), _url("detail", pool),
                reverse("ui:image_store_list"), reverse("ui:image_store_add")):
        assert client.get(url).status_code == 403, url
    for action in ("enable", "disable", "maintenance", "cancel_maintenance", "update", "delete"):
        assert client.post(_url(action, pool), {"name": "mine"}).status_code == 403, action
    assert client.post(reverse("ui:image_store_delete", kwargs={"store_id": store.uuid})).status_code == 403
    pool.refresh_from_db()
    assert pool.name != "mine" and pool.removed is None and ImageStore.objects.count() == 1


def test_list_query_counts_are_constant(cloud, login):
    client = login(cloud.admin)

    def add() -> None:
        for _ in range(4):
            factories.StoragePoolFactory()
            factories.ImageStoreFactory()

    factories.StoragePoolFactory()
    factories.ImageStoreFactory()
    assert_queries_constant(lambda: ok(client.get(reverse("ui:storage_pool_list"))), add)
    assert_queries_constant(lambda: ok(client.get(reverse("ui:image_store_list"))), add)
