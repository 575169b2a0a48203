"""CloudStack API declarations of storage: listTemplates and the template response object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from infrastructure.models import Zone
from infrastructure.selectors import zone_get, zone_list
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.cloudstack.responses import owner_fields
from storage.models import Template
from storage.selectors import TEMPLATE_FILTERS, template_get_executable, template_list

TEMPLATE_FIELDS = (
    "id", "name", "displaytext", "ispublic", "isfeatured", "isready", "status", "created", "format",
    "hypervisor", "ostypename", "size", "zoneid", "zonename", "crossZones", "account", "domainid", "domain",
    "templatetype", "passwordenabled", "isextractable", "bootable", "sshkeyenabled", "isdynamicallyscalable",
    "tags",
)


def render_template(call: Call, item: Template | tuple[Template, Zone | None]) -> dict[str, Any]:
    """One listed template entry; CloudStack lists a template once per zone it is available in."""
    template, zone = item if isinstance(item, tuple) else (item, item.zone)
    return {
        "id": str(template.uuid),
        "name": template.name,
        "displaytext": template.display_text or template.name,
        "ispublic": template.is_public,
        "isfeatured": template.is_featured,
        "isready": template.is_ready,
        "status": "Download Complete" if template.is_ready else None,
        "created": template.created,
        "format": template.format,
        "hypervisor": template.hypervisor,
        "ostypename": template.os_type,
        "size": template.size,
        "zoneid": str(zone.uuid) if zone is not None else None,
        "zonename": zone.name if zone is not None else None,
        "crossZones": template.zone_id is None,
        **owner_fields(template),
        "templatetype": "USER",
        "passwordenabled": False,
        "isextractable": False,
        "bootable": True,
        "sshkeyenabled": False,
        "isdynamicallyscalable": False,
        "tags": [],
    }


register_object(ObjectType(
    model="template", name="template", instance_type="Template",
    lookup=lambda caller, template_id: template_get_executable(caller=caller, template_id=template_id),
    render=render_template, fields=TEMPLATE_FIELDS,
))


def _listing_zone(call: Call) -> Zone | None:
    return zone_get(caller=call.caller, zone_id=call.get("zoneid")) if call.get("zoneid") else None


def list_templates(call: Call) -> QuerySet[Template]:
    return template_list(caller=call.caller, template_filter=call.get("templatefilter"), zone=_listing_zone(call))


def one_entry_per_zone(call: Call, templates: Iterable[Template]) -> list[tuple[Template, Zone | None]]:
    """A template for every zone (zone empty) is listed once per zone, or once for the asked zone."""
    asked = _listing_zone(call)
    zones: list[Zone] = [asked] if asked is not None else list(zone_list(caller=call.caller))
    entries: list[tuple[Template, Zone | None]] = []
    for template in templates:
        if template.zone_id is not None:
            entries.append((template, template.zone))
        elif zones:
            entries.extend((template, zone) for zone in zones)
        else:
            entries.append((template, None))
    return entries


register(Command(
    name="listTemplates",
    description=_("Lists templates."),
    action="template.list",
    handler=list_templates,
    response_object="template",
    params=(
        Param("templatefilter", required=True, choices=TEMPLATE_FILTERS,
              description=_("featured, self, selfexecutable, sharedexecutable, executable, community or all.")),
        Param("zoneid", ParamType.UUID, description=_("List templates available in this zone.")),
    ),
    listing=Listing(object_name="template", render=render_template, keyword_fields=("name", "display_text"),
                    expand=one_entry_per_zone),
))

# Disk offerings; listIsos; primary storage and image stores
import storage.cloudstack_disk_offerings as cloudstack_disk_offerings  # noqa: E402, F401
from storage import cloudstack_isos, cloudstack_pools  # noqa: E402, F401
