"""CloudStack API declarations of the topology: listRegions, createZone, updateZone, deleteZone,
listPods, createPod, updatePod, deletePod, listClusters, addCluster, updateCluster, deleteCluster,
listPhysicalNetworks, createPhysicalNetwork, updatePhysicalNetwork, deletePhysicalNetwork, addTrafficType,
listTrafficTypes, updateTrafficType, deleteTrafficType. Imported at the end of infrastructure.cloudstack
(listZones is there).

Parameter and response names are CloudStack's (4.19). Deviation: CloudStack runs the physical network and
traffic type writes as async jobs; here they are quick database writes and answer synchronously (listApis
says so, so clients do not poll)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infrastructure import services_topology as services
from infrastructure.cloudstack import render_zone
from infrastructure.models import Cluster, PhysicalNetwork, Pod, TrafficType
from infrastructure.selectors import zone_get
from infrastructure.selectors_topology import (
    cluster_get,
    cluster_list,
    physical_network_get,
    physical_network_list,
    pod_get,
    pod_list,
    traffic_type_get,
    traffic_type_list,
)
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object

T = ParamType
SUCCESS_FIELDS = ("success", "displaytext")
STATE_CHOICES = ("enabled", "disabled")


def _state(call: Call, name: str = "allocationstate") -> str | None:
    value = call.get(name)
    return value.capitalize() if value else None


def _success(call: Call) -> dict[str, Any]:
    return {"success": True}


# --- regions --------------------------------------------------------------------------------------------

REGION_FIELDS = ("id", "name", "endpoint", "gslbserviceenabled", "portableipserviceenabled")


def render_region(call: Call, region: dict[str, Any]) -> dict[str, Any]:
    return region


def list_regions(call: Call) -> list[dict[str, Any]]:
    """One region, id 1, as a CloudStack installation without further regions has."""
    region = {"id": 1, "name": "Local", "endpoint": call.request.build_absolute_uri("/client/"),
              "gslbserviceenabled": False, "portableipserviceenabled": False}
    if call.get("id") is not None and call.get("id") != 1:
        return []
    if call.get("name") and call.get("name") != region["name"]:
        return []
    return [region]


register(Command(
    name="listRegions", description=_("Lists regions."), action="region.list", handler=list_regions,
    params=(Param("id", T.INTEGER, description=_("List the region with this ID.")),
            Param("name", description=_("List the region with this name."))),
    response_fields=REGION_FIELDS,
    listing=Listing(object_name="region", render=render_region, id_field=None, name_field=None),
))


# --- zones ----------------------------------------------------------------------------------------------

ZONE_ID = Param("id", T.UUID, required=True, description=_("The ID of the zone."))
ZONE_SETTINGS = (
    Param("dns2", description=_("The second DNS server for guests.")),
    Param("internaldns2", description=_("The second DNS server for system VMs and hosts.")),
    Param("guestcidraddress", description=_("The guest CIDR of an Advanced zone, e.g. 10.1.1.0/24.")),
    Param("domain", description=_("Network domain name for the networks in the zone.")),
    Param("allocationstate", choices=STATE_CHOICES, description=_("Enabled or Disabled.")),
)


def create_zone(call: Call) -> dict[str, Any]:
    network_type = {"basic": "Basic", "advanced": "Advanced"}[call.get("networktype")]
    zone = services.zone_create(
        caller=call.caller, name=call.get("name"), network_type=network_type, dns1=call.get("dns1"),
        dns2=call.get("dns2") or "", internal_dns1=call.get("internaldns1"),
        internal_dns2=call.get("internaldns2") or "", guest_cidr=call.get("guestcidraddress") or "",
        network_domain=call.get("domain") or "", allocation_state=_state(call) or "Disabled")
    return {"zone": render_zone(call, zone)}


register(Command(
    name="createZone", description=_("Creates a zone; it starts Disabled unless allocationstate says so."),
    action="zone.create", handler=create_zone, response_object="zone",
    params=(
        Param("name", required=True, description=_("The name of the zone.")),
        Param("networktype", required=True, choices=("basic", "advanced"),
              description=_("Network type of the zone: Basic or Advanced.")),
        Param("dns1", required=True, description=_("The first DNS server for guests.")),
        Param("internaldns1", required=True, description=_("The first DNS server for system VMs and hosts.")),
        *ZONE_SETTINGS,
    ),
))


def update_zone(call: Call) -> dict[str, Any]:
    zone = services.zone_update(
        caller=call.caller, zone=zone_get(caller=call.caller, zone_id=call.get("id")), name=call.get("name"),
        dns1=call.get("dns1"), dns2=call.get("dns2"), internal_dns1=call.get("internaldns1"),
        internal_dns2=call.get("internaldns2"), guest_cidr=call.get("guestcidraddress"),
        network_domain=call.get("domain"), allocation_state=_state(call))
    return {"zone": render_zone(call, zone)}


register(Command(
    name="updateZone", description=_("Updates a zone; allocationstate enables or disables it."),
    action="zone.update", handler=update_zone, response_object="zone",
    params=(
        ZONE_ID,
        Param("name", description=_("The new name of the zone.")),
        Param("dns1", description=_("The first DNS server for guests.")),
        Param("internaldns1", description=_("The first DNS server for system VMs and hosts.")),
        *ZONE_SETTINGS,
    ),
))


def delete_zone(call: Call) -> dict[str, Any]:
    services.zone_delete(caller=call.caller, zone=zone_get(caller=call.caller, zone_id=call.get("id")))
    return _success(call)


register(Command(
    name="deleteZone", description=_("Deletes an empty zone; refused (536) while it contains anything."),
    action="zone.delete", handler=delete_zone, params=(ZONE_ID,), response_fields=SUCCESS_FIELDS,
))


# --- pods -----------------------------------------------------------------------------------------------

POD_FIELDS = ("id", "name", "zoneid", "zonename", "gateway", "netmask", "startip", "endip", "allocationstate")


def render_pod(call: Call, pod: Pod) -> dict[str, Any]:
    """PodResponse; startip and endip are lists (one per range) since CloudStack 4.13."""
    return {
        "id": str(pod.uuid), "name": pod.name, "zoneid": str(pod.zone.uuid), "zonename": pod.zone.name,
        "gateway": pod.gateway, "netmask": pod.netmask,
        "startip": [pod.start_ip] if pod.start_ip else [], "endip": [pod.end_ip] if pod.end_ip else [],
        "allocationstate": pod.allocation_state,
    }


register_object(ObjectType(model="pod", name="pod", instance_type="Pod",
                           lookup=lambda caller, pod_id: pod_get(caller=caller, pod_id=pod_id),
                           render=render_pod, fields=POD_FIELDS))
POD_ID = Param("id", T.UUID, required=True, description=_("The ID of the pod."))
POD_RANGE = (
    Param("gateway", description=_("The gateway of the pod's management network.")),
    Param("netmask", description=_("The netmask of the pod's management network.")),
    Param("startip", description=_("The first IP address of the pod's range.")),
    Param("endip", description=_("The last IP address of the pod's range (default: the subnet's last).")),
    Param("allocationstate", choices=STATE_CHOICES, description=_("Enabled or Disabled.")),
)


def list_pods(call: Call) -> QuerySet[Pod]:
    return pod_list(caller=call.caller, zone_id=call.get("zoneid"), allocation_state=call.get("allocationstate"))


register(Command(
    name="listPods", description=_("Lists pods."), action="pod.list", handler=list_pods, response_object="pod",
    params=(Param("zoneid", T.UUID, description=_("List the pods of this zone.")),
            Param("allocationstate", description=_("List pods in this allocation state."))),
    listing=Listing(object_name="pod", render=render_pod),
))


def create_pod(call: Call) -> dict[str, Any]:
    pod = services.pod_create(
        caller=call.caller, zone=zone_get(caller=call.caller, zone_id=call.get("zoneid")), name=call.get("name"),
        gateway=call.get("gateway"), netmask=call.get("netmask"), start_ip=call.get("startip"),
        end_ip=call.get("endip") or "", allocation_state=_state(call) or "Enabled")
    return {"pod": render_pod(call, pod)}


register(Command(
    name="createPod", description=_("Creates a pod in a zone, with its management IP range."),
    action="pod.create", handler=create_pod, response_object="pod",
    params=(
        Param("zoneid", T.UUID, required=True, description=_("The zone of the pod.")),
        Param("name", required=True, description=_("The name of the pod.")),
        *(Param(p.name, required=p.name in ("gateway", "netmask", "startip"), description=p.description,
                choices=p.choices) for p in POD_RANGE),
    ),
))


def update_pod(call: Call) -> dict[str, Any]:
    pod = services.pod_update(
        caller=call.caller, pod=pod_get(caller=call.caller, pod_id=call.get("id")), name=call.get("name"),
        gateway=call.get("gateway"), netmask=call.get("netmask"), start_ip=call.get("startip"),
        end_ip=call.get("endip"), allocation_state=_state(call))
    return {"pod": render_pod(call, pod)}


register(Command(
    name="updatePod", description=_("Updates a pod; allocationstate enables or disables it."),
    action="pod.update", handler=update_pod, response_object="pod",
    params=(POD_ID, Param("name", description=_("The new name of the pod.")), *POD_RANGE),
))


def delete_pod(call: Call) -> dict[str, Any]:
    services.pod_delete(caller=call.caller, pod=pod_get(caller=call.caller, pod_id=call.get("id")))
    return _success(call)


register(Command(
    name="deletePod", description=_("Deletes an empty pod; refused (536) while it contains clusters or hosts."),
    action="pod.delete", handler=delete_pod, params=(POD_ID,), response_fields=SUCCESS_FIELDS,
))


# --- clusters -------------------------------------------------------------------------------------------

CLUSTER_FIELDS = ("id", "name", "podid", "podname", "zoneid", "zonename", "hypervisortype", "clustertype",
                  "allocationstate", "managedstate", "cpuovercommitratio", "memoryovercommitratio")


def render_cluster(call: Call, cluster: Cluster) -> dict[str, Any]:
    return {
        "id": str(cluster.uuid), "name": cluster.name, "podid": str(cluster.pod.uuid), "podname": cluster.pod.name,
        "zoneid": str(cluster.zone.uuid), "zonename": cluster.zone.name, "hypervisortype": cluster.hypervisor_type,
        "clustertype": "CloudManaged", "allocationstate": cluster.allocation_state, "managedstate": "Managed",
        # CloudStack renders the ratios as strings.
        "cpuovercommitratio": f"{cluster.cpu_overprovisioning:g}",
        "memoryovercommitratio": f"{cluster.memory_overprovisioning:g}",
    }


register_object(ObjectType(model="cluster", name="cluster", instance_type="Cluster",
                           lookup=lambda caller, cluster_id: cluster_get(caller=caller, cluster_id=cluster_id),
                           render=render_cluster, fields=CLUSTER_FIELDS))
CLUSTER_ID = Param("id", T.UUID, required=True, description=_("The ID of the cluster."))
CLUSTER_SETTINGS = (
    Param("allocationstate", choices=STATE_CHOICES, description=_("Enabled or Disabled.")),
    Param("cpuovercommitratio", description=_("The CPU overprovisioning factor (greater than 0).")),
    Param("memoryovercommitratio", description=_("The memory overprovisioning factor (greater than 0).")),
)


def list_clusters(call: Call) -> QuerySet[Cluster]:
    return cluster_list(caller=call.caller, zone_id=call.get("zoneid"), pod_id=call.get("podid"),
                        hypervisor=call.get("hypervisor"), allocation_state=call.get("allocationstate"))


register(Command(
    name="listClusters", description=_("Lists clusters."), action="cluster.list", handler=list_clusters,
    response_object="cluster",
    params=(Param("zoneid", T.UUID, description=_("List the clusters of this zone.")),
            Param("podid", T.UUID, description=_("List the clusters of this pod.")),
            Param("hypervisor", description=_("List clusters of this hypervisor type.")),
            Param("allocationstate", description=_("List clusters in this allocation state."))),
    listing=Listing(object_name="cluster", render=render_cluster),
))


def add_cluster(call: Call) -> dict[str, Any]:
    cluster = services.cluster_add(
        caller=call.caller, pod=pod_get(caller=call.caller, pod_id=call.get("podid")),
        zone=zone_get(caller=call.caller, zone_id=call.get("zoneid")), name=call.get("clustername"),
        hypervisor_type=call.get("hypervisor"), allocation_state=_state(call) or "Enabled",
        cpu_overprovisioning=call.get("cpuovercommitratio") or None,
        memory_overprovisioning=call.get("memoryovercommitratio") or None)
    # addCluster answers a list, as CloudStack's AddClusterCmd does.
    return {"count": 1, "cluster": [render_cluster(call, cluster)]}


register(Command(
    name="addCluster", description=_("Adds a cluster of hosts of one hypervisor type to a pod."),
    action="cluster.add", handler=add_cluster, response_object="cluster",
    params=(
        Param("clustername", required=True, description=_("The name of the cluster.")),
        Param("zoneid", T.UUID, required=True, description=_("The zone of the cluster.")),
        Param("podid", T.UUID, required=True, description=_("The pod of the cluster.")),
        Param("hypervisor", required=True, description=_("The hypervisor type of the cluster's hosts (KVM).")),
        Param("clustertype", choices=("cloudmanaged",), description=_("CloudManaged (the only type here).")),
        *CLUSTER_SETTINGS,
    ),
))


def update_cluster(call: Call) -> dict[str, Any]:
    cluster = services.cluster_update(
        caller=call.caller, cluster=cluster_get(caller=call.caller, cluster_id=call.get("id")),
        name=call.get("clustername"), hypervisor_type=call.get("hypervisor"), allocation_state=_state(call),
        cpu_overprovisioning=call.get("cpuovercommitratio"), memory_overprovisioning=call.get("memoryovercommitratio"))
    return {"cluster": render_cluster(call, cluster)}


register(Command(
    name="updateCluster", description=_("Updates a cluster; allocationstate enables or disables it."),
    action="cluster.update", handler=update_cluster, response_object="cluster",
    params=(CLUSTER_ID, Param("clustername", description=_("The new name of the cluster.")),
            Param("hypervisor", description=_("The hypervisor type (only while the cluster has no hosts).")),
            *CLUSTER_SETTINGS),
))


def delete_cluster(call: Call) -> dict[str, Any]:
    services.cluster_delete(caller=call.caller, cluster=cluster_get(caller=call.caller, cluster_id=call.get("id")))
    return _success(call)


register(Command(
    name="deleteCluster", description=_("Deletes an empty cluster; refused (536) while it has hosts."),
    action="cluster.delete", handler=delete_cluster, params=(CLUSTER_ID,), response_fields=SUCCESS_FIELDS,
))


# --- physical networks ----------------------------------------------------------------------------------

PHYSICAL_NETWORK_FIELDS = ("id", "name", "zoneid", "zonename", "state", "vlan", "isolationmethods",
                           "broadcastdomainrange", "tags", "networkspeed")


def render_physical_network(call: Call, network: PhysicalNetwork) -> dict[str, Any]:
    return {
        "id": str(network.uuid), "name": network.name, "zoneid": str(network.zone.uuid),
        "zonename": network.zone.name, "state": network.state, "vlan": network.vlan or None,
        "isolationmethods": network.isolation_methods or None, "broadcastdomainrange": network.broadcast_domain_range,
        "tags": network.tags or None, "networkspeed": network.network_speed or None,
    }


register_object(ObjectType(
    model="physicalnetwork", name="physicalnetwork", instance_type="PhysicalNetwork",
    lookup=lambda caller, network_id: physical_network_get(caller=caller, physical_network_id=network_id),
    render=render_physical_network, fields=PHYSICAL_NETWORK_FIELDS))
PHYSICAL_NETWORK_ID = Param("id", T.UUID, required=True, description=_("The ID of the physical network."))


def list_physical_networks(call: Call) -> QuerySet[PhysicalNetwork]:
    return physical_network_list(caller=call.caller, zone_id=call.get("zoneid"))


register(Command(
    name="listPhysicalNetworks", description=_("Lists physical networks."), action="physicalnetwork.list",
    handler=list_physical_networks, response_object="physicalnetwork",
    params=(Param("zoneid", T.UUID, description=_("List the physical networks of this zone.")),),
    listing=Listing(object_name="physicalnetwork", render=render_physical_network),
))


def create_physical_network(call: Call) -> dict[str, Any]:
    network = services.physical_network_create(
        caller=call.caller, zone=zone_get(caller=call.caller, zone_id=call.get("zoneid")), name=call.get("name"),
        vlan=call.get("vlan") or "", isolation_methods=call.get("isolationmethods") or [],
        broadcast_domain_range=call.get("broadcastdomainrange") or "", tags=call.get("tags") or [],
        network_speed=call.get("networkspeed") or "")
    return {"physicalnetwork": render_physical_network(call, network)}


register(Command(
    name="createPhysicalNetwork", description=_("Creates a physical network in a zone (Disabled at first)."),
    action="physicalnetwork.create", handler=create_physical_network, response_object="physicalnetwork",
    params=(
        Param("zoneid", T.UUID, required=True, description=_("The zone of the physical network.")),
        Param("name", required=True, description=_("The name of the physical network.")),
        Param("vlan", description=_("The VLAN range, e.g. 100-199,300-399.")),
        Param("isolationmethods", T.LIST, description=_("Isolation methods, e.g. VLAN.")),
        Param("broadcastdomainrange", choices=("zone", "pod"),
              description=_("ZONE (Advanced zones) or POD (Basic zones).")),
        Param("tags", T.LIST, description=_("Tags of the physical network.")),
        Param("networkspeed", description=_("The speed of the physical network, e.g. 10G.")),
    ),
))


def update_physical_network(call: Call) -> dict[str, Any]:
    network = services.physical_network_update(
        caller=call.caller,
        physical_network=physical_network_get(caller=call.caller, physical_network_id=call.get("id")),
        state=_state(call, "state"), vlan=call.get("vlan"), tags=call.get("tags"),
        network_speed=call.get("networkspeed"))
    return {"physicalnetwork": render_physical_network(call, network)}


register(Command(
    name="updatePhysicalNetwork", description=_("Updates a physical network; state enables or disables it."),
    action="physicalnetwork.update", handler=update_physical_network, response_object="physicalnetwork",
    params=(
        PHYSICAL_NETWORK_ID,
        Param("state", choices=STATE_CHOICES, description=_("Enabled or Disabled.")),
        Param("vlan", description=_("The VLAN range, e.g. 100-199,300-399.")),
        Param("tags", T.LIST, description=_("Tags of the physical network.")),
        Param("networkspeed", description=_("The speed of the physical network.")),
    ),
))


def delete_physical_network(call: Call) -> dict[str, Any]:
    services.physical_network_delete(
        caller=call.caller,
        physical_network=physical_network_get(caller=call.caller, physical_network_id=call.get("id")))
    return _success(call)


register(Command(
    name="deletePhysicalNetwork", description=_("Deletes a physical network and its traffic types."),
    action="physicalnetwork.delete", handler=delete_physical_network, params=(PHYSICAL_NETWORK_ID,),
    response_fields=SUCCESS_FIELDS,
))


# --- traffic types --------------------------------------------------------------------------------------

TRAFFIC_TYPE_FIELDS = ("id", "traffictype", "physicalnetworkid", "kvmnetworklabel")


def render_traffic_type(call: Call, traffic: TrafficType) -> dict[str, Any]:
    return {"id": str(traffic.uuid), "traffictype": traffic.traffic_type,
            "physicalnetworkid": str(traffic.physical_network.uuid),
            "kvmnetworklabel": traffic.kvm_network_label or None}


register_object(ObjectType(
    model="traffictype", name="traffictype", instance_type="TrafficType",
    lookup=lambda caller, traffic_id: traffic_type_get(caller=caller, traffic_type_id=traffic_id),
    render=render_traffic_type, fields=TRAFFIC_TYPE_FIELDS))


def list_traffic_types(call: Call) -> QuerySet[TrafficType]:
    network = physical_network_get(caller=call.caller, physical_network_id=call.get("physicalnetworkid"))
    return traffic_type_list(caller=call.caller, physical_network_id=network.uuid)


register(Command(
    name="listTrafficTypes", description=_("Lists the traffic types of a physical network."),
    action="traffictype.list", handler=list_traffic_types, response_object="traffictype",
    params=(Param("physicalnetworkid", T.UUID, required=True, description=_("The physical network.")),),
    listing=Listing(object_name="traffictype", render=render_traffic_type, name_field=None,
                    keyword_fields=("traffic_type",)),
))


def add_traffic_type(call: Call) -> dict[str, Any]:
    traffic = services.traffic_type_add(
        caller=call.caller,
        physical_network=physical_network_get(caller=call.caller, physical_network_id=call.get("physicalnetworkid")),
        traffic_type=call.get("traffictype"), kvm_network_label=call.get("kvmnetworklabel") or "")
    return {"traffictype": render_traffic_type(call, traffic)}


register(Command(
    name="addTrafficType", description=_("Adds a traffic type (Guest, Public, Management, Storage) to a physical "
                                         "network, with the host bridge that carries it."),
    action="traffictype.add", handler=add_traffic_type, response_object="traffictype",
    params=(
        Param("physicalnetworkid", T.UUID, required=True, description=_("The physical network.")),
        Param("traffictype", required=True, choices=("guest", "public", "management", "storage"),
              description=_("Guest, Public, Management or Storage.")),
        Param("kvmnetworklabel", description=_("The bridge on KVM hosts that carries this traffic.")),
    ),
))


def update_traffic_type(call: Call) -> dict[str, Any]:
    traffic = traffic_type_get(caller=call.caller, traffic_type_id=call.get("id"))
    if call.get("kvmnetworklabel") is not None:
        traffic = services.traffic_type_update(caller=call.caller, traffic_type=traffic,
                                               kvm_network_label=call.get("kvmnetworklabel"))
    return {"traffictype": render_traffic_type(call, traffic)}


register(Command(
    name="updateTrafficType", description=_("Changes the host bridge that carries a traffic type."),
    action="traffictype.update", handler=update_traffic_type, response_object="traffictype",
    params=(
        Param("id", T.UUID, required=True, description=_("The ID of the traffic type.")),
        Param("kvmnetworklabel", description=_("The bridge on KVM hosts that carries this traffic.")),
    ),
))


def delete_traffic_type(call: Call) -> dict[str, Any]:
    services.traffic_type_delete(caller=call.caller,
                                 traffic_type=traffic_type_get(caller=call.caller, traffic_type_id=call.get("id")))
    return _success(call)


register(Command(
    name="deleteTrafficType", description=_("Removes a traffic type from its physical network."),
    action="traffictype.delete", handler=delete_traffic_type,
    params=(Param("id", T.UUID, required=True, description=_("The ID of the traffic type.")),),
    response_fields=SUCCESS_FIELDS,
))
