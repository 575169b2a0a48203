"""Topology services: validation, delete refused while in use (nothing changed), root admins only."""

from __future__ import annotations

import pytest

from accounts.models import Account
from infrastructure import services_topology as services
from infrastructure.models import Cluster, PhysicalNetwork, Pod, Zone
from portal.configuration import GLOBAL
from portal.errors import InvalidParameter, PermissionDenied, ResourceInUse
from portal.models import Event
from portal.services_configuration import config_update
from tests import factories

pytestmark = pytest.mark.django_db


def _zone(caller, **extra):
    return services.zone_create(caller=caller, **{"name": "z1", "network_type": "Advanced", "dns1": "8.8.8.8",
                                                  "internal_dns1": "10.0.0.2", **extra})


def test_zone_is_created_disabled_and_enabled_by_update(cloud):
    zone = _zone(cloud.admin, guest_cidr="10.1.0.0/16", network_domain="c.example", dns2="8.8.4.4")
    assert zone.allocation_state == "Disabled" and zone.guest_cidr == "10.1.0.0/16"
    services.zone_update(caller=cloud.admin, zone=zone, allocation_state="enabled")
    zone.refresh_from_db()
    assert zone.allocation_state == "Enabled"
    assert Event.objects.filter(type="ZONE.CREATE", user=cloud.admin).exists()


def test_zone_names_are_unique_case_insensitively(cloud):
    _zone(cloud.admin)
    with pytest.raises(InvalidParameter, match="already exists"):
        _zone(cloud.admin, name="Z1")


def test_zone_update_with_one_bad_field_changes_nothing(cloud):
    with pytest.raises(InvalidParameter):
        services.zone_update(caller=cloud.admin, zone=cloud.zone, name="renamed", dns1="999.1.1.1")
    cloud.zone.refresh_from_db()
    assert cloud.zone.name != "renamed"


def test_delete_refused_while_anything_is_inside(cloud):
    zone = _zone(cloud.admin)
    PhysicalNetwork.objects.create(zone=zone, name="pn")
    with pytest.raises(ResourceInUse, match="physical networks") as refused:
        services.zone_delete(caller=cloud.admin, zone=zone)
    assert refused.value.errorcode == 536
    assert Zone.objects.filter(pk=zone.pk).exists()
    with pytest.raises(ResourceInUse) as refused:
        services.zone_delete(caller=cloud.admin, zone=cloud.zone)
    assert "pods" in refused.value.message and "hosts" in refused.value.message
    with pytest.raises(ResourceInUse, match="hosts"):
        services.cluster_delete(caller=cloud.admin, cluster=cloud.host.cluster)
    with pytest.raises(ResourceInUse, match="clusters"):
        services.pod_delete(caller=cloud.admin, pod=cloud.host.pod)
    assert Cluster.objects.filter(pk=cloud.host.cluster_id).exists() and Pod.objects.filter(
        pk=cloud.host.pod_id).exists()


def test_pod_without_end_ip_runs_to_the_last_usable_address(cloud):
    pod = services.pod_create(caller=cloud.admin, zone=cloud.zone, name="p", gateway="10.5.0.1",
                              netmask="255.255.255.0", start_ip="10.5.0.100")
    assert (pod.start_ip, pod.end_ip) == ("10.5.0.100", "10.5.0.254")


def test_pod_update_range_is_checked_against_other_pods(cloud):
    a = services.pod_create(caller=cloud.admin, zone=cloud.zone, name="a", gateway="10.6.0.1",
                            netmask="255.255.255.0", start_ip="10.6.0.10", end_ip="10.6.0.20")
    b = services.pod_create(caller=cloud.admin, zone=cloud.zone, name="b", gateway="10.6.0.1",
                            netmask="255.255.255.0", start_ip="10.6.0.30", end_ip="10.6.0.40")
    services.pod_update(caller=cloud.admin, pod=a, end_ip="10.6.0.25")  # its own old range is no conflict
    with pytest.raises(InvalidParameter, match="overlaps"):
        services.pod_update(caller=cloud.admin, pod=b, start_ip="10.6.0.22")
    b.refresh_from_db()
    assert b.start_ip == "10.6.0.30"


def test_cluster_hypervisor_cannot_change_under_hosts(cloud):
    with pytest.raises(InvalidParameter, match="hosts"):
        services.cluster_update(caller=cloud.admin, cluster=cloud.host.cluster, hypervisor_type="Simulator")
    with pytest.raises(InvalidParameter, match="Hypervisor"):
        services.cluster_add(caller=cloud.admin, pod=cloud.host.pod, name="x", hypervisor_type="VMware")


@pytest.mark.parametrize("factor", [0, -0.5, "nan", "inf", "x"])
def test_overprovisioning_factors_must_be_positive_numbers(cloud, factor):
    with pytest.raises(InvalidParameter):
        services.cluster_update(caller=cloud.admin, cluster=cloud.host.cluster, memory_overprovisioning=factor)
    services.cluster_update(caller=cloud.admin, cluster=cloud.host.cluster, memory_overprovisioning="2.5")
    cloud.host.cluster.refresh_from_db()
    assert cloud.host.cluster.memory_overprovisioning == 2.5


