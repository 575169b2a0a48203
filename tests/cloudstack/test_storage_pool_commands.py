"""The primary and secondary storage commands of the CloudStack API, with CloudStack's field names, as root
admin; refused to everyone else."""

from __future__ import annotations

import pytest

from portal.models import AsyncJob
from storage.models import ImageStore, StoragePool, Volume
from tests import factories
from tests.support.queries import assert_queries_constant

pytestmark = pytest.mark.django_db

POOL_KEYS = {"id", "name", "zoneid", "zonename", "podid", "podname", "clusterid", "clustername", "ipaddress",
             "path", "type", "scope", "state", "tags", "disksizetotal", "disksizeallocated", "disksizeused",
             "created", "overprovisionfactor"}
STORE_KEYS = {"id", "name", "url", "protocol", "providername", "scope", "zoneid", "zonename", "readonly",
              "disksizetotal", "disksizeused"}


def _job(api_json, jobid: str) -> dict:
    status, body = api_json("admin", "queryAsyncJobResult", jobid=jobid)
    assert status == 200
    return body


def test_create_storage_pool_and_list_it(cloud, api_json, run_jobs):
    with run_jobs():
        status, body = api_json("admin", "createStoragePool", zoneid=str(cloud.zone.uuid), name="primary",
                                url="nfs://10.1.1.1/export/primary", podid=str(cloud.host.pod.uuid),
                                clusterid=str(cloud.host.cluster.uuid), tags="ssd", hypervisor="KVM",
                                **{"details[0].key": "nfsmountopts", "details[0].value": "vers=4"})
    assert status == 200, body
    created = body["storagepool"]
    assert set(created) >= POOL_KEYS
    assert (created["type"], created["scope"], created["state"], created["ipaddress"], created["path"]) == (
        "NetworkFilesystem", "CLUSTER", "Up", "10.1.1.1", "/export/primary")
    assert (created["clusterid"], created["podid"], created["tags"]) == (
        str(cloud.host.cluster.uuid), str(cloud.host.pod.uuid), "ssd")
    assert StoragePool.objects.get(uuid=created["id"]).details == {"nfsmountopts": "vers=4"}
    status, body = api_json("admin", "listStoragePools", id=created["id"])
    assert body["count"] == 1
    listed = body["storagepool"][0]
    assert listed["disksizetotal"] == 100 * 2**30 and listed["overprovisionfactor"] == "2.0"


def test_create_zone_pool_without_cluster(cloud, api_json, run_jobs):
    with run_jobs():
        status, body = api_json("admin", "createStoragePool", zoneid=str(cloud.zone.uuid), name="zonewide",
                                url="/cirrostack/test/zonewide", scope="zone")
    assert status == 200, body
    assert body["storagepool"]["scope"] == "ZONE" and "clusterid" not in body["storagepool"]


def test_rbd_secret_is_never_rendered(cloud, api_json, run_jobs):
    with run_jobs():
        status, body = api_json("admin", "createStoragePool", zoneid=str(cloud.zone.uuid), name="ceph",
                                url="rbd://cloud:c2VjcmV0a2V5@mon1/volumes", scope="zone")
    assert status == 200, body
    assert "c2VjcmV0a2V5" not in str(body)
    assert "c2VjcmV0a2V5" not in str(api_json("admin", "listStoragePools")[1])


def test_create_storage_pool_errors(cloud, api_json):
    status, body = api_json("admin", "createStoragePool", zoneid=str(cloud.zone.uuid), name="p", url="iscsi://x/y",
                            clusterid=str(cloud.host.cluster.uuid))
    assert status == 431 and "scheme" in body["errortext"]
    status, body = api_json("admin", "createStoragePool", zoneid=str(cloud.zone.uuid), name="p", url="/x",
                            scope="cluster")
    assert status == 431 and "cluster" in body["errortext"]
    assert not StoragePool.objects.exists()


def test_list_filters(cloud, api_json):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster, name="alpha")
    factories.StoragePoolFactory(zone=cloud.zone, cluster=None, pod=None, scope="ZONE", name="beta",
                                 status="Maintenance")
    factories.StoragePoolFactory(name="gone", removed="2026-01-01T00:00:00Z")
    assert api_json("admin", "listStoragePools")[1]["count"] == 2
    assert api_json("admin", "listStoragePools", clusterid=str(cloud.host.cluster.uuid))[1]["count"] == 1
    assert api_json("admin", "listStoragePools", scope="zone")[1]["storagepool"][0]["name"] == "beta"
    assert api_json("admin", "listStoragePools", status="Maintenance")[1]["count"] == 1
    assert api_json("admin", "listStoragePools", keyword="alp")[1]["storagepool"][0]["id"] == str(pool.uuid)
    assert api_json("admin", "listStoragePools", name="beta")[1]["count"] == 1
    assert api_json("admin", "listStoragePools", path=pool.path)[1]["count"] == 1


