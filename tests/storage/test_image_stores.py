"""Secondary storage (image stores) through the service layer."""

from __future__ import annotations

import os

import pytest

from portal.errors import InvalidParameter, PermissionDenied
from portal.models import Event
from storage.models import ImageStore
from storage.selectors_pools import image_store_list, image_store_size
from storage.services_image_stores import image_store_add, image_store_delete

pytestmark = pytest.mark.django_db


def test_add_nfs_store(cloud):
    store = image_store_add(caller=cloud.admin, zone=cloud.zone, name="sec1", url="nfs://10.0.0.9/export/sec/")
    assert (store.provider, store.protocol, store.server, store.path, store.url) == (
        "NFS", "nfs", "10.0.0.9", "/export/sec", "nfs://10.0.0.9/export/sec")
    assert store.capacity_bytes == 0
    assert Event.objects.filter(type="IMAGE.STORE.ADD", resource_id=str(store.uuid)).exists()


def test_add_local_store_measures_its_directory(cloud, tmp_path):
    store = image_store_add(caller=cloud.admin, zone=cloud.zone, name="local", url=f"file://{tmp_path}",
                            provider="local")
    stats = os.statvfs(tmp_path)
    assert store.provider == "Local" and store.protocol == "file"
    assert store.capacity_bytes == stats.f_blocks * stats.f_frsize > 0
    assert 0 <= store.used_bytes <= store.capacity_bytes


def test_local_store_without_its_directory_yet(cloud, tmp_path):
    missing = tmp_path / "later"
    store = image_store_add(caller=cloud.admin, zone=cloud.zone, name="later", url=f"file://{missing}",
                            provider="Local")
    assert (store.capacity_bytes, image_store_size(store)) == (0, (0, 0))
    missing.mkdir()
    assert image_store_size(store)[0] > 0


@pytest.mark.parametrize("url,provider,message", [
    ("file:///srv/x", "NFS", "nfs://server/path"),
    ("nfs://server/x", "Local", "file:///path"),
    ("nfs:///x", "NFS", "nfs://server/path"),
    ("nfs://server/../x", "NFS", "normalised"),
    ("s3://bucket", "S3", "Unsupported image store provider"),
])
def test_bad_stores_are_refused(cloud, url, provider, message):
    with pytest.raises(InvalidParameter, match=message):
        image_store_add(caller=cloud.admin, zone=cloud.zone, name="x", url=url, provider=provider)
    assert not ImageStore.objects.exists()


def test_duplicates_are_refused(cloud):
    image_store_add(caller=cloud.admin, zone=cloud.zone, name="sec1", url="nfs://h/export")
    with pytest.raises(InvalidParameter, match="already registered"):
        image_store_add(caller=cloud.admin, zone=cloud.zone, name="sec2", url="nfs://h/export/")
    with pytest.raises(InvalidParameter, match="already exists"):
        image_store_add(caller=cloud.admin, zone=cloud.zone, name="SEC1", url="nfs://h/other")


def test_delete_and_non_root_refusals(cloud):
    store = image_store_add(caller=cloud.admin, zone=cloud.zone, name="sec1", url="nfs://h/export")
    for user in (cloud.alice, cloud.bob):
        with pytest.raises(PermissionDenied):
            image_store_add(caller=user, zone=cloud.zone, name="x", url="nfs://h/x")
        with pytest.raises(PermissionDenied):
            image_store_delete(caller=user, store=store)
        with pytest.raises(PermissionDenied):
            image_store_list(caller=user)
    image_store_delete(caller=cloud.admin, store=store)
    assert not ImageStore.objects.exists()
    assert Event.objects.filter(type="IMAGE.STORE.DELETE").exists()
