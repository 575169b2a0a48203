"""Reads of the cloud's topology for administrators: pods, clusters, physical networks, traffic types.

Root admins only (portal.authz); zones themselves are listed to everyone by infrastructure.selectors.
Lists join what their rows show (zone, pod, traffic types) so a page costs a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Cluster, PhysicalNetwork, Pod, TrafficType, Zone
from infrastructure.selectors import zone_list
from portal.authz import authorize
from portal.lookup import get_by_uuid


def zone_list_detailed(*, caller: User) -> QuerySet[Zone]:
    """Zones with the counts of what they contain, for the administrator's zone pages."""
    authorize(caller, "pod.list")
    return zone_list(caller=caller).annotate(
        pod_count=Count("pods", distinct=True), cluster_count=Count("clusters", distinct=True),
        host_count=Count("hosts", distinct=True), physical_network_count=Count("physical_networks", distinct=True))


def zone_get_detailed(*, caller: User, zone_id: object) -> Zone:
    return get_by_uuid(zone_list_detailed(caller=caller), zone_id, _("a zone"))


def pod_list(*, caller: User, zone_id: object = None, allocation_state: str | None = None) -> QuerySet[Pod]:
    authorize(caller, "pod.list")
    pods = Pod.objects.select_related("zone")
    if zone_id:
        pods = pods.filter(zone__uuid=zone_id)
    if allocation_state:
        pods = pods.filter(allocation_state__iexact=allocation_state)
    return pods


def pod_get(*, caller: User, pod_id: object) -> Pod:
    return get_by_uuid(pod_list(caller=caller), pod_id, _("a pod"))


def cluster_list(*, caller: User, zone_id: object = None, pod_id: object = None, hypervisor: str | None = None,
                 allocation_state: str | None = None) -> QuerySet[Cluster]:
    authorize(caller, "cluster.list")
    clusters = Cluster.objects.select_related("zone", "pod")
    if zone_id:
        clusters = clusters.filter(zone__uuid=zone_id)
    if pod_id:
        clusters = clusters.filter(pod__uuid=pod_id)
    if hypervisor:
        clusters = clusters.filter(hypervisor_type__iexact=hypervisor)
    if allocation_state:
        clusters = clusters.filter(allocation_state__iexact=allocation_state)
    return clusters


def cluster_get(*, caller: User, cluster_id: object) -> Cluster:
    return get_by_uuid(cluster_list(caller=caller), cluster_id, _("a cluster"))


def physical_network_list(*, caller: User, zone_id: object = None) -> QuerySet[PhysicalNetwork]:
    authorize(caller, "physicalnetwork.list")
    networks = PhysicalNetwork.objects.select_related("zone").prefetch_related("traffic_types")
    if zone_id:
        networks = networks.filter(zone__uuid=zone_id)
    return networks


def physical_network_get(*, caller: User, physical_network_id: object) -> PhysicalNetwork:
    return get_by_uuid(physical_network_list(caller=caller), physical_network_id, _("a physical network"))


def traffic_type_list(*, caller: User, physical_network_id: object = None) -> QuerySet[TrafficType]:
    authorize(caller, "traffictype.list")
    traffic = TrafficType.objects.select_related("physical_network")
    if physical_network_id:
        traffic = traffic.filter(physical_network__uuid=physical_network_id)
    return traffic


def traffic_type_get(*, caller: User, traffic_type_id: object) -> TrafficType:
    return get_by_uuid(traffic_type_list(caller=caller), traffic_type_id, _("a traffic type"))
