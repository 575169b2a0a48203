"""CloudStack's listCapacity: the capacity of each zone (or of each pod or cluster of the one named), root
admins only. Figures come from infrastructure.selectors_capacity, computed live, so `fetchlatest` only says
what already holds."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from infrastructure.selectors_capacity import Capacity, capacity_level, capacity_list
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register

CAPACITY_FIELDS = (
    "type", "name", "zoneid", "zonename", "podid", "podname", "clusterid", "clustername", "capacitytotal",
    "capacityused", "capacityallocated", "percentused",
)


def render_capacity(call: Call, capacity: Capacity) -> dict[str, Any]:
    return {
        "type": capacity.type,
        "name": capacity.name,
        "zoneid": str(capacity.zone.uuid),
        "zonename": capacity.zone.name,
        "podid": str(capacity.pod.uuid) if capacity.pod else None,
        "podname": capacity.pod.name if capacity.pod else None,
        "clusterid": str(capacity.cluster.uuid) if capacity.cluster else None,
        "clustername": capacity.cluster.name if capacity.cluster else None,
        "capacitytotal": capacity.total,
        "capacityused": capacity.used,
        "capacityallocated": capacity.allocated,
        # CloudStack formats it with DecimalFormat("##.##"): at most two decimals, no trailing zeros.
        "percentused": f"{capacity.percent_used:.2f}".rstrip("0").rstrip("."),
    }


def list_capacity(call: Call) -> list[Capacity]:
    zone_id, pod_id, cluster_id = call.get("zoneid"), call.get("podid"), call.get("clusterid")
    return capacity_list(caller=call.caller, level=capacity_level(zone_id=zone_id, pod_id=pod_id,
                                                                  cluster_id=cluster_id),
                         zone_id=zone_id, pod_id=pod_id, cluster_id=cluster_id, capacity_type=call.get("type"),
                         sort_by_usage=call.get("sortby") == "usage")


register(Command(
    name="listCapacity",
    description=_("Lists the capacity of zones, or of the pods or clusters of the one named: CPU (MHz), "
                  "memory, primary and secondary storage, with overprovisioning applied to the totals."),
    action="capacity.list",
    handler=list_capacity,
    params=(
        Param("zoneid", ParamType.UUID, description=_("List the capacity of this zone.")),
        Param("podid", ParamType.UUID, description=_("List the capacity of this pod.")),
        Param("clusterid", ParamType.UUID, description=_("List the capacity of this cluster.")),
        Param("type", ParamType.INTEGER, description=_(
            "Only this capacity type: 0 memory, 1 CPU, 2 primary storage used, 3 primary storage allocated, "
            "6 secondary storage.")),
        Param("fetchlatest", ParamType.BOOLEAN, default=False, description=_(
            "Accepted for compatibility: capacity is always computed from the latest figures.")),
        Param("sortby", choices=("usage",), description=_(
            "usage: order by percentage used, highest first.")),
    ),
    response_fields=CAPACITY_FIELDS,
    listing=Listing(object_name="capacity", render=render_capacity, id_field=None, name_field=None,
                    keyword_fields=()),
))
