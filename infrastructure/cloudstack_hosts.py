"""CloudStack API declarations of hosts: listHosts, addHost, updateHost, deleteHost, reconnectHost,
prepareHostForMaintenance, cancelHostMaintenance. Imported at the end of infrastructure.cloudstack.

The host object carries CloudStack's HostResponse field names; `state` is the agent's status and
`resourcestate` the administrator's (Enabled, Disabled, PrepareForMaintenance, ErrorInMaintenance,
Maintenance), as listHosts reports them. Credentials are accepted by addHost and never rendered."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infrastructure.models import Host
from infrastructure.selectors import zone_get
from infrastructure.selectors_hosts import host_get, host_search
from infrastructure.selectors_topology import cluster_get, pod_get
from infrastructure.services_hosts import (
    host_add,
    host_cancel_maintenance,
    host_delete,
    host_prepare_maintenance,
    host_reconnect,
    host_update,
)
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.errors import InvalidParameter
from portal.models import AsyncJob

T = ParamType

HOST_FIELDS = (
    "id", "name", "state", "resourcestate", "type", "hypervisor", "hypervisorversion", "capabilities", "cpumodel",
    "zoneid", "zonename", "podid", "podname", "clusterid", "clustername", "clustertype", "ipaddress", "cpunumber",
    "cpusockets", "cpuspeed", "cpuallocated", "cpuallocatedvalue", "cpuallocatedpercentage", "memorytotal",
    "memoryallocated", "hosttags", "islocalstorageactive", "lastpinged", "disconnected", "created",
)


def _percent(part: int, total: int) -> str:
    return f"{(100.0 * part / total) if total else 0.0:.2f}%"


def host_ip_address(host: Host) -> str:
    """The address part of the libvirt URI; a local URI (qemu:///system, test:///...) is this machine."""
    return urlsplit(host.url).hostname or "127.0.0.1"


def render_host(call: Call, host: Host) -> dict[str, Any]:
    cpu_total = host.cpu_total_mhz
    return {
        "id": str(host.uuid),
        "name": host.name,
        "state": host.status,
        "resourcestate": host.resource_state,
        "type": "Routing",
        "hypervisor": "Simulator" if host.is_simulator else host.cluster.hypervisor_type,
        "hypervisorversion": host.hypervisor_version or None,
        "capabilities": host.capabilities or None,
        "cpumodel": host.cpu_model or None,
        "zoneid": str(host.zone.uuid),
        "zonename": host.zone.name,
        "podid": str(host.pod.uuid),
        "podname": host.pod.name,
        "clusterid": str(host.cluster.uuid),
        "clustername": host.cluster.name,
        "clustertype": "CloudManaged",
        "ipaddress": host_ip_address(host),
        "cpunumber": host.cpu_cores,
        "cpusockets": host.cpu_sockets,
        "cpuspeed": host.cpu_speed,
        "cpuallocated": _percent(host.cpu_allocated, cpu_total),
        "cpuallocatedvalue": host.cpu_allocated,
        "cpuallocatedpercentage": _percent(host.cpu_allocated, cpu_total),
        "memorytotal": host.memory_total,
        "memoryallocated": host.memory_allocated,
        "hosttags": host.host_tags or None,
        "islocalstorageactive": True,
        "lastpinged": host.last_seen,
        "disconnected": host.disconnected,
        "created": host.created,
    }


register_object(ObjectType(
    model="host", name="host", instance_type="Host",
    lookup=lambda caller, host_id: host_get(caller=caller, host_id=host_id),
    render=render_host, fields=HOST_FIELDS,
))

HOST_ID = Param("id", T.UUID, required=True, description=_("The host's ID."))


def list_hosts(call: Call) -> QuerySet[Host]:
    hosts = host_search(caller=call.caller, zone_id=call.get("zoneid"), pod_id=call.get("podid"),
                        cluster_id=call.get("clusterid"), state=call.get("state"),
                        resource_state=call.get("resourcestate"))
    host_type = call.get("type")
    if host_type and host_type.lower() != "routing":
        return hosts.none()  # only hypervisor (Routing) hosts exist here: no system VMs, no storage hosts
    return hosts


register(Command(
    name="listHosts",
    description=_("Lists hosts."),
    action="host.list",
    handler=list_hosts,
    params=(
        Param("zoneid", T.UUID, description=_("List hosts in this zone.")),
        Param("podid", T.UUID, description=_("List hosts in this pod.")),
        Param("clusterid", T.UUID, description=_("List hosts in this cluster.")),
        Param("state", description=_("List hosts in this state (Up, Disconnected, Alert, ...).")),
        Param("resourcestate", description=_("List hosts in this resource state (Enabled, Disabled, "
                                             "Maintenance, ...).")),
        Param("type", description=_("The host type; only Routing hosts exist.")),
    ),
    response_object="host",
    listing=Listing(object_name="host", render=render_host, keyword_fields=("name",)),
))


def add_host(call: Call) -> dict[str, Any]:
    cluster_id = call.get("clusterid")
    if not cluster_id:
        raise InvalidParameter(_("clusterid is required: hosts are added to a cluster."))
    # The service checks that the cluster is in that zone and pod.
    cluster = cluster_get(caller=call.caller, cluster_id=cluster_id)
    zone = zone_get(caller=call.caller, zone_id=call.get("zoneid"))
    pod = pod_get(caller=call.caller, pod_id=call.get("podid"))
    url = call.get("url")
    name = call.get("name") or host_ip_address(Host(url=url))
    host, _job = host_add(caller=call.caller, cluster=cluster, zone=zone, pod=pod, name=name, url=url,
                          username=call.get("username") or "", password=call.get("password") or "",
                          host_tags=call.get("hosttags") or "")
    return {"count": 1, "host": [render_host(call, host)]}


register(Command(
    name="addHost",
    description=_("Adds a host by its libvirt URI; its agent connects and brings it Up in the background."),
    action="host.add",
    handler=add_host,
    params=(
        Param("zoneid", T.UUID, required=True, description=_("The zone of the host.")),
        Param("podid", T.UUID, required=True, description=_("The pod of the host.")),
        Param("clusterid", T.UUID, description=_("The cluster of the host.")),
        Param("url", required=True, max_length=1024,
              description=_("The host's libvirt URI (qemu+tcp://, qemu+ssh://, qemu+tls://, qemu:///system, "
                            "test:///...).")),
        Param("hypervisor", description=_("The hypervisor (KVM).")),
        Param("username", description=_("Username for a remote libvirt URI.")),
        Param("password", description=_("Password for a remote libvirt URI; stored encrypted, never shown.")),
        Param("hosttags", max_length=1024, description=_("Comma-separated host tags.")),
        Param("name", description=_("The host's name (default: the URI's address).")),
    ),
    response_object="host",
))


def update_host(call: Call) -> dict[str, Any]:
    host = host_get(caller=call.caller, host_id=call.get("id"))
    state = call.get("allocationstate")  # parsed lower-case
    host = host_update(caller=call.caller, host=host, name=call.get("name"), host_tags=call.get("hosttags"),
                       allocation_state=state.capitalize() if state else None)
    return {"host": render_host(call, host)}


register(Command(
    name="updateHost",
    description=_("Updates a host: its name, tags, or whether it takes new VMs (allocationstate)."),
    action="host.update",
    handler=update_host,
    params=(
        HOST_ID,
        Param("name", description=_("The new name.")),
        Param("hosttags", max_length=1024, description=_("Comma-separated host tags; empty removes them.")),
        Param("allocationstate", choices=("enable", "disable"),
              description=_("Enable or Disable the host for new VMs.")),
    ),
    response_object="host",
))


def delete_host(call: Call) -> dict[str, Any]:
    host = host_get(caller=call.caller, host_id=call.get("id"))
    host_delete(caller=call.caller, host=host, forced=bool(call.get("forced")))
    return {"success": True}


register(Command(
    name="deleteHost",
    description=_("Deletes a host; refused while VMs run there unless forced on a host that is not Up."),
    action="host.delete",
    handler=delete_host,
    params=(
        HOST_ID,
        Param("forced", T.BOOLEAN, default=False,
              description=_("Delete a host that is not Up even though VMs are recorded as running there.")),
        Param("forcedestroylocalstorage", T.BOOLEAN, default=True,
              description=_("Accepted for compatibility; volumes on local storage always block deletion.")),
    ),
    response_fields=("success", "displaytext"),
))


def _async(service: Any) -> Any:
    def handler(call: Call) -> AsyncJob:
        return service(caller=call.caller, host=host_get(caller=call.caller, host_id=call.get("id")))

    return handler


for _name, _service, _text, _action in (
    ("reconnectHost", host_reconnect, _("Reconnects a host's agent and re-syncs its VMs."), "host.reconnect"),
    ("prepareHostForMaintenance", host_prepare_maintenance,
     _("Prepares a host for maintenance: no new VMs; Maintenance once no VM runs there."), "host.maintenance"),
    ("cancelHostMaintenance", host_cancel_maintenance, _("Takes a host out of maintenance."),
     "host.maintenance"),
):
    register(Command(name=_name, description=_text, action=_action, handler=_async(_service), is_async=True,
                     response_object="host", params=(HOST_ID,)))
