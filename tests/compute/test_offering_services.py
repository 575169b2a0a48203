"""Compute offerings: CloudStack's create rules for fixed, custom constrained and custom unconstrained
offerings, updates, delete-as-removed, events, and the size a VM gets from an offering."""

from __future__ import annotations

import pytest

from compute.models import ServiceOffering, VirtualMachine
from compute.selectors import offering_get, offering_list
from compute.services_offerings import (
    offering_create,
    offering_delete,
    offering_resolve_size,
    offering_update,
)
from portal.errors import InvalidParameter, NotFound, PermissionDenied, ResourceInUse
from portal.models import Event
from tests import factories

pytestmark = pytest.mark.django_db


def _vm(cloud, user, offering: ServiceOffering) -> VirtualMachine:
    """A VM row using the offering (no hypervisor work is needed to hold an offering)."""
    return VirtualMachine.objects.create(
        name="vm1", zone=cloud.zone, service_offering=offering, template=cloud.template, account=user.account,
        domain=user.account.domain, cpu_number=1, cpu_speed=1000, memory=512)


def test_fixed_offering_with_every_option(cloud):
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    offering = offering_create(
        caller=cloud.admin, name=" Medium ", cpu_number=2, cpu_speed=2000, memory=2048, offer_ha=True,
        limit_cpu_use=True, is_volatile=True, host_tags="ssd, gpu", storage_tags=["fast"], domains=[sales],
        deployment_planner="UserDispersingPlanner", root_disk_size_gb=20, dynamic_scaling_enabled=False)
    offering.refresh_from_db()
    assert (offering.name, offering.display_text, offering.cpu_number, offering.cpu_speed, offering.memory) == (
        "Medium", "Medium", 2, 2000, 2048)
    assert offering.offer_ha and offering.limit_cpu_use and offering.is_volatile
    assert not offering.is_customized and not offering.dynamic_scaling_enabled
    assert (offering.host_tags, offering.storage_tags, offering.root_disk_size) == ("ssd,gpu", "fast", 20 * 2**30)
    assert list(offering.domains.all()) == [sales]
    event = Event.objects.get(type="SERVICE.OFFERING.CREATE")
    assert event.resource_id == str(offering.uuid) and event.user == cloud.admin


def test_custom_constrained_and_unconstrained(cloud):
    constrained = offering_create(caller=cloud.admin, name="Flex", customized=True, cpu_speed=1500,
                                  min_cpu_number=1, max_cpu_number=4, min_memory=512, max_memory=4096)
    assert constrained.is_customized and constrained.cpu_number is None and constrained.memory is None
    assert (constrained.min_cpu_number, constrained.max_cpu_number, constrained.cpu_speed) == (1, 4, 1500)
    # Leaving out CPU number and memory asks for a custom offering (older clients send no `customized`).
    free = offering_create(caller=cloud.admin, name="Any")
    assert free.is_customized and free.cpu_speed is None and free.min_memory is None


@pytest.mark.parametrize("kwargs,words", [
    ({"name": ""}, "name"),
    ({"customized": False, "cpu_number": 1, "memory": 512}, "cpuspeed"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 16}, "memory"),
    ({"cpu_number": 0, "cpu_speed": 1000, "memory": 512}, "cpunumber"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "min_cpu_number": 1}, "only for custom"),
    ({"customized": True, "cpu_number": 2}, "should be null"),
    ({"customized": True, "min_cpu_number": 1, "max_cpu_number": 2}, "all be null or all specified"),
    ({"customized": True, "cpu_speed": 1000, "min_cpu_number": 4, "max_cpu_number": 2, "min_memory": 512,
      "max_memory": 1024}, "mincpunumber"),
    ({"customized": True, "cpu_speed": 1000, "min_cpu_number": 1, "max_cpu_number": 2, "min_memory": 2048,
      "max_memory": 1024}, "minmemory"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "offer_ha": True, "storage_type": "local"}, "HA"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "storage_type": "nfs"}, "storage type"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "system_vm_type": "consoleproxy"}, "systemvmtype"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "is_system": True, "system_vm_type": "x"}, "systemVmType"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "deployment_planner": "Nope"}, "Deployment Planner"),
    ({"cpu_number": 1, "cpu_speed": 1000, "memory": 512, "root_disk_size_gb": 0}, "rootdisksize"),
])
def test_invalid_offerings_are_refused_and_nothing_is_created(cloud, kwargs, words):
    before = ServiceOffering.objects.count()
    with pytest.raises(InvalidParameter, match=words):
        offering_create(caller=cloud.admin, **{"name": "Bad", **kwargs})
    assert ServiceOffering.objects.count() == before
    assert not Event.objects.filter(type="SERVICE.OFFERING.CREATE").exists()


def test_system_offering_defaults_to_the_virtual_router(cloud):
    offering = offering_create(caller=cloud.admin, name="router", cpu_number=1, cpu_speed=500, memory=256,
                               is_system=True)
    assert offering.is_system and offering.system_vm_type == "domainrouter"


