"""/api/v1/zones/ writes, /api/v1/pods/, /clusters/, /physical-networks/, /traffic-types/: root admins only;
refusals change nothing; lists cost a fixed number of queries."""

from __future__ import annotations

import uuid

import pytest

from infrastructure.models import Cluster, PhysicalNetwork, Pod, TrafficType, Zone
from portal.configuration import GLOBAL
from portal.models import Event
from portal.services_configuration import config_update
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

ZONES = "/api/v1/zones/"
PODS = "/api/v1/pods/"
CLUSTERS = "/api/v1/clusters/"
NETWORKS = "/api/v1/physical-networks/"
TRAFFIC = "/api/v1/traffic-types/"


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def _network(zone: Zone, name: str = "physnet", **extra) -> PhysicalNetwork:
    return PhysicalNetwork.objects.create(zone=zone, name=name, **extra)


# --- zones ----------------------------------------------------------------------------------------------

def test_zone_create_update_enable_disable_delete(cloud, admin_api):
    response = admin_api.post(ZONES, {"name": "z2", "network_type": "Advanced", "dns1": "8.8.8.8",
                                      "internal_dns1": "10.0.0.2", "guest_cidr": "10.1.0.0/16"}, format="json")
    assert response.status_code == 201, response.content
    zone = response.json()
    assert (zone["allocation_state"], zone["guest_cidr"], zone["dns1"]) == ("Disabled", "10.1.0.0/16", "8.8.8.8")
    url = f"{ZONES}{zone['id']}/"
    response = admin_api.patch(url, {"description": "second", "dns2": "8.8.4.4"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["description"], response.json()["dns2"]) == ("second", "8.8.4.4")
    assert ok(admin_api.post(f"{url}enable/")).json()["allocation_state"] == "Enabled"
    assert ok(admin_api.post(f"{url}disable/")).json()["allocation_state"] == "Disabled"
    assert admin_api.delete(url).status_code == 204
    assert not Zone.objects.filter(name="z2").exists()
    assert Event.objects.filter(type="ZONE.DELETE", user=cloud.admin).exists()


def test_zone_admin_fields_are_for_root_admins_only(cloud, admin_api, alice_api):
    assert "dns1" in admin_api.get(f"{ZONES}{cloud.zone.uuid}/").json()
    public = alice_api.get(f"{ZONES}{cloud.zone.uuid}/").json()
    assert "dns1" not in public and "internal_dns1" not in public and public["name"] == cloud.zone.name


def test_zone_refusals_change_nothing(cloud, admin_api):
    assert_error(admin_api.post(ZONES, {"name": "z", "network_type": "Basic", "dns1": "8.8.8.8",
                                        "internal_dns1": "10.0.0.2", "guest_cidr": "10.1.0.0/16"},
                                format="json"), 400, 431)
    assert_error(admin_api.post(ZONES, {"name": "z", "network_type": "Advanced", "dns1": "not-an-ip",
                                        "internal_dns1": "10.0.0.2"}, format="json"), 400, 431)
    error = assert_error(admin_api.post(ZONES, {"name": "z"}, format="json"), 400, 431)
    assert {"network_type", "dns1", "internal_dns1"} <= set(error["fields"])
    assert list(Zone.objects.values_list("name", flat=True)) == [cloud.zone.name]
    assert_error(admin_api.patch(f"{ZONES}{cloud.zone.uuid}/", {"name": "renamed", "dns1": "x"}, format="json"),
                 400, 431)
    cloud.zone.refresh_from_db()
    assert cloud.zone.name != "renamed"


def test_zone_in_use_is_not_deleted(cloud, admin_api):
    error = assert_error(admin_api.delete(f"{ZONES}{cloud.zone.uuid}/"), 409, 536)
    assert "pods" in error["message"] and "hosts" in error["message"]
    assert Zone.objects.filter(pk=cloud.zone.pk).exists() and Pod.objects.filter(zone=cloud.zone).exists()


# --- pods -----------------------------------------------------------------------------------------------

def test_pod_crud(cloud, admin_api):
    zone = factories.ZoneFactory()
    response = admin_api.post(PODS, {"zone": str(zone.uuid), "name": "p1", "gateway": "10.5.0.1",
                                     "netmask": "255.255.255.0", "start_ip": "10.5.0.10"}, format="json")
    assert response.status_code == 201, response.content
    pod = response.json()
    assert (pod["zone"]["id"], pod["end_ip"], pod["allocation_state"]) == (str(zone.uuid), "10.5.0.254", "Enabled")
    url = f"{PODS}{pod['id']}/"
    assert ok(admin_api.patch(url, {"name": "p2", "end_ip": "10.5.0.50"}, format="json")).json()["end_ip"] == (
        "10.5.0.50")
    assert ok(admin_api.post(f"{url}disable/")).json()["allocation_state"] == "Disabled"
    assert ok(admin_api.post(f"{url}enable/")).json()["allocation_state"] == "Enabled"
    listed = admin_api.get(PODS, {"zone": str(zone.uuid)}).json()
    assert [row["name"] for row in listed["results"]] == ["p2"]
    assert admin_api.delete(url).status_code == 204
    assert not Pod.objects.filter(zone=zone).exists()


def test_pod_refusals_change_nothing(cloud, admin_api):
    zone = factories.ZoneFactory()
    body = {"zone": str(zone.uuid), "name": "p", "gateway": "10.5.0.1", "netmask": "255.255.255.0"}
    assert_error(admin_api.post(PODS, {**body, "start_ip": "10.6.0.10"}, format="json"), 400, 431)
    assert_error(admin_api.post(PODS, {**body, "start_ip": "10.5.0.1"}, format="json"), 400, 431)
    error = assert_error(admin_api.post(PODS, {**body, "zone": str(uuid.uuid4()), "start_ip": "10.5.0.10"},
                                        format="json"), 400, 431)
    assert set(error["fields"]) == {"zone"}
    assert not Pod.objects.filter(zone=zone).exists()
    error = assert_error(admin_api.delete(f"{PODS}{cloud.host.pod.uuid}/"), 409, 536)
    assert "clusters" in error["message"]
    assert Pod.objects.filter(pk=cloud.host.pod.pk).exists()


# --- clusters -------------------------------------------------------------------------------------------

def test_cluster_crud_and_factor_defaults(cloud, admin_api):
    config_update(caller=cloud.admin, name="cpu.overprovisioning.factor", value="3", target=GLOBAL)
    pod = factories.PodFactory()
    response = admin_api.post(CLUSTERS, {"pod": str(pod.uuid), "name": "c1"}, format="json")
    assert response.status_code == 201, response.content
    cluster = response.json()
    assert (cluster["zone"]["id"], cluster["hypervisor_type"]) == (str(pod.zone.uuid), "KVM")
    assert (cluster["cpu_overprovisioning"], cluster["memory_overprovisioning"]) == (3.0, 1.0)
    url = f"{CLUSTERS}{cluster['id']}/"
    response = admin_api.patch(url, {"memory_overprovisioning": 1.5, "hypervisor_type": "Simulator"},
                               format="json")
    assert ok(response).json()["memory_overprovisioning"] == 1.5 and response.json()["hypervisor_type"] == (
        "Simulator")
    assert ok(admin_api.post(f"{url}disable/")).json()["allocation_state"] == "Disabled"
    assert admin_api.get(CLUSTERS, {"pod": str(pod.uuid), "allocation_state": "Disabled"}).json()["count"] == 1
    assert ok(admin_api.post(f"{url}enable/")).json()["allocation_state"] == "Enabled"
    assert admin_api.delete(url).status_code == 204
    assert not Cluster.objects.filter(pod=pod).exists()


def test_cluster_refusals_change_nothing(cloud, admin_api):
    cluster = cloud.host.cluster
    assert_error(admin_api.post(CLUSTERS, {"pod": str(cloud.host.pod.uuid), "name": "c",
                                           "cpu_overprovisioning": 0}, format="json"), 400, 431)
    assert_error(admin_api.post(CLUSTERS, {"pod": str(cloud.host.pod.uuid), "name": cluster.name.upper()},
                                format="json"), 400, 431)
    assert Cluster.objects.count() == 1
    assert_error(admin_api.patch(f"{CLUSTERS}{cluster.uuid}/", {"name": "renamed", "hypervisor_type": "Simulator"},
                                 format="json"), 400, 431)
    error = assert_error(admin_api.delete(f"{CLUSTERS}{cluster.uuid}/"), 409, 536)
    assert "hosts" in error["message"]
    cluster.refresh_from_db()
    assert (cluster.name, cluster.hypervisor_type) != ("renamed", "Simulator")


# --- physical networks and traffic types ----------------------------------------------------------------

def test_physical_network_and_traffic_types(cloud, admin_api):
    response = admin_api.post(NETWORKS, {"zone": str(cloud.zone.uuid), "name": "pn1", "vlan": "100-199",
                                         "isolation_methods": ["VLAN"], "tags": ["fast", "10g"]}, format="json")
    assert response.status_code == 201, response.content
    network = response.json()
    assert (network["state"], network["isolation_methods"], network["tags"], network["traffic_types"]) == (
        "Disabled", ["VLAN"], ["fast", "10g"], [])
    url = f"{NETWORKS}{network['id']}/"
    assert ok(admin_api.patch(url, {"vlan": "200-299", "network_speed": "10G"}, format="json")).json()["vlan"] == (
        "200-299")
    assert ok(admin_api.post(f"{url}enable/")).json()["state"] == "Enabled"
    response = admin_api.post(TRAFFIC, {"physical_network": network["id"], "traffic_type": "Guest",
                                        "kvm_network_label": "cloudbr1"}, format="json")
    assert response.status_code == 201, response.content
    traffic = response.json()
    assert (traffic["traffic_type"], traffic["kvm_network_label"]) == ("Guest", "cloudbr1")
    shown = admin_api.get(url).json()["traffic_types"]
    assert [(row["traffic_type"], row["kvm_network_label"]) for row in shown] == [("Guest", "cloudbr1")]
    assert_error(admin_api.post(TRAFFIC, {"physical_network": network["id"], "traffic_type": "Guest"},
                                format="json"), 400, 431)
    assert_error(admin_api.post(TRAFFIC, {"physical_network": network["id"], "traffic_type": "Management",
                                          "kvm_network_label": "cloud br"}, format="json"), 400, 431)
    assert admin_api.get(TRAFFIC, {"physical_network": network["id"]}).json()["count"] == 1
    traffic_url = f"{TRAFFIC}{traffic['id']}/"
    assert ok(admin_api.patch(traffic_url, {"kvm_network_label": "cloudbr2"}, format="json")).json()[
        "kvm_network_label"] == "cloudbr2"
    assert_error(admin_api.patch(traffic_url, {"kvm_network_label": "a b"}, format="json"), 400, 431)
    assert TrafficType.objects.get().kvm_network_label == "cloudbr2"
    assert admin_api.delete(f"{TRAFFIC}{traffic['id']}/").status_code == 204
    assert ok(admin_api.post(f"{url}disable/")).json()["state"] == "Disabled"
    assert admin_api.delete(url).status_code == 204
    assert not PhysicalNetwork.objects.exists() and not TrafficType.objects.exists()


def test_physical_network_refusals_change_nothing(cloud, admin_api):
    network = _network(cloud.zone, vlan="100-199")
    assert_error(admin_api.post(NETWORKS, {"zone": str(cloud.zone.uuid), "name": "x", "vlan": "5000"},
                                format="json"), 400, 431)
    assert_error(admin_api.post(NETWORKS, {"zone": str(cloud.zone.uuid), "name": "PHYSNET"}, format="json"),
                 400, 431)
    assert_error(admin_api.patch(f"{NETWORKS}{network.uuid}/", {"vlan": "9-1"}, format="json"), 400, 431)
    network.refresh_from_db()
    assert PhysicalNetwork.objects.count() == 1 and network.vlan == "100-199"
    # The zone it is in cannot go while the network is there.
    zone = factories.ZoneFactory()
    _network(zone, "lonely")
    error = assert_error(admin_api.delete(f"{ZONES}{zone.uuid}/"), 409, 536)
    assert "physical networks" in error["message"]
    assert Zone.objects.filter(pk=zone.pk).exists() and PhysicalNetwork.objects.filter(zone=zone).exists()


# --- only root admins -----------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_callers_are_refused_everywhere(cloud, client_for, user):
    """Every topology route (and every zone write) refuses end users and changes nothing."""
    pod, cluster = cloud.host.pod, cloud.host.cluster
    network = _network(cloud.zone)
    traffic = TrafficType.objects.create(physical_network=network, traffic_type="Guest")
    api = client_for(getattr(cloud, user))
    zone_url = f"{ZONES}{cloud.zone.uuid}/"
    assert_error(api.post(ZONES, {"name": "mine", "network_type": "Advanced", "dns1": "8.8.8.8",
                                  "internal_dns1": "10.0.0.2"}, format="json"), 403, 531)
    assert_error(api.patch(zone_url, {"name": "mine"}, format="json"), 403, 531)
    assert_error(api.delete(zone_url), 403, 531)
    for resource, obj, body in ((PODS, pod, {"zone": str(cloud.zone.uuid), "name": "mine", "gateway": "10.9.0.1",
                                             "netmask": "255.255.255.0", "start_ip": "10.9.0.5"}),
                                (CLUSTERS, cluster, {"pod": str(pod.uuid), "name": "mine"}),
                                (NETWORKS, network, {"zone": str(cloud.zone.uuid), "name": "mine"})):
        url = f"{resource}{obj.uuid}/"
        assert_error(api.get(resource), 403, 531)
        assert_error(api.get(url), 403, 531)
        assert_error(api.post(resource, body, format="json"), 403, 531)
        assert_error(api.patch(url, {"name": "mine"}, format="json"), 403, 531)
        assert_error(api.delete(url), 403, 531)
    for action in ("enable", "disable"):
        for resource, obj in ((ZONES, cloud.zone), (PODS, pod), (CLUSTERS, cluster), (NETWORKS, network)):
            assert_error(api.post(f"{resource}{obj.uuid}/{action}/"), 403, 531)
    assert_error(api.get(TRAFFIC), 403, 531)
    assert_error(api.get(f"{TRAFFIC}{traffic.uuid}/"), 403, 531)
    assert_error(api.post(TRAFFIC, {"physical_network": str(network.uuid), "traffic_type": "Management"},
                          format="json"), 403, 531)
    assert_error(api.patch(f"{TRAFFIC}{traffic.uuid}/", {"kvm_network_label": "mine"}, format="json"), 403, 531)
    assert_error(api.delete(f"{TRAFFIC}{traffic.uuid}/"), 403, 531)
    assert not any(model.objects.filter(name="mine").exists() for model in (Zone, Pod, Cluster, PhysicalNetwork))
    cloud.zone.refresh_from_db()
    network.refresh_from_db()
    assert cloud.zone.allocation_state == "Enabled" and network.state == "Disabled"
    assert TrafficType.objects.get().kvm_network_label == "" and Cluster.objects.count() == 1


# --- query counts ---------------------------------------------------------------------------------------

def test_list_query_counts_are_constant(cloud, admin_api):
    def add() -> None:
        for _ in range(4):
            host = factories.HostFactory()
            network = _network(host.zone)
            TrafficType.objects.create(physical_network=network, traffic_type="Guest")
            TrafficType.objects.create(physical_network=network, traffic_type="Management")

    add()
    for url in (ZONES, PODS, CLUSTERS, NETWORKS, TRAFFIC):
        small, large = assert_queries_constant(lambda url=url: ok(admin_api.get(url)), add, at_most=6)
        assert large.json()["count"] > small.json()["count"], url
