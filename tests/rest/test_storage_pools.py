"""/api/v1/storage-pools/ and /api/v1/image-stores/: root admins only; maintenance answers 202 with the job."""

from __future__ import annotations

import pytest

from portal.models import AsyncJob
from storage.models import ImageStore, StoragePool, Volume
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

POOLS = "/api/v1/storage-pools/"
STORES = "/api/v1/image-stores/"


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def _pool(pool: StoragePool) -> str:
    return f"{POOLS}{pool.uuid}/"


def test_create_list_and_retrieve(cloud, admin_api, run_jobs):
    with run_jobs():
        response = admin_api.post(POOLS, {"zone": str(cloud.zone.uuid), "name": "primary",
                                          "storage_url": "rbd://cloud:c2VjcmV0@mon1/volumes", "scope": "ZONE",
                                          "tags": ["ssd"], "capacity_bytes": 2**30}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["pool_type"], created["scope"], created["state"], created["tags"]) == (
        "RBD", "ZONE", "Up", ["ssd"])
    assert created["storage_url"] == "rbd://cloud@mon1/volumes" and "c2VjcmV0" not in str(created)
    assert "rbd_secret_encrypted" not in created
    body = admin_api.get(POOLS).json()
    assert body["count"] == 1 and body["results"][0]["capacity_bytes"] == 2**30
    assert admin_api.get(f"{POOLS}{created['id']}/").json()["name"] == "primary"


def test_create_refuses_bad_input(cloud, admin_api):
    assert_error(admin_api.post(POOLS, {"zone": str(cloud.zone.uuid), "name": "p", "storage_url": "ftp://x/y",
                                        "cluster": str(cloud.host.cluster.uuid)}, format="json"), 400, 431)
    assert_error(admin_api.post(POOLS, {"zone": str(cloud.zone.uuid), "name": "p", "storage_url": "/x",
                                        "cluster": str(cloud.host.uuid)}, format="json"), 400, 431)
    assert not StoragePool.objects.exists()


def test_filters(cloud, admin_api):
    factories.StoragePoolFactory(cluster=cloud.host.cluster, name="a")
    factories.StoragePoolFactory(zone=cloud.zone, cluster=None, pod=None, scope="ZONE", name="b",
                                 status="Disabled")
    assert admin_api.get(POOLS, {"scope": "ZONE"}).json()["results"][0]["name"] == "b"
    assert admin_api.get(POOLS, {"state": "Disabled"}).json()["count"] == 1
    assert admin_api.get(POOLS, {"cluster": str(cloud.host.cluster.uuid)}).json()["count"] == 1
    assert admin_api.get(POOLS, {"zone": str(cloud.zone.uuid)}).json()["count"] == 2
    assert_error(admin_api.get(POOLS, {"state": "Sleeping"}), 400, 431)


def test_patch_delete_and_maintenance(cloud, admin_api, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    response = admin_api.patch(_pool(pool), {"name": "renamed", "tags": ["x"], "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["tags"], response.json()["state"]) == (
        "renamed", ["x"], "Disabled")
    with run_jobs():
        response = admin_api.post(f"{_pool(pool)}maintenance/")
    assert response.status_code == 202 and response.json()["resource"]["type"] == "storagepool"
    pool.refresh_from_db()
    assert pool.status == "Maintenance"
    with run_jobs():
        assert admin_api.post(f"{_pool(pool)}cancel-maintenance/").status_code == 202
    pool.refresh_from_db()
    assert pool.status == "Up"
    assert_error(admin_api.post(f"{_pool(pool)}cancel-maintenance/"), 409, 431)
    Volume.objects.create(name="v", zone=cloud.zone, storage_pool=pool, account=cloud.alice.account,
                          domain=cloud.alice.account.domain)
    assert_error(admin_api.delete(_pool(pool)), 409, 536)
    Volume.objects.all().delete()
    assert admin_api.delete(_pool(pool)).status_code == 204
    assert_error(admin_api.get(_pool(pool)), 404, 431)


def test_image_stores(cloud, admin_api, tmp_path):
    response = admin_api.post(STORES, {"zone": str(cloud.zone.uuid), "name": "local",
                                       "storage_url": f"file://{tmp_path}", "provider": "Local"}, format="json")
    assert response.status_code == 201, response.content
    store = response.json()
    assert store["protocol"] == "file" and store["capacity_bytes"] > 0
    assert_error(admin_api.post(STORES, {"zone": str(cloud.zone.uuid), "name": "bad", "storage_url": "file:///x",
                                         "provider": "NFS"}, format="json"), 400, 431)
    assert admin_api.get(STORES, {"provider": "Local"}).json()["count"] == 1
    assert admin_api.delete(f"{STORES}{store['id']}/").status_code == 204
    assert not ImageStore.objects.exists()


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_callers_are_refused_everywhere(cloud, client_for, user):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    store = factories.ImageStoreFactory(zone=cloud.zone)
    api = client_for(getattr(cloud, user))
    assert_error(api.get(POOLS), 403, 531)
    assert_error(api.get(_pool(pool)), 403, 531)
    assert_error(api.post(POOLS, {"zone": str(cloud.zone.uuid), "name": "x", "storage_url": "/x",
                                  "cluster": str(cloud.host.cluster.uuid)}, format="json"), 403, 531)
    assert_error(api.patch(_pool(pool), {"name": "mine"}, format="json"), 403, 531)
    assert_error(api.delete(_pool(pool)), 403, 531)
    for action in ("maintenance", "cancel-maintenance"):
        assert_error(api.post(f"{_pool(pool)}{action}/"), 403, 531)
    assert_error(api.get(STORES), 403, 531)
    assert_error(api.get(f"{STORES}{store.uuid}/"), 403, 531)
    assert_error(api.post(STORES, {"zone": str(cloud.zone.uuid), "name": "x", "storage_url": "nfs://h/x"},
                          format="json"), 403, 531)
    assert_error(api.delete(f"{STORES}{store.uuid}/"), 403, 531)
    pool.refresh_from_db()
    assert pool.name != "mine" and pool.removed is None and pool.status == "Up"
    assert StoragePool.objects.count() == 1 and ImageStore.objects.count() == 1 and not AsyncJob.objects.exists()


def test_list_query_counts_are_constant(cloud, admin_api):
    def add() -> None:
        for _ in range(5):
            factories.StoragePoolFactory()
            factories.ImageStoreFactory()

    factories.StoragePoolFactory()
    factories.ImageStoreFactory()
    small, large = assert_queries_constant(lambda: ok(admin_api.get(POOLS)), add, at_most=6)
    assert large.json()["count"] == small.json()["count"] + 5
    factories.ImageStoreFactory()
    small, large = assert_queries_constant(lambda: ok(admin_api.get(STORES)), add, at_most=6)
    assert large.json()["count"] == small.json()["count"] + 5