def test_only_root_admins_manage_offerings(cloud):
    with pytest.raises(PermissionDenied):
        offering_create(caller=cloud.alice, name="Mine", cpu_number=1, cpu_speed=1000, memory=512)
    with pytest.raises(PermissionDenied):
        offering_update(caller=cloud.alice, offering=cloud.offering, name="Mine")
    with pytest.raises(PermissionDenied):
        offering_delete(caller=cloud.alice, offering=cloud.offering)
    cloud.offering.refresh_from_db()
    assert cloud.offering.name == "Small" and cloud.offering.removed is None


def test_update_names_tags_and_domains(cloud):
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    offering = offering_update(caller=cloud.admin, offering=cloud.offering, name="Tiny", display_text="",
                               host_tags="a,b", storage_tags="", domains=[sales])
    offering.refresh_from_db()
    assert (offering.name, offering.display_text, offering.host_tags, offering.storage_tags) == (
        "Tiny", "Tiny", "a,b", "")
    assert list(offering.domains.all()) == [sales]
    assert Event.objects.filter(type="SERVICE.OFFERING.EDIT").count() == 1
    # "public" again
    offering_update(caller=cloud.admin, offering=offering, domains=[])
    assert not offering.domains.exists()


def test_domains_cannot_be_narrowed_away_from_vms_that_use_the_offering(cloud):
    _vm(cloud, cloud.alice, cloud.offering)
    other = factories.DomainFactory(name="Other", parent=cloud.admin.account.domain)
    with pytest.raises(ResourceInUse, match="1 VM"):
        offering_update(caller=cloud.admin, offering=cloud.offering, domains=[other], name="Renamed")
    cloud.offering.refresh_from_db()
    assert cloud.offering.name == "Small" and not cloud.offering.domains.exists()


def test_delete_hides_the_offering_but_vms_keep_it(cloud):
    vm = _vm(cloud, cloud.alice, cloud.offering)
    offering_delete(caller=cloud.admin, offering=cloud.offering)
    cloud.offering.refresh_from_db()
    assert cloud.offering.removed is not None
    assert cloud.offering not in offering_list(caller=cloud.alice)
    with pytest.raises(NotFound):
        offering_get(caller=cloud.admin, offering_id=str(cloud.offering.uuid))
    vm.refresh_from_db()
    assert vm.service_offering == cloud.offering
    assert Event.objects.filter(type="SERVICE.OFFERING.DELETE").count() == 1
    with pytest.raises(InvalidParameter, match="already"):
        offering_delete(caller=cloud.admin, offering=cloud.offering)


def test_offering_with_several_domains_is_listed_once(cloud):
    root = cloud.admin.account.domain
    sales, eng = (factories.DomainFactory(name=n, parent=root) for n in ("Sales", "Eng"))
    both = factories.ServiceOfferingFactory(name="Both", domains=[sales, eng])
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=sales)
    assert list(offering_list(caller=carol).filter(name="Both")) == [both]
    assert list(offering_list(caller=cloud.admin).filter(name="Both")) == [both]
    assert not offering_list(caller=cloud.alice).filter(name="Both").exists()


# --- offering_resolve_size -----------------------------------------------------------------------------------

def test_fixed_offering_sizes_and_refuses_other_values(cloud):
    assert offering_resolve_size(offering=cloud.offering, cpu_number=None, cpu_speed=None, memory=None) == (
        1, 1000, 512)
    assert offering_resolve_size(offering=cloud.offering, cpu_number=1, cpu_speed=1000, memory=512) == (1, 1000, 512)
    with pytest.raises(InvalidParameter, match="fixed memory"):
        offering_resolve_size(offering=cloud.offering, cpu_number=None, cpu_speed=None, memory=1024)


def test_constrained_offering_checks_bounds(cloud):
    flex = offering_create(caller=cloud.admin, name="Flex", customized=True, cpu_speed=1500, min_cpu_number=1,
                           max_cpu_number=4, min_memory=512, max_memory=4096)
    assert offering_resolve_size(offering=flex, cpu_number=4, cpu_speed=None, memory=512) == (4, 1500, 512)
    with pytest.raises(InvalidParameter, match="between 1 and 4"):
        offering_resolve_size(offering=flex, cpu_number=5, cpu_speed=None, memory=512)
    with pytest.raises(InvalidParameter, match="between 512 and 4096"):
        offering_resolve_size(offering=flex, cpu_number=2, cpu_speed=None, memory=8192)
    with pytest.raises(InvalidParameter, match="memory is required"):
        offering_resolve_size(offering=flex, cpu_number=2, cpu_speed=None, memory=None)
    with pytest.raises(InvalidParameter, match="fixed cpuSpeed"):
        offering_resolve_size(offering=flex, cpu_number=2, cpu_speed=3000, memory=1024)


def test_unconstrained_offering_needs_every_value(cloud):
    free = offering_create(caller=cloud.admin, name="Any", customized=True)
    assert offering_resolve_size(offering=free, cpu_number=8, cpu_speed=2500, memory=65536) == (8, 2500, 65536)
    with pytest.raises(InvalidParameter, match="cpuSpeed is required"):
        offering_resolve_size(offering=free, cpu_number=8, cpu_speed=None, memory=1024)
    with pytest.raises(InvalidParameter, match="between 32"):
        offering_resolve_size(offering=free, cpu_number=1, cpu_speed=1000, memory=16)
