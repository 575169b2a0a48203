"""The topology commands of the CloudStack API (zones, pods, clusters, physical networks, traffic types), with
CloudStack's parameter and field names, as root admin; refused to everyone else with nothing changed."""

from __future__ import annotations

import pytest

from infrastructure.models import Cluster, PhysicalNetwork, Pod, TrafficType, Zone
from tests import factories
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _ok(result: tuple[int, dict]) -> dict:
    status, body = result
    assert status == 200, body
    return body


def test_list_regions_answers_the_one_region(cloud, api_json):
    body = _ok(api_json("alice", "listRegions"))
    assert body["count"] == 1 and body["region"][0]["id"] == 1 and body["region"][0]["name"]
    assert _ok(api_json("admin", "listRegions", id=2)) == {}


def test_zone_pod_cluster_lifecycle(cloud, api_json):
    zone = _ok(api_json("admin", "createZone", name="z-new", networktype="Advanced", dns1="8.8.8.8",
                        dns2="8.8.4.4", internaldns1="10.0.0.2", internaldns2="10.0.0.3",
                        guestcidraddress="10.1.1.0/24", domain="cloud.example"))["zone"]
    assert (zone["networktype"], zone["allocationstate"], zone["dns2"], zone["internaldns2"],
            zone["guestcidraddress"], zone["domain"]) == ("Advanced", "Disabled", "8.8.4.4", "10.0.0.3",
                                                          "10.1.1.0/24", "cloud.example")
    zone = _ok(api_json("admin", "updateZone", id=zone["id"], allocationstate="Enabled", dns1="1.1.1.1"))["zone"]
    assert (zone["allocationstate"], zone["dns1"]) == ("Enabled", "1.1.1.1")

    pod = _ok(api_json("admin", "createPod", zoneid=zone["id"], name="p1", gateway="192.168.10.1",
                       netmask="255.255.255.0", startip="192.168.10.10", endip="192.168.10.50"))["pod"]
    assert (pod["zoneid"], pod["startip"], pod["endip"], pod["allocationstate"]) == (
        zone["id"], ["192.168.10.10"], ["192.168.10.50"], "Enabled")
    pod = _ok(api_json("admin", "updatePod", id=pod["id"], allocationstate="Disabled", endip="192.168.10.60"))["pod"]
    assert (pod["allocationstate"], pod["endip"]) == ("Disabled", ["192.168.10.60"])
    assert _ok(api_json("admin", "listPods", zoneid=zone["id"]))["pod"][0]["id"] == pod["id"]

    body = _ok(api_json("admin", "addCluster", zoneid=zone["id"], podid=pod["id"], clustername="c1",
                        hypervisor="KVM", clustertype="CloudManaged", cpuovercommitratio="4",
                        memoryovercommitratio="1.5"))
    cluster = body["cluster"][0]
    assert (cluster["hypervisortype"], cluster["clustertype"], cluster["cpuovercommitratio"],
            cluster["memoryovercommitratio"], cluster["podid"]) == ("KVM", "CloudManaged", "4", "1.5", pod["id"])
    cluster = _ok(api_json("admin", "updateCluster", id=cluster["id"], allocationstate="Disabled",
                           cpuovercommitratio="2"))["cluster"]
    assert (cluster["allocationstate"], cluster["cpuovercommitratio"]) == ("Disabled", "2")
    assert _ok(api_json("admin", "listClusters", podid=pod["id"]))["count"] == 1

    # Delete is refused bottom-up while anything is inside, then succeeds in order.
    status, body = api_json("admin", "deleteZone", id=zone["id"])
    assert status == 536 and body["errorcode"] == 536 and "pods" in body["errortext"], body
    status, body = api_json("admin", "deletePod", id=pod["id"])
    assert status == 536 and "clusters" in body["errortext"]
    assert Zone.objects.filter(uuid=zone["id"]).exists() and Pod.objects.filter(uuid=pod["id"]).exists()
    assert _ok(api_json("admin", "deleteCluster", id=cluster["id"])) == {"success": True}
    assert _ok(api_json("admin", "deletePod", id=pod["id"])) == {"success": True}
    assert _ok(api_json("admin", "deleteZone", id=zone["id"])) == {"success": True}
    assert not Zone.objects.filter(uuid=zone["id"]).exists()


def test_cluster_with_a_host_cannot_be_deleted(cloud, api_json):
    status, body = api_json("admin", "deleteCluster", id=str(cloud.host.cluster.uuid))
    assert status == 536 and "hosts" in body["errortext"]
    status, body = api_json("admin", "deleteZone", id=str(cloud.zone.uuid))
    assert status == 536 and "hosts" in body["errortext"] and "clusters" in body["errortext"]
    assert Cluster.objects.filter(pk=cloud.host.cluster_id).exists()