def test_update_and_delete(cloud, api_json):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    status, body = api_json("admin", "updateStoragePool", id=str(pool.uuid), tags="a,b", enabled="false",
                            capacitybytes=2**30, name="renamed")
    assert status == 200, body
    updated = body["storagepool"]
    assert (updated["name"], updated["tags"], updated["state"], updated["disksizetotal"]) == (
        "renamed", "a,b", "Disabled", 2**30)
    Volume.objects.create(name="v", zone=cloud.zone, storage_pool=pool, account=cloud.alice.account,
                          domain=cloud.alice.account.domain)
    status, body = api_json("admin", "deleteStoragePool", id=str(pool.uuid))
    assert status == 536 and body["errorcode"] == 536, body
    Volume.objects.all().delete()
    status, body = api_json("admin", "deleteStoragePool", id=str(pool.uuid))
    assert status == 200 and body["success"] is True
    assert api_json("admin", "listStoragePools")[1] == {}


def test_maintenance_commands_are_async(cloud, api_json, run_jobs):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    with run_jobs():
        status, body = api_json("admin", "enableStorageMaintenance", id=str(pool.uuid))
    assert status == 200 and "jobid" in body, body
    job = _job(api_json, body["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["storagepool"]["state"] == "Maintenance", job
    assert job["jobinstancetype"] == "StoragePool"
    status, body = api_json("admin", "enableStorageMaintenance", id=str(pool.uuid))
    assert status == 431, body
    with run_jobs():
        _status, body = api_json("admin", "cancelStorageMaintenance", id=str(pool.uuid))
    assert _job(api_json, body["jobid"])["jobresult"]["storagepool"]["state"] == "Up"


def test_image_store_commands(cloud, api_json, tmp_path):
    status, body = api_json("admin", "addImageStore", provider="NFS", url="nfs://10.1.1.2/export/secondary",
                            zoneid=str(cloud.zone.uuid), name="sec")
    assert status == 200, body
    store = body["imagestore"]
    assert set(store) >= STORE_KEYS
    assert (store["protocol"], store["providername"], store["scope"], store["zonename"], store["readonly"]) == (
        "nfs", "NFS", "ZONE", cloud.zone.name, False)
    status, body = api_json("admin", "addImageStore", provider="Local", url=f"file://{tmp_path}",
                            zoneid=str(cloud.zone.uuid))
    assert status == 200 and body["imagestore"]["disksizetotal"] > 0 and body["imagestore"]["name"] == (
        f"file://{tmp_path}")
    assert api_json("admin", "listImageStores")[1]["count"] == 2
    assert api_json("admin", "listImageStores", protocol="nfs")[1]["imagestore"][0]["name"] == "sec"
    assert api_json("admin", "listImageStores", provider="Local")[1]["count"] == 1
    status, body = api_json("admin", "addImageStore", provider="NFS", url="file:///x", zoneid=str(cloud.zone.uuid))
    assert status == 431
    status, body = api_json("admin", "deleteImageStore", id=store["id"])
    assert status == 200 and body["success"] is True
    assert ImageStore.objects.count() == 1


@pytest.mark.parametrize("command,params", [
    ("listStoragePools", {}),
    ("createStoragePool", {"zoneid": "<zone>", "name": "x", "url": "/x", "clusterid": "<cluster>"}),
    ("updateStoragePool", {"id": "<pool>", "name": "mine"}),
    ("deleteStoragePool", {"id": "<pool>"}),
    ("enableStorageMaintenance", {"id": "<pool>"}),
    ("cancelStorageMaintenance", {"id": "<pool>"}),
    ("addImageStore", {"provider": "NFS", "url": "nfs://h/x", "zoneid": "<zone>"}),
    ("listImageStores", {}),
    ("deleteImageStore", {"id": "<store>"}),
])
def test_non_root_callers_are_refused(cloud, api_json, command, params):
    pool = factories.StoragePoolFactory(cluster=cloud.host.cluster)
    store = factories.ImageStoreFactory(zone=cloud.zone)
    ids = {"<zone>": cloud.zone.uuid, "<cluster>": cloud.host.cluster.uuid, "<pool>": pool.uuid,
           "<store>": store.uuid}
    params = {key: str(ids.get(value, value)) for key, value in params.items()}
    for user in ("alice", "bob"):
        status, body = api_json(user, command, **params)
        assert status == 401 and "not available" in body["errortext"], body
    pool.refresh_from_db()
    assert pool.name != "mine" and pool.status == "Up" and pool.removed is None
    assert StoragePool.objects.count() == 1 and ImageStore.objects.count() == 1
    assert not AsyncJob.objects.exists()


def test_list_query_counts_are_constant(cloud, api_json):
    def grow():
        for _ in range(3):
            factories.StoragePoolFactory(cluster=factories.ClusterFactory(pod__zone=cloud.zone))
            factories.ImageStoreFactory(zone=factories.ZoneFactory())

    factories.StoragePoolFactory(cluster=cloud.host.cluster)
    factories.ImageStoreFactory(zone=cloud.zone)
    before, after = assert_queries_constant(lambda: (api_json("admin", "listStoragePools"),
                                                     api_json("admin", "listImageStores")), grow)
    assert (before[0][1]["count"], after[0][1]["count"]) == (1, 4)
    assert (before[1][1]["count"], after[1][1]["count"]) == (1, 4)
