"""CloudStack API declarations of the physical side: listZones and the zone response object."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infrastructure.models import Zone
from infrastructure.selectors import zone_get, zone_list
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object

ZONE_FIELDS = (
    "id", "name", "description", "networktype", "allocationstate", "dns1", "dns2", "internaldns1",
    "internaldns2", "guestcidraddress", "domain", "securitygroupsenabled", "localstorageenabled", "tags",
)


def render_zone(call: Call, zone: Zone) -> dict[str, Any]:
    return {
        "id": str(zone.uuid),
        "name": zone.name,
        "description": zone.description or None,
        "networktype": zone.network_type,
        "allocationstate": zone.allocation_state,
        "dns1": zone.dns1 or None,
        "internaldns1": zone.internal_dns1 or None,
        "dns2": zone.dns2 or None,
        "internaldns2": zone.internal_dns2 or None,
        "guestcidraddress": zone.guest_cidr or None,
        "domain": zone.network_domain or None,
        "securitygroupsenabled": False,
        # Until storage pools are modelled, primary storage is each host's local disk.
        "localstorageenabled": True,
        "tags": [],
    }


register_object(ObjectType(
    model="zone", name="zone", instance_type="Zone",
    lookup=lambda caller, zone_id: zone_get(caller=caller, zone_id=zone_id),
    render=render_zone, fields=ZONE_FIELDS,
))


def list_zones(call: Call) -> QuerySet[Zone]:
    return zone_list(caller=call.caller, available=bool(call.get("available")))


register(Command(
    name="listZones",
    description=_("Lists zones."),
    action="zone.list",
    handler=list_zones,
    params=(
        Param("available", ParamType.BOOLEAN,
              description=_("If true, list only enabled zones.")),
    ),
    response_object="zone",
    listing=Listing(object_name="zone", render=render_zone, keyword_fields=("name", "description")),
))
from infrastructure import cloudstack_hosts  # noqa: E402, F401  (hosts)

# isort: split
from infrastructure import cloudstack_topology  # noqa: E402, F401

# isort: split
from infrastructure import cloudstack_capacity  # noqa: E402, F401