def test_cluster_factors_default_to_the_global_settings(cloud):
    config_update(caller=cloud.admin, name="cpu.overprovisioning.factor", value="4", target=GLOBAL)
    config_update(caller=cloud.admin, name="mem.overprovisioning.factor", value="1.5", target=GLOBAL)
    defaulted = services.cluster_add(caller=cloud.admin, pod=cloud.host.pod, name="defaulted")
    given = services.cluster_add(caller=cloud.admin, pod=cloud.host.pod, name="given", cpu_overprovisioning=2,
                                 memory_overprovisioning="1.25")
    assert (defaulted.cpu_overprovisioning, defaulted.memory_overprovisioning) == (4.0, 1.5)
    assert (given.cpu_overprovisioning, given.memory_overprovisioning) == (2.0, 1.25)


def test_traffic_type_label_update(cloud):
    network = services.physical_network_create(caller=cloud.admin, zone=cloud.zone, name="pn")
    traffic = services.traffic_type_add(caller=cloud.admin, physical_network=network, traffic_type="guest")
    services.traffic_type_update(caller=cloud.admin, traffic_type=traffic, kvm_network_label=" cloudbr1 ")
    with pytest.raises(InvalidParameter, match="without spaces"):
        services.traffic_type_update(caller=cloud.admin, traffic_type=traffic, kvm_network_label="cloud br")
    with pytest.raises(PermissionDenied):
        services.traffic_type_update(caller=cloud.alice, traffic_type=traffic, kvm_network_label="mine")
    traffic.refresh_from_db()
    assert traffic.kvm_network_label == "cloudbr1"
    assert Event.objects.filter(type="TRAFFIC.TYPE.UPDATE", user=cloud.admin).count() == 1


def test_cluster_pod_must_be_in_the_zone(cloud):
    other = factories.ZoneFactory()
    with pytest.raises(InvalidParameter, match="not in zone"):
        services.cluster_add(caller=cloud.admin, pod=cloud.host.pod, zone=other, name="x")


def test_traffic_label_without_spaces(cloud):
    network = services.physical_network_create(caller=cloud.admin, zone=cloud.zone, name="pn")
    with pytest.raises(InvalidParameter, match="bridge"):
        services.traffic_type_add(caller=cloud.admin, physical_network=network, traffic_type="guest",
                                  kvm_network_label="cloud br0")
    traffic = services.traffic_type_add(caller=cloud.admin, physical_network=network, traffic_type="guest",
                                        kvm_network_label="cloudbr0")
    assert traffic.traffic_type == "Guest"


@pytest.fixture
def domain_admin(cloud):
    return factories.UserFactory(username="dadmin", account__name="dadmin", account__domain=cloud.alice.account.domain,
                                 account__account_type=Account.Type.DOMAIN_ADMIN)


def test_non_root_callers_are_refused(cloud, domain_admin):
    network = PhysicalNetwork.objects.create(zone=cloud.zone, name="pn")
    calls = [
        lambda c: _zone(c, name="zx"),
        lambda c: services.zone_update(caller=c, zone=cloud.zone, name="mine"),
        lambda c: services.zone_delete(caller=c, zone=factories.ZoneFactory()),
        lambda c: services.pod_create(caller=c, zone=cloud.zone, name="p", gateway="10.7.0.1",
                                      netmask="255.255.255.0", start_ip="10.7.0.5"),
        lambda c: services.pod_update(caller=c, pod=cloud.host.pod, name="mine"),
        lambda c: services.pod_delete(caller=c, pod=factories.PodFactory()),
        lambda c: services.cluster_add(caller=c, pod=cloud.host.pod, name="cx"),
        lambda c: services.cluster_update(caller=c, cluster=cloud.host.cluster, cpu_overprovisioning=3),
        lambda c: services.cluster_delete(caller=c, cluster=factories.ClusterFactory()),
        lambda c: services.physical_network_create(caller=c, zone=cloud.zone, name="pnx"),
        lambda c: services.physical_network_update(caller=c, physical_network=network, state="Enabled"),
        lambda c: services.physical_network_delete(caller=c, physical_network=network),
        lambda c: services.traffic_type_add(caller=c, physical_network=network, traffic_type="Guest"),
    ]
    for caller in (domain_admin, cloud.alice):
        for call in calls:
            with pytest.raises(PermissionDenied):
                call(caller)
    cloud.zone.refresh_from_db()
    network.refresh_from_db()
    assert cloud.zone.name != "mine" and network.state == "Disabled" and not network.traffic_types.exists()
    assert not Zone.objects.filter(name="zx").exists() and not Cluster.objects.filter(name="cx").exists()


def test_a_superuser_without_an_account_still_leaves_an_event(cloud):
    superuser = factories.UserFactory(username="super", account=None, is_superuser=True)
    zone = services.zone_create(caller=superuser, name="audited", network_type="Advanced", dns1="8.8.8.8",
                                internal_dns1="8.8.8.8")
    event = Event.objects.get(type="ZONE.CREATE", resource_id=str(zone.uuid))
    assert event.user == superuser and event.account == cloud.admin.account  # the root-admin account
