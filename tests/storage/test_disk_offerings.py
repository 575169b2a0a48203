"""Disk offerings: create rules (fixed or custom size, I/O limits, storage type), updates, delete-as-removed,
domain scoping of the list, and the size a disk gets (custom.diskoffering.size.min/max)."""

from __future__ import annotations

import pytest

from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.models import ConfigurationValue, Event
from storage.models import DiskOffering
from storage.selectors_disk_offerings import disk_offering_get, disk_offering_list
from storage.services_disk_offerings import (
    disk_offering_create,
    disk_offering_delete,
    disk_offering_resolve_size,
    disk_offering_update,
)
from tests import factories

pytestmark = pytest.mark.django_db
GIB = 2**30


def test_create_fixed_and_custom(cloud):
    fixed = disk_offering_create(caller=cloud.admin, name="Data 10", disk_size_gb=10, storage_tags="ssd, fast",
                                 iops_read_rate=500, bytes_write_rate=0, storage_type="LOCAL")
    assert (fixed.disk_size, fixed.is_customized, fixed.storage_tags, fixed.storage_type) == (
        10 * GIB, False, "ssd,fast", "local")
    assert (fixed.iops_read_rate, fixed.bytes_write_rate, fixed.display_text) == (500, None, "Data 10")
    custom = disk_offering_create(caller=cloud.admin, name="Any")
    assert custom.is_customized and custom.disk_size == 0
    assert Event.objects.filter(type="DISK.OFFERING.CREATE").count() == 2


@pytest.mark.parametrize("kwargs,words", [
    ({"customized": True, "disk_size_gb": 5}, "takes no disksize"),
    ({"customized": False}, "Disksize is required"),
    ({"disk_size_gb": 0}, "at least 1 GB"),
    ({"disk_size_gb": 1, "iops_write_rate": -1}, "iopswriterate"),
    ({"disk_size_gb": 1, "storage_type": "nfs"}, "storage type"),
    ({"name": " ", "disk_size_gb": 1}, "name"),
])
def test_invalid_disk_offerings_are_refused(cloud, kwargs, words):
    with pytest.raises(InvalidParameter, match=words):
        disk_offering_create(caller=cloud.admin, **{"name": "Bad", **kwargs})
    assert not DiskOffering.objects.exists() and not Event.objects.exists()


def test_users_cannot_manage_disk_offerings(cloud):
    offering = DiskOffering.objects.create(name="Data", disk_size=GIB)
    with pytest.raises(PermissionDenied):
        disk_offering_create(caller=cloud.alice, name="Mine", disk_size_gb=1)
    with pytest.raises(PermissionDenied):
        disk_offering_update(caller=cloud.alice, offering=offering, name="Mine")
    with pytest.raises(PermissionDenied):
        disk_offering_delete(caller=cloud.alice, offering=offering)
    offering.refresh_from_db()
    assert (offering.name, offering.removed, DiskOffering.objects.count()) == ("Data", None, 1)


def test_update_rates_keep_the_ones_left_out(cloud):
    offering = disk_offering_create(caller=cloud.admin, name="Data", disk_size_gb=1, iops_read_rate=100,
                                    bytes_read_rate=2048)
    disk_offering_update(caller=cloud.admin, offering=offering, rates={"iops_read_rate": 0, "iops_write_rate": 50},
                         storage_tags="", display_offering=False)
    offering.refresh_from_db()
    assert (offering.iops_read_rate, offering.iops_write_rate, offering.bytes_read_rate) == (None, 50, 2048)
    assert offering.display_offering is False and offering.storage_tags == ""
    with pytest.raises(InvalidParameter, match="Unknown"):
        disk_offering_update(caller=cloud.admin, offering=offering, rates={"speed": 1}, name="Renamed")
    offering.refresh_from_db()
    assert offering.name == "Data"


def test_list_is_scoped_by_domain_and_visibility(cloud):
    root = cloud.admin.account.domain
    sales = factories.DomainFactory(name="Sales", parent=root)
    public = DiskOffering.objects.create(name="Public", disk_size=GIB)
    mine = DiskOffering.objects.create(name="Sales only", disk_size=GIB)
    mine.domains.add(sales)
    hidden = DiskOffering.objects.create(name="Hidden", disk_size=GIB, display_offering=False)
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=sales)
    assert set(disk_offering_list(caller=cloud.alice)) == {public}
    assert set(disk_offering_list(caller=carol)) == {public, mine}
    assert set(disk_offering_list(caller=cloud.admin)) == {public, mine, hidden}
    with pytest.raises(NotFound):
        disk_offering_get(caller=cloud.alice, offering_id=str(mine.uuid))


def test_delete_marks_removed(cloud):
    offering = DiskOffering.objects.create(name="Data", disk_size=GIB)
    disk_offering_delete(caller=cloud.admin, offering=offering)
    offering.refresh_from_db()
    assert offering.removed is not None and offering not in disk_offering_list(caller=cloud.admin)
    with pytest.raises(InvalidParameter, match="already"):
        disk_offering_delete(caller=cloud.admin, offering=offering)


def test_resolve_size(cloud):
    fixed = DiskOffering.objects.create(name="Ten", disk_size=10 * GIB)
    custom = DiskOffering.objects.create(name="Any", is_customized=True)
    assert disk_offering_resolve_size(offering=fixed, size_gb=None) == 10 * GIB
    assert disk_offering_resolve_size(offering=fixed, size_gb=10) == 10 * GIB
    with pytest.raises(InvalidParameter, match="fixed size"):
        disk_offering_resolve_size(offering=fixed, size_gb=20)
    assert disk_offering_resolve_size(offering=custom, size_gb=1024) == 1024 * GIB
    with pytest.raises(InvalidParameter, match="size is required"):
        disk_offering_resolve_size(offering=custom, size_gb=None)
    with pytest.raises(InvalidParameter, match=r"custom\.diskoffering\.size\.max"):
        disk_offering_resolve_size(offering=custom, size_gb=1025)
    ConfigurationValue.objects.create(name="custom.diskoffering.size.min", scope="global", scope_id=0, value="5")
    with pytest.raises(InvalidParameter, match="between 5 and 1024"):
        disk_offering_resolve_size(offering=custom, size_gb=4)