@pytest.mark.parametrize("params,fragment", [
    ({"dns1": "not-an-ip"}, "dns1"),
    ({"guestcidraddress": "10.1.1.7/24"}, "CIDR"),
    ({"networktype": "Basic", "guestcidraddress": "10.1.1.0/24"}, "Advanced"),
    ({"name": "  "}, "name"),
])
def test_create_zone_refuses_bad_input(cloud, api_json, params, fragment):
    base = {"name": "zbad", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.2"}
    status, body = api_json("admin", "createZone", **{**base, **params})
    assert status == 431 and fragment in body["errortext"], body
    assert Zone.objects.count() == 1


def test_create_pod_refuses_bad_ranges(cloud, api_json):
    zone = str(cloud.zone.uuid)
    base = {"zoneid": zone, "gateway": "10.2.0.1", "netmask": "255.255.255.0"}
    _ok(api_json("admin", "createPod", name="pa", startip="10.2.0.10", endip="10.2.0.20", **base))
    for startip, endip, fragment in (("10.3.0.5", "10.3.0.9", "subnet"), ("10.2.0.30", "10.2.0.25", "after"),
                                     ("10.2.0.15", "10.2.0.40", "overlaps"), ("10.2.0.1", "10.2.0.9", "gateway")):
        status, body = api_json("admin", "createPod", name="pb", startip=startip, endip=endip, **base)
        assert status == 431 and fragment in body["errortext"], body
    status, body = api_json("admin", "createPod", name="pb", startip="10.2.0.30", zoneid=zone, gateway="10.2.0.1",
                            netmask="255.0.255.0")
    assert status == 431 and "netmask" in body["errortext"]
    assert not Pod.objects.filter(name="pb").exists()


@pytest.mark.parametrize("ratio", ["0", "-1", "abc"])
def test_overprovisioning_factors_must_be_positive(cloud, api_json, ratio):
    status, body = api_json("admin", "updateCluster", id=str(cloud.host.cluster.uuid), cpuovercommitratio=ratio)
    assert status == 431 and "CPU overprovisioning" in body["errortext"], body
    status, body = api_json("admin", "addCluster", zoneid=str(cloud.zone.uuid), podid=str(cloud.host.pod.uuid),
                            clustername="cx", hypervisor="KVM", memoryovercommitratio=ratio)
    assert status == 431 and "memory overprovisioning" in body["errortext"], body
    cloud.host.cluster.refresh_from_db()
    assert cloud.host.cluster.cpu_overprovisioning == 1.0 and not Cluster.objects.filter(name="cx").exists()


def test_physical_network_and_traffic_types(cloud, api_json):
    zone = str(cloud.zone.uuid)
    network = _ok(api_json("admin", "createPhysicalNetwork", zoneid=zone, name="pn1", vlan="100-199",
                           isolationmethods="VLAN", tags="fast"))["physicalnetwork"]
    assert (network["state"], network["vlan"], network["isolationmethods"], network["broadcastdomainrange"],
            network["tags"], network["zoneid"]) == ("Disabled", "100-199", "VLAN", "ZONE", "fast", zone)
    for kind, label in (("Guest", "cloudbr1"), ("Public", "cloudbr0"), ("Management", "cloudbr0"),
                        ("Storage", "cloudbr2")):
        traffic = _ok(api_json("admin", "addTrafficType", physicalnetworkid=network["id"], traffictype=kind,
                               kvmnetworklabel=label))["traffictype"]
        assert (traffic["traffictype"], traffic["kvmnetworklabel"], traffic["physicalnetworkid"]) == (
            kind, label, network["id"])
    listed = _ok(api_json("admin", "listTrafficTypes", physicalnetworkid=network["id"]))
    assert listed["count"] == 4 and {t["traffictype"] for t in listed["traffictype"]} == {
        "Guest", "Public", "Management", "Storage"}
    status, body = api_json("admin", "addTrafficType", physicalnetworkid=network["id"], traffictype="Guest")
    assert status == 431 and "already carries" in body["errortext"]
    # Management runs on one physical network per zone; Guest may span several.
    other = _ok(api_json("admin", "createPhysicalNetwork", zoneid=zone, name="pn2"))["physicalnetwork"]
    status, body = api_json("admin", "addTrafficType", physicalnetworkid=other["id"], traffictype="Management")
    assert status == 431 and "Another physical network" in body["errortext"]
    _ok(api_json("admin", "addTrafficType", physicalnetworkid=other["id"], traffictype="Guest"))

    network = _ok(api_json("admin", "updatePhysicalNetwork", id=network["id"], state="Enabled",
                           vlan="100-299"))["physicalnetwork"]
    assert (network["state"], network["vlan"]) == ("Enabled", "100-299")
    status, body = api_json("admin", "updatePhysicalNetwork", id=network["id"], vlan="0-5000")
    assert status == 431 and PhysicalNetwork.objects.get(uuid=network["id"]).vlan == "100-299"

    status, body = api_json("admin", "deleteZone", id=zone)
    assert status == 536 and "physical networks" in body["errortext"]
    guest = listed["traffictype"][0]["id"]
    updated = _ok(api_json("admin", "updateTrafficType", id=guest, kvmnetworklabel="cloudbr7"))["traffictype"]
    assert (updated["id"], updated["kvmnetworklabel"]) == (guest, "cloudbr7")
    status, body = api_json("admin", "updateTrafficType", id=guest, kvmnetworklabel="cloud br")
    assert status == 431 and TrafficType.objects.get(uuid=guest).kvm_network_label == "cloudbr7"
    assert _ok(api_json("admin", "deleteTrafficType", id=guest)) == {"success": True}
    assert _ok(api_json("admin", "deletePhysicalNetwork", id=network["id"])) == {"success": True}
    assert not TrafficType.objects.filter(physical_network__uuid=network["id"]).exists()
    assert _ok(api_json("admin", "listPhysicalNetworks", zoneid=zone))["count"] == 1


def test_basic_zone_has_one_physical_network_and_no_public_traffic(cloud, api_json):
    zone = _ok(api_json("admin", "createZone", name="zb", networktype="Basic", dns1="8.8.8.8",
                        internaldns1="10.0.0.2"))["zone"]
    network = _ok(api_json("admin", "createPhysicalNetwork", zoneid=zone["id"], name="pn"))["physicalnetwork"]
    assert network["broadcastdomainrange"] == "POD"
    status, body = api_json("admin", "createPhysicalNetwork", zoneid=zone["id"], name="pn-2")
    assert status == 431 and "only one" in body["errortext"]
    status, body = api_json("admin", "addTrafficType", physicalnetworkid=network["id"], traffictype="Public")
    assert status == 431 and "Basic" in body["errortext"]


NON_ROOT = [
    ("createZone", {"name": "zx", "networktype": "Advanced", "dns1": "8.8.8.8", "internaldns1": "10.0.0.2"}),
    ("updateZone", {"id": "<zone>", "name": "mine"}),
    ("deleteZone", {"id": "<zone>"}),
    ("listPods", {}),
    ("createPod", {"zoneid": "<zone>", "name": "px", "gateway": "10.9.0.1", "netmask": "255.255.255.0",
                   "startip": "10.9.0.5"}),
    ("updatePod", {"id": "<pod>", "name": "mine"}),
    ("deletePod", {"id": "<pod>"}),
    ("listClusters", {}),
    ("addCluster", {"zoneid": "<zone>", "podid": "<pod>", "clustername": "cx", "hypervisor": "KVM"}),
    ("updateCluster", {"id": "<cluster>", "clustername": "mine"}),
    ("deleteCluster", {"id": "<cluster>"}),
    ("listPhysicalNetworks", {}),
    ("createPhysicalNetwork", {"zoneid": "<zone>", "name": "pnx"}),
    ("updatePhysicalNetwork", {"id": "<pn>", "state": "Enabled"}),
    ("deletePhysicalNetwork", {"id": "<pn>"}),
    ("addTrafficType", {"physicalnetworkid": "<pn>", "traffictype": "Storage"}),
    ("listTrafficTypes", {"physicalnetworkid": "<pn>"}),
    ("updateTrafficType", {"id": "<tt>", "kvmnetworklabel": "mine"}),
    ("deleteTrafficType", {"id": "<tt>"}),
]


@pytest.mark.parametrize("command,params", NON_ROOT)
def test_non_root_callers_are_refused(cloud, api_json, command, params):
    network = PhysicalNetwork.objects.create(zone=cloud.zone, name="pn")
    traffic = TrafficType.objects.create(physical_network=network, traffic_type="Guest")
    ids = {"<zone>": cloud.zone.uuid, "<pod>": cloud.host.pod.uuid, "<cluster>": cloud.host.cluster.uuid,
           "<pn>": network.uuid, "<tt>": traffic.uuid}
    params = {key: str(ids.get(value, value)) for key, value in params.items()}
    before = [list(model.objects.order_by("pk").values()) for model in (Zone, Pod, Cluster, PhysicalNetwork,
                                                                         TrafficType)]
    for user in ("alice", "bob"):
        status, body = api_json(user, command, **params)
        # As in CloudStack, a command the caller's role lacks "does not exist or is not available" (401).
        assert status == 401 and "not available" in body["errortext"], body
    after = [list(model.objects.order_by("pk").values()) for model in (Zone, Pod, Cluster, PhysicalNetwork,
                                                                        TrafficType)]
    assert after == before


@pytest.mark.parametrize("command,make", [
    ("listPods", lambda zone: factories.PodFactory(zone=zone)),
    ("listClusters", lambda zone: factories.ClusterFactory(pod=factories.PodFactory(zone=zone))),
    ("listPhysicalNetworks", lambda zone: TrafficType.objects.create(
        physical_network=PhysicalNetwork.objects.create(zone=zone, name=f"pn{PhysicalNetwork.objects.count()}"),
        traffic_type="Guest")),
])
def test_list_query_counts_do_not_grow_with_rows(cloud, api_json, command, make):
    make(cloud.zone)
    first, body = count_queries(lambda: _ok(api_json("admin", command)))
    for _ in range(3):
        make(cloud.zone)
    second, body2 = count_queries(lambda: _ok(api_json("admin", command)))
    assert body2["count"] == body["count"] + 3
    assert second == first
