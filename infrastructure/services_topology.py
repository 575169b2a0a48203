"""Writes of the cloud's topology: zones, pods, clusters, physical networks and their traffic types.

Root admins only (portal.authz). Every input is validated before anything is written, so a refused call
changes nothing. Deleting anything that still contains something (pods, clusters, hosts, VMs, volumes,
physical networks, storage...) is refused with ResourceInUse (errorcode 536) naming what is inside: the
check reads the model's protecting relations, so containers added later by other apps are covered too.
"""

from __future__ import annotations

import ipaddress
import re

from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import AllocationState, Cluster, PhysicalNetwork, Pod, TrafficType, Zone
from portal.authz import authorize
from portal.configuration import config_value
from portal.errors import InvalidParameter, ResourceInUse
from portal.events import event_emit
from portal.tags import comma_list, tags_text

HYPERVISOR_TYPES = ("KVM", "Simulator")
ISOLATION_METHODS = ("VLAN", "VXLAN", "GRE", "STT", "L3VPN")
BROADCAST_DOMAIN_RANGES = ("ZONE", "POD")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NETWORK_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


# --- validation -----------------------------------------------------------------------------------------

def _name(value: str | None, what: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidParameter(_("A %(what)s needs a name.") % {"what": what})
    if len(name) > 255:
        raise InvalidParameter(_("The name is too long (at most 255 characters)."))
    return name


def _ipv4(value: str | None, label: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidParameter(_("%(label)s is required.") % {"label": label})
        return ""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError as exc:
        raise InvalidParameter(_("%(label)s %(value)s is not a valid IPv4 address.")
                               % {"label": label, "value": text}) from exc


def _netmask(value: str | None) -> str:
    text = _ipv4(value, "netmask", required=True)
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{text}")
    except ValueError as exc:
        raise InvalidParameter(_("Netmask %(value)s is not a valid netmask.") % {"value": text}) from exc
    return text


def _cidr(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    try:
        return str(ipaddress.IPv4Network(text, strict=True))
    except ValueError as exc:
        raise InvalidParameter(_("Guest CIDR %(value)s is not a valid IPv4 network (e.g. 10.1.1.0/24).")
                               % {"value": text}) from exc


def _network_domain(value: str | None) -> str:
    text = (value or "").strip()
    if text and not _NETWORK_DOMAIN.match(text):
        raise InvalidParameter(_("Network domain %(value)s is not a valid DNS domain.") % {"value": text})
    return text


def _allocation_state(value: str | None) -> str:
    text = (value or "").strip().capitalize()
    if text not in AllocationState.values:
        raise InvalidParameter(_("Allocation state must be Enabled or Disabled, not %(value)s.") % {"value": value})
    return text


def _factor(value: float | str, label: str) -> float:
    try:
        factor = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(_("%(label)s must be a number.") % {"label": label}) from exc
    if not factor > 0 or factor != factor or factor == float("inf"):
        raise InvalidParameter(_("%(label)s must be greater than 0.") % {"label": label})
    return factor


def _require_empty(obj: models.Model, label: str) -> None:
    """Refuse while any row still protects obj (a PROTECT foreign key to it), naming what is inside."""
    inside = []
    for relation in obj._meta.related_objects:
        if relation.on_delete is not models.PROTECT:
            continue
        count = relation.related_model._base_manager.filter(**{relation.field.name: obj}).count()
        if count:
            inside.append(f"{count} {relation.related_model._meta.verbose_name_plural}")
    if inside:
        raise ResourceInUse(_("%(label)s %(name)s cannot be deleted: it still contains %(inside)s. Delete "
                              "those first.") % {"label": label, "name": obj, "inside": ", ".join(inside)})


def _event(caller: User, type: str, description: str, resource: models.Model | None) -> None:
    from accounts.services_accounts import operator_account

    account = operator_account(caller)
    if account is not None:
        event_emit(type=type, description=description, account=account, user=caller, resource=resource)


# --- zones ----------------------------------------------------------------------------------------------

def _zone_name_free(name: str, exclude: Zone | None = None) -> None:
    taken = Zone.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise InvalidParameter(_("A zone named %(name)s already exists.") % {"name": name})


@transaction.atomic
def zone_create(*, caller: User, name: str, network_type: str, dns1: str, internal_dns1: str, dns2: str = "",
                internal_dns2: str = "", guest_cidr: str = "", network_domain: str = "", description: str = "",
                allocation_state: str = AllocationState.DISABLED) -> Zone:
    """Zones start Disabled, as CloudStack's: they are enabled once pods, clusters and hosts are in place."""
    authorize(caller, "zone.create")
    name = _name(name, _("zone"))
    if network_type not in Zone.NetworkType.values:
        raise InvalidParameter(_("Network type must be Basic or Advanced, not %(value)s.") % {"value": network_type})
    guest_cidr = _cidr(guest_cidr)
    if guest_cidr and network_type == Zone.NetworkType.BASIC:
        raise InvalidParameter(_("A guest CIDR is only for Advanced zones."))
    zone = Zone(name=name, network_type=network_type, description=(description or "").strip()[:1024],
                dns1=_ipv4(dns1, "dns1", required=True), dns2=_ipv4(dns2, "dns2"),
                internal_dns1=_ipv4(internal_dns1, "internaldns1", required=True),
                internal_dns2=_ipv4(internal_dns2, "internaldns2"), guest_cidr=guest_cidr,
                network_domain=_network_domain(network_domain),
                allocation_state=_allocation_state(allocation_state))
    _zone_name_free(name)
    zone.save()
    _event(caller, "ZONE.CREATE", _("Created zone %(name)s") % {"name": name}, zone)
    return zone


@transaction.atomic
def zone_update(*, caller: User, zone: Zone, name: str | None = None, description: str | None = None,
                dns1: str | None = None, dns2: str | None = None, internal_dns1: str | None = None,
                internal_dns2: str | None = None, guest_cidr: str | None = None, network_domain: str | None = None,
                allocation_state: str | None = None) -> Zone:
    """None leaves a field as it is; the network type is fixed for a zone's life, as in CloudStack."""
    authorize(caller, "zone.update")
    zone = Zone.objects.select_for_update().get(pk=zone.pk)
    if name is not None:
        zone.name = _name(name, _("zone"))
        _zone_name_free(zone.name, exclude=zone)
    if description is not None:
        zone.description = description.strip()[:1024]
    if dns1 is not None:
        zone.dns1 = _ipv4(dns1, "dns1", required=True)
    if dns2 is not None:
        zone.dns2 = _ipv4(dns2, "dns2")
    if internal_dns1 is not None:
        zone.internal_dns1 = _ipv4(internal_dns1, "internaldns1", required=True)
    if internal_dns2 is not None:
        zone.internal_dns2 = _ipv4(internal_dns2, "internaldns2")
    if guest_cidr is not None:
        zone.guest_cidr = _cidr(guest_cidr)
        if zone.guest_cidr and zone.network_type == Zone.NetworkType.BASIC:
            raise InvalidParameter(_("A guest CIDR is only for Advanced zones."))
    if network_domain is not None:
        zone.network_domain = _network_domain(network_domain)
    if allocation_state is not None:
        zone.allocation_state = _allocation_state(allocation_state)
    zone.save()
    _event(caller, "ZONE.EDIT", _("Updated zone %(name)s") % {"name": zone.name}, zone)
    return zone


@transaction.atomic
def zone_delete(*, caller: User, zone: Zone) -> None:
    authorize(caller, "zone.delete")
    zone = Zone.objects.select_for_update().get(pk=zone.pk)
    _require_empty(zone, _("Zone"))
    name = zone.name
    zone.delete()
    _event(caller, "ZONE.DELETE", _("Deleted zone %(name)s") % {"name": name}, None)


# --- pods -----------------------------------------------------------------------------------------------

def _pod_range(zone: Zone, gateway: str, netmask: str, start_ip: str, end_ip: str,
               exclude: Pod | None = None) -> tuple[str, str]:
    """The range must lie in the gateway's subnet, exclude the gateway, and not overlap another pod's."""
    network = ipaddress.IPv4Network(f"{gateway}/{netmask}", strict=False)
    start = ipaddress.IPv4Address(start_ip)
    end = ipaddress.IPv4Address(end_ip) if end_ip else network.broadcast_address - 1
    if start not in network or end not in network:
        raise InvalidParameter(_("The IP range %(start)s-%(end)s is not in the pod's subnet %(network)s.")
                               % {"start": start, "end": end, "network": network})
    if start > end:
        raise InvalidParameter(_("The start IP %(start)s is after the end IP %(end)s.") % {"start": start, "end": end})
    if start <= ipaddress.IPv4Address(gateway) <= end:
        raise InvalidParameter(_("The gateway %(gateway)s cannot be inside the IP range.") % {"gateway": gateway})
    others = Pod.objects.filter(zone=zone).exclude(start_ip="")
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    for other in others:
        other_start = ipaddress.IPv4Address(other.start_ip)
        other_end = ipaddress.IPv4Address(other.end_ip) if other.end_ip else other_start
        if start <= other_end and other_start <= end:
            raise InvalidParameter(_("The IP range %(start)s-%(end)s overlaps pod %(pod)s's range.")
                                   % {"start": start, "end": end, "pod": other.name})
    return str(start), str(end)


def _pod_name_free(zone: Zone, name: str, exclude: Pod | None = None) -> None:
    taken = Pod.objects.filter(zone=zone, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise InvalidParameter(_("Zone %(zone)s already has a pod named %(name)s.") % {"zone": zone, "name": name})


@transaction.atomic
def pod_create(*, caller: User, zone: Zone, name: str, gateway: str, netmask: str, start_ip: str,
               end_ip: str = "", allocation_state: str = AllocationState.ENABLED) -> Pod:
    """Without an end IP the range runs to the subnet's last usable address, as CloudStack's createPod."""
    authorize(caller, "pod.create")
    name = _name(name, _("pod"))
    gateway = _ipv4(gateway, "gateway", required=True)
    netmask = _netmask(netmask)
    start_ip, end_ip = _pod_range(zone, gateway, netmask, _ipv4(start_ip, "startip", required=True),
                                  _ipv4(end_ip, "endip"))
    _pod_name_free(zone, name)
    pod = Pod.objects.create(zone=zone, name=name, gateway=gateway, netmask=netmask, start_ip=start_ip,
                             end_ip=end_ip, allocation_state=_allocation_state(allocation_state))
    _event(caller, "POD.CREATE", _("Created pod %(name)s in zone %(zone)s") % {"name": name, "zone": zone}, pod)
    return pod


@transaction.atomic
def pod_update(*, caller: User, pod: Pod, name: str | None = None, gateway: str | None = None,
               netmask: str | None = None, start_ip: str | None = None, end_ip: str | None = None,
               allocation_state: str | None = None) -> Pod:
    authorize(caller, "pod.update")
    pod = Pod.objects.select_for_update(of=("self",)).select_related("zone").get(pk=pod.pk)
    if name is not None:
        pod.name = _name(name, _("pod"))
        _pod_name_free(pod.zone, pod.name, exclude=pod)
    if any(value is not None for value in (gateway, netmask, start_ip, end_ip)):
        gateway = _ipv4(pod.gateway if gateway is None else gateway, "gateway", required=True)
        netmask = _netmask(pod.netmask if netmask is None else netmask)
        start = _ipv4(pod.start_ip if start_ip is None else start_ip, "startip", required=True)
        end = _ipv4(pod.end_ip if end_ip is None else end_ip, "endip")
        pod.gateway, pod.netmask = gateway, netmask
        pod.start_ip, pod.end_ip = _pod_range(pod.zone, gateway, netmask, start, end, exclude=pod)
    if allocation_state is not None:
        pod.allocation_state = _allocation_state(allocation_state)
    pod.save()
    _event(caller, "POD.EDIT", _("Updated pod %(name)s") % {"name": pod.name}, pod)
    return pod


@transaction.atomic
def pod_delete(*, caller: User, pod: Pod) -> None:
    authorize(caller, "pod.delete")
    pod = Pod.objects.select_for_update().get(pk=pod.pk)
    _require_empty(pod, _("Pod"))
    name = pod.name
    pod.delete()
    _event(caller, "POD.DELETE", _("Deleted pod %(name)s") % {"name": name}, None)


# --- clusters -------------------------------------------------------------------------------------------

def _hypervisor(value: str | None) -> str:
    for known in HYPERVISOR_TYPES:
        if (value or "").strip().lower() == known.lower():
            return known
    raise InvalidParameter(_("Hypervisor must be one of %(known)s, not %(value)s.")
                           % {"known": ", ".join(HYPERVISOR_TYPES), "value": value})


def _cluster_name_free(pod: Pod, name: str, exclude: Cluster | None = None) -> None:
    taken = Cluster.objects.filter(pod=pod, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise InvalidParameter(_("Pod %(pod)s already has a cluster named %(name)s.") % {"pod": pod, "name": name})


@transaction.atomic
def cluster_add(*, caller: User, pod: Pod, name: str, hypervisor_type: str = "KVM", zone: Zone | None = None,
                allocation_state: str = AllocationState.ENABLED, cpu_overprovisioning: float | str | None = None,
                memory_overprovisioning: float | str | None = None) -> Cluster:
    """Factors not given start from the global settings, so a cloud tuned for overprovisioning keeps it for
    clusters added later; once stored they are the cluster's own (its cluster-scoped value)."""
    authorize(caller, "cluster.add")
    if cpu_overprovisioning is None:
        cpu_overprovisioning = config_value("cpu.overprovisioning.factor")
    if memory_overprovisioning is None:
        memory_overprovisioning = config_value("mem.overprovisioning.factor")
    if zone is not None and zone.pk != pod.zone_id:
        raise InvalidParameter(_("Pod %(pod)s is not in zone %(zone)s.") % {"pod": pod, "zone": zone})
    name = _name(name, _("cluster"))
    cluster = Cluster(pod=pod, zone_id=pod.zone_id, name=name, hypervisor_type=_hypervisor(hypervisor_type),
                      allocation_state=_allocation_state(allocation_state),
                      cpu_overprovisioning=_factor(cpu_overprovisioning, _("The CPU overprovisioning factor")),
                      memory_overprovisioning=_factor(memory_overprovisioning,
                                                      _("The memory overprovisioning factor")))
    _cluster_name_free(pod, name)
    cluster.save()
    _event(caller, "CLUSTER.CREATE", _("Added cluster %(name)s to pod %(pod)s") % {"name": name, "pod": pod},
           cluster)
    return cluster


@transaction.atomic
def cluster_update(*, caller: User, cluster: Cluster, name: str | None = None,
                   hypervisor_type: str | None = None, allocation_state: str | None = None,
                   cpu_overprovisioning: float | str | None = None,
                   memory_overprovisioning: float | str | None = None) -> Cluster:
    """The hypervisor type can only change while the cluster has no hosts: they run that hypervisor."""
    authorize(caller, "cluster.update")
    cluster = Cluster.objects.select_for_update(of=("self",)).select_related("pod", "zone").get(pk=cluster.pk)
    if name is not None:
        cluster.name = _name(name, _("cluster"))
        _cluster_name_free(cluster.pod, cluster.name, exclude=cluster)
    if hypervisor_type is not None:
        hypervisor = _hypervisor(hypervisor_type)
        if hypervisor != cluster.hypervisor_type and cluster.hosts.exists():
            raise InvalidParameter(_("The hypervisor of cluster %(name)s cannot change while it has hosts.")
                                   % {"name": cluster.name})
        cluster.hypervisor_type = hypervisor
    if allocation_state is not None:
        cluster.allocation_state = _allocation_state(allocation_state)
    if cpu_overprovisioning is not None:
        cluster.cpu_overprovisioning = _factor(cpu_overprovisioning, _("The CPU overprovisioning factor"))
    if memory_overprovisioning is not None:
        cluster.memory_overprovisioning = _factor(memory_overprovisioning, _("The memory overprovisioning factor"))
    cluster.save()
    _event(caller, "CLUSTER.EDIT", _("Updated cluster %(name)s") % {"name": cluster.name}, cluster)
    return cluster


@transaction.atomic
def cluster_delete(*, caller: User, cluster: Cluster) -> None:
    authorize(caller, "cluster.delete")
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    _require_empty(cluster, _("Cluster"))
    name = cluster.name
    cluster.delete()
    _event(caller, "CLUSTER.DELETE", _("Deleted cluster %(name)s") % {"name": name}, None)


# --- physical networks and traffic types ----------------------------------------------------------------

def _vlan(value: str | None) -> str:
    """CloudStack's VLAN ranges: "100-199" or "100-199,300-399", each id 1-4094."""
    text = (value or "").replace(" ", "")
    if not text:
        return ""
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2 or not all(bound.isdigit() for bound in bounds):
            raise InvalidParameter(_("VLAN range %(value)s is not of the form 100-199,300-399.") % {"value": value})
        low, high = int(bounds[0]), int(bounds[-1])
        if not 1 <= low <= high <= 4094:
            raise InvalidParameter(_("VLAN range %(value)s must lie within 1-4094, low end first.")
                                   % {"value": value})
    return text



def _isolation_methods(value: str | list[str] | None) -> str:
    methods = [method.upper() for method in comma_list(value)]
    unknown = [method for method in methods if method not in ISOLATION_METHODS]
    if unknown:
        raise InvalidParameter(_("Unknown isolation method %(value)s; use one of %(known)s.")
                               % {"value": ", ".join(unknown), "known": ", ".join(ISOLATION_METHODS)})
    return ",".join(methods)


def _network_speed(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > 32:
        raise InvalidParameter(_("The network speed is too long (at most 32 characters)."))
    return text


@transaction.atomic
def physical_network_create(*, caller: User, zone: Zone, name: str, vlan: str = "",
                            isolation_methods: str | list[str] = "", broadcast_domain_range: str = "",
                            tags: str | list[str] = "", network_speed: str = "") -> PhysicalNetwork:
    """A Basic zone has exactly one physical network, as in CloudStack; it starts Disabled."""
    authorize(caller, "physicalnetwork.create")
    name = _name(name, _("physical network"))
    zone = Zone.objects.select_for_update().get(pk=zone.pk)
    if zone.network_type == Zone.NetworkType.BASIC and zone.physical_networks.exists():
        raise InvalidParameter(_("Basic zone %(zone)s already has a physical network; it can have only one.")
                               % {"zone": zone})
    scope = (broadcast_domain_range or ("POD" if zone.network_type == Zone.NetworkType.BASIC else "ZONE")).upper()
    if scope not in BROADCAST_DOMAIN_RANGES:
        raise InvalidParameter(_("Broadcast domain range must be ZONE or POD."))
    if scope == "POD" and zone.network_type != Zone.NetworkType.BASIC:
        raise InvalidParameter(_("A POD broadcast domain range is only for Basic zones."))
    tag_text = tags_text(tags, too_long=_("The tags are too long (at most 1024 characters)."))
    if zone.physical_networks.filter(name__iexact=name).exists():
        raise InvalidParameter(_("Zone %(zone)s already has a physical network named %(name)s.")
                               % {"zone": zone, "name": name})
    network = PhysicalNetwork.objects.create(
        zone=zone, name=name, vlan=_vlan(vlan), isolation_methods=_isolation_methods(isolation_methods),
        broadcast_domain_range=scope, tags=tag_text, network_speed=_network_speed(network_speed))
    _event(caller, "PHYSICAL.NETWORK.CREATE", _("Created physical network %(name)s in zone %(zone)s")
           % {"name": name, "zone": zone}, network)
    return network


@transaction.atomic
def physical_network_update(*, caller: User, physical_network: PhysicalNetwork, state: str | None = None,
                            vlan: str | None = None, tags: str | list[str] | None = None,
                            network_speed: str | None = None) -> PhysicalNetwork:
    authorize(caller, "physicalnetwork.update")
    network = PhysicalNetwork.objects.select_for_update().get(pk=physical_network.pk)
    if state is not None:
        value = state.strip().capitalize()
        if value not in PhysicalNetwork.State.values:
            raise InvalidParameter(_("State must be Enabled or Disabled, not %(value)s.") % {"value": state})
        network.state = value
    if vlan is not None:
        network.vlan = _vlan(vlan)
    if tags is not None:
        network.tags = tags_text(tags, too_long=_("The tags are too long (at most 1024 characters)."))
    if network_speed is not None:
        network.network_speed = _network_speed(network_speed)
    network.save()
    _event(caller, "PHYSICAL.NETWORK.UPDATE", _("Updated physical network %(name)s") % {"name": network.name},
           network)
    return network


@transaction.atomic
def physical_network_delete(*, caller: User, physical_network: PhysicalNetwork) -> None:
    """Its traffic types go with it, as in CloudStack; anything else still using it refuses the delete."""
    authorize(caller, "physicalnetwork.delete")
    network = PhysicalNetwork.objects.select_for_update().get(pk=physical_network.pk)
    _require_empty(network, _("Physical network"))
    name = network.name
    network.delete()
    _event(caller, "PHYSICAL.NETWORK.DELETE", _("Deleted physical network %(name)s") % {"name": name}, None)


def _kvm_network_label(value: str | None) -> str:
    label = (value or "").strip()
    if len(label) > 255 or any(char.isspace() for char in label):
        raise InvalidParameter(_("The KVM network label must be a bridge name without spaces."))
    return label


@transaction.atomic
def traffic_type_add(*, caller: User, physical_network: PhysicalNetwork, traffic_type: str,
                     kvm_network_label: str = "") -> TrafficType:
    """Public, Management and Storage traffic each runs on one physical network of a zone; Guest may span
    several. A Basic zone carries no Public traffic (no elastic IPs here)."""
    authorize(caller, "traffictype.add")
    network = PhysicalNetwork.objects.select_for_update(of=("self",)).select_related("zone").get(pk=physical_network.pk)
    kind = next((value for value in TrafficType.Kind.values if value.lower() == (traffic_type or "").strip().lower()),
                None)
    if kind is None:
        raise InvalidParameter(_("Traffic type must be one of %(known)s, not %(value)s.")
                               % {"known": ", ".join(TrafficType.Kind.values), "value": traffic_type})
    if kind == TrafficType.Kind.PUBLIC and network.zone.network_type == Zone.NetworkType.BASIC:
        raise InvalidParameter(_("A Basic zone has no Public traffic."))
    if network.traffic_types.filter(traffic_type=kind).exists():
        raise InvalidParameter(_("Physical network %(name)s already carries %(kind)s traffic.")
                               % {"name": network.name, "kind": kind})
    if kind != TrafficType.Kind.GUEST and TrafficType.objects.filter(
            physical_network__zone_id=network.zone_id, traffic_type=kind).exists():
        raise InvalidParameter(_("Another physical network of zone %(zone)s already carries %(kind)s traffic.")
                               % {"zone": network.zone, "kind": kind})
    traffic = TrafficType.objects.create(physical_network=network, traffic_type=kind,
                                         kvm_network_label=_kvm_network_label(kvm_network_label))
    _event(caller, "TRAFFIC.TYPE.CREATE", _("Added %(kind)s traffic to physical network %(name)s")
           % {"kind": kind, "name": network.name}, traffic)
    return traffic


@transaction.atomic
def traffic_type_update(*, caller: User, traffic_type: TrafficType, kvm_network_label: str) -> TrafficType:
    """Only the label changes (CloudStack's updateTrafficType): the kind of traffic is what the row is."""
    authorize(caller, "traffictype.update")
    traffic = TrafficType.objects.select_for_update(of=("self",)).select_related("physical_network").get(
        pk=traffic_type.pk)
    traffic.kvm_network_label = _kvm_network_label(kvm_network_label)
    traffic.save(update_fields=["kvm_network_label"])
    _event(caller, "TRAFFIC.TYPE.UPDATE", _("Updated %(kind)s traffic of physical network %(name)s")
           % {"kind": traffic.traffic_type, "name": traffic.physical_network.name}, traffic)
    return traffic


@transaction.atomic
def traffic_type_delete(*, caller: User, traffic_type: TrafficType) -> None:
    authorize(caller, "traffictype.delete")
    traffic = TrafficType.objects.select_related("physical_network").get(pk=traffic_type.pk)
    traffic.delete()
    _event(caller, "TRAFFIC.TYPE.DELETE", _("Removed %(kind)s traffic from physical network %(name)s")
           % {"kind": traffic.traffic_type, "name": traffic.physical_network.name}, None)
