"""Topology pages of the web UI: zones (detail, add, edit), pods, clusters, physical networks and their
traffic types; changes only by POST, refusals shown with nothing changed, root admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from infrastructure.models import Cluster, PhysicalNetwork, Pod, TrafficType, Zone
from portal.configuration import GLOBAL
from portal.services_configuration import config_update
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def _url(kind: str, page: str, obj=None) -> str:
    return reverse(f"ui:{kind}_{page}", kwargs={"object_id": obj.uuid} if obj is not None else None)


def _network(zone: Zone, name: str = "physnet") -> PhysicalNetwork:
    return PhysicalNetwork.objects.create(zone=zone, name=name)


def test_pages_render_with_their_links(cloud, login):
    network = _network(cloud.zone)
    TrafficType.objects.create(physical_network=network, traffic_type="Guest", kvm_network_label="cloudbr1")
    client = login(cloud.admin)
    pod, cluster = cloud.host.pod, cloud.host.cluster
    zones = ok(client.get(reverse("ui:zone_list"))).content.decode()
    assert _url("zone", "detail", cloud.zone) in zones and _url("zone", "add") in zones
    zone_page = ok(client.get(_url("zone", "detail", cloud.zone))).content.decode()
    for link in (_url("pod", "detail", pod), _url("cluster", "detail", cluster),
                 _url("physical_network", "detail", network), _url("zone", "edit", cloud.zone),
                 _url("zone", "disable", cloud.zone), _url("zone", "delete", cloud.zone)):
        assert link in zone_page, link
    assert _url("zone", "enable", cloud.zone) not in zone_page
    assert cloud.host.name in ok(client.get(_url("cluster", "detail", cluster))).content.decode()
    assert cluster.name in ok(client.get(_url("pod", "detail", pod))).content.decode()
    network_page = ok(client.get(_url("physical_network", "detail", network))).content.decode()
    assert "cloudbr1" in network_page and reverse("ui:traffic_type_add", kwargs={"object_id": network.uuid}) in (
        network_page)
    for kind, obj in (("pod", pod), ("cluster", cluster), ("physical_network", network)):
        listed = ok(client.get(_url(kind, "list"))).content.decode()
        assert _url(kind, "detail", obj) in listed and _url(kind, "add") in listed
    for kind in ("zone", "pod", "cluster", "physical_network"):
        ok(client.get(_url(kind, "add")))
    ok(client.get(_url("cluster", "edit", cluster)))


def test_zone_add_edit_disable_enable_delete(cloud, login):
    client = login(cloud.admin)
    response = client.post(_url("zone", "add"), {"name": "z2", "network_type": "Advanced", "dns1": "8.8.8.8",
                                                 "internal_dns1": "10.0.0.2", "guest_cidr": "10.1.0.0/16"})
    zone = Zone.objects.get(name="z2")
    assert response.status_code == 302 and response["Location"] == _url("zone", "detail", zone)
    assert zone.allocation_state == "Disabled" and zone.guest_cidr == "10.1.0.0/16"
    response = client.post(_url("zone", "edit", zone), {"name": "z3", "dns1": "1.1.1.1",
                                                        "internal_dns1": "10.0.0.2", "description": "third"})
    assert response.status_code == 302
    zone.refresh_from_db()
    assert (zone.name, zone.dns1, zone.description, zone.guest_cidr) == ("z3", "1.1.1.1", "third", "")
    client.post(_url("zone", "enable", zone))
    zone.refresh_from_db()
    assert zone.allocation_state == "Enabled"
    client.post(_url("zone", "disable", zone))
    zone.refresh_from_db()
    assert zone.allocation_state == "Disabled"
    response = client.post(_url("zone", "delete", zone))
    assert response.status_code == 302 and response["Location"] == reverse("ui:zone_list")
    assert not Zone.objects.filter(pk=zone.pk).exists()


def test_state_changes_are_never_made_by_get(cloud, login):
    client = login(cloud.admin)
    for kind, obj in (("zone", cloud.zone), ("pod", cloud.host.pod), ("cluster", cloud.host.cluster)):
        for action in ("disable", "delete"):
            assert client.get(_url(kind, action, obj)).status_code == 405
    cloud.zone.refresh_from_db()
    assert cloud.zone.allocation_state == "Enabled" and Cluster.objects.count() == 1


def test_refusals_are_shown_and_change_nothing(cloud, login):
    client = login(cloud.admin)
    response = client.post(_url("zone", "add"), {"name": "z", "network_type": "Basic", "dns1": "8.8.8.8",
                                                 "internal_dns1": "10.0.0.2", "guest_cidr": "10.1.0.0/16"})
    assert response.status_code == 400 and "only for Advanced zones" in response.content.decode()
    assert Zone.objects.count() == 1
    response = client.post(_url("zone", "edit", cloud.zone), {"name": "renamed", "dns1": "nope",
                                                              "internal_dns1": "10.0.0.2"})
    assert response.status_code == 400 and "not a valid IPv4 address" in response.content.decode()
    cloud.zone.refresh_from_db()
    assert cloud.zone.name != "renamed"
    # In use: the zone, its pod and its cluster stay, and the page says why.
    for kind, obj, inside in (("zone", cloud.zone, "pods"), ("pod", cloud.host.pod, "clusters"),
                              ("cluster", cloud.host.cluster, "hosts")):
        response = client.post(_url(kind, "delete", obj), follow=True)
        assert response.status_code == 200 and "cannot be deleted" in response.content.decode(), kind
        assert inside in response.content.decode()
    assert Zone.objects.count() == 1 and Pod.objects.count() == 1 and Cluster.objects.count() == 1


def test_pod_and_cluster_forms(cloud, login):
    config_update(caller=cloud.admin, name="mem.overprovisioning.factor", value="2", target=GLOBAL)
    client = login(cloud.admin)
    zone = factories.ZoneFactory()
    response = client.post(_url("pod", "add"), {"zone": str(zone.uuid), "name": "p1", "gateway": "10.5.0.1",
                                                "netmask": "255.255.255.0", "start_ip": "10.5.0.10"})
    pod = Pod.objects.get(name="p1")
    assert response.status_code == 302 and pod.end_ip == "10.5.0.254"
    response = client.post(_url("pod", "add"), {"zone": str(zone.uuid), "name": "p2", "gateway": "10.5.0.1",
                                                "netmask": "255.255.255.0", "start_ip": "10.5.0.100"})
    assert response.status_code == 400 and "overlaps" in response.content.decode()
    client.post(_url("pod", "edit", pod), {"name": "p1", "gateway": "10.5.0.1", "netmask": "255.255.255.0",
                                           "start_ip": "10.5.0.10", "end_ip": "10.5.0.20"})
    pod.refresh_from_db()
    assert pod.end_ip == "10.5.0.20"
    response = client.post(_url("cluster", "add"), {"pod": str(pod.uuid), "name": "c1", "hypervisor_type": "KVM",
                                                    "cpu_overprovisioning": "4"})
    cluster = Cluster.objects.get(name="c1")
    assert response.status_code == 302 and (cluster.cpu_overprovisioning, cluster.memory_overprovisioning) == (
        4.0, 2.0)
    response = client.post(_url("cluster", "edit", cluster), {"name": "c1", "hypervisor_type": "KVM",
                                                              "cpu_overprovisioning": "0",
                                                              "memory_overprovisioning": "1"})
    assert response.status_code == 400 and "greater than 0" in response.content.decode()
    cluster.refresh_from_db()
    assert (cluster.cpu_overprovisioning, cluster.memory_overprovisioning) == (4.0, 2.0)
    client.post(_url("cluster", "edit", cluster), {"name": "c1", "hypervisor_type": "KVM",
                                                   "cpu_overprovisioning": "1.5", "memory_overprovisioning": "1"})
    cluster.refresh_from_db()
    assert (cluster.cpu_overprovisioning, cluster.memory_overprovisioning) == (1.5, 1.0)
    client.post(_url("cluster", "disable", cluster))
    cluster.refresh_from_db()
    assert cluster.allocation_state == "Disabled"
    assert client.post(_url("cluster", "delete", cluster))["Location"] == _url("cluster", "list")
    assert client.post(_url("pod", "delete", pod))["Location"] == _url("pod", "list")
    assert not Pod.objects.filter(zone=zone).exists()


def test_physical_network_and_traffic_types(cloud, login):
    client = login(cloud.admin)
    response = client.post(_url("physical_network", "add"), {
        "zone": str(cloud.zone.uuid), "name": "pn1", "vlan": "100-199", "isolation_methods": ["VLAN", "VXLAN"],
        "tags": "fast"})
    network = PhysicalNetwork.objects.get(name="pn1")
    assert response.status_code == 302 and network.isolation_methods == "VLAN,VXLAN"
    client.post(_url("physical_network", "edit", network), {"vlan": "200-299", "tags": "", "network_speed": "10G"})
    client.post(_url("physical_network", "enable", network))
    network.refresh_from_db()
    assert (network.vlan, network.tags, network.network_speed, network.state) == ("200-299", "", "10G", "Enabled")
    add = reverse("ui:traffic_type_add", kwargs={"object_id": network.uuid})
    assert client.post(add, {"traffic_type": "Guest", "kvm_network_label": "cloudbr1"}).status_code == 302
    response = client.post(add, {"traffic_type": "Guest"})
    assert response.status_code == 400 and "already carries" in response.content.decode()
    response = client.post(add, {"traffic_type": "Management", "kvm_network_label": "cloud br"})
    assert response.status_code == 400 and "without spaces" in response.content.decode()
    traffic = TrafficType.objects.get()
    assert (traffic.traffic_type, traffic.kvm_network_label) == ("Guest", "cloudbr1")
    update = reverse("ui:traffic_type_update", kwargs={"traffic_id": traffic.uuid})
    assert update in client.get(_url("physical_network", "detail", network)).content.decode()
    assert "without spaces" in client.post(update, {"kvm_network_label": "a b"}, follow=True).content.decode()
    traffic.refresh_from_db()
    assert traffic.kvm_network_label == "cloudbr1"
    client.post(update, {"kvm_network_label": "cloudbr9"})
    traffic.refresh_from_db()
    assert traffic.kvm_network_label == "cloudbr9"
    response = client.post(reverse("ui:traffic_type_delete", kwargs={"traffic_id": traffic.uuid}))
    assert response["Location"] == _url("physical_network", "detail", network) and not TrafficType.objects.exists()
    response = client.post(_url("physical_network", "edit", network), {"vlan": "0-5"})
    assert response.status_code == 400
    network.refresh_from_db()
    assert network.vlan == "200-299"
    client.post(_url("physical_network", "delete", network))
    assert not PhysicalNetwork.objects.exists()


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_callers_are_refused(cloud, login, user):
    network = _network(cloud.zone)
    traffic = TrafficType.objects.create(physical_network=network, traffic_type="Guest")
    client = login(getattr(cloud, user))
    objects = (("zone", cloud.zone), ("pod", cloud.host.pod), ("cluster", cloud.host.cluster),
               ("physical_network", network))
    for kind, obj in objects:
        assert client.get(_url(kind, "add")).status_code == 403, kind
        assert client.post(_url(kind, "add"), {"name": "mine"}).status_code == 403, kind
        for page in ("detail", "edit"):
            assert client.get(_url(kind, page, obj)).status_code == 403, (kind, page)
        for action in ("enable", "disable", "delete", "edit"):
            assert client.post(_url(kind, action, obj), {"name": "mine"}).status_code == 403, (kind, action)
        if kind != "zone":
            assert client.get(_url(kind, "list")).status_code == 403, kind
    assert client.post(reverse("ui:traffic_type_add", kwargs={"object_id": network.uuid}),
                       {"traffic_type": "Management"}).status_code == 403
    assert client.post(reverse("ui:traffic_type_delete", kwargs={"traffic_id": traffic.uuid})).status_code == 403
    assert client.post(reverse("ui:traffic_type_update", kwargs={"traffic_id": traffic.uuid}),
                       {"kvm_network_label": "mine"}).status_code == 403
    # The zone list stays open to everyone, without links to the admin pages.
    zones = ok(client.get(reverse("ui:zone_list"))).content.decode()
    assert cloud.zone.name in zones and _url("zone", "detail", cloud.zone) not in zones
    assert _url("zone", "add") not in zones
    assert Zone.objects.count() == 1 and Pod.objects.count() == 1 and Cluster.objects.count() == 1
    assert TrafficType.objects.get().kvm_network_label == ""
    assert not PhysicalNetwork.objects.filter(name="mine").exists()
    cloud.zone.refresh_from_db()
    assert cloud.zone.allocation_state == "Enabled"


def test_list_query_counts_are_constant(cloud, login):
    client = login(cloud.admin)

    def add() -> None:
        for _ in range(3):
            host = factories.HostFactory()
            TrafficType.objects.create(physical_network=_network(host.zone), traffic_type="Guest")

    add()
    for kind in ("pod", "cluster", "physical_network"):
        assert_queries_constant(lambda kind=kind: ok(client.get(_url(kind, "list"))), add)

    def add_inside() -> None:
        for _ in range(3):
            pod = factories.PodFactory(zone=cloud.zone)
            factories.HostFactory(cluster=factories.ClusterFactory(pod=pod))
            TrafficType.objects.create(physical_network=_network(cloud.zone, f"net-{pod.name}"),
                                       traffic_type="Guest")

    add_inside()  # so the first count already runs each list's queries (prefetches skip empty lists)
    small, large = assert_queries_constant(lambda: ok(client.get(_url("zone", "detail", cloud.zone))), add_inside)
    assert large.content.decode().count("/infrastructure/pods/") > small.content.decode().count(
        "/infrastructure/pods/")
