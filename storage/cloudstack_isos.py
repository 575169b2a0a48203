"""CloudStack API declarations of ISOs: listIsos (ISOs are templates in format ISO, listed apart)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from storage.cloudstack import _listing_zone, one_entry_per_zone, render_template
from storage.models import Template
from storage.selectors_isos import ISO_FILTERS, iso_list

ISO_FIELDS = (
    "id", "name", "displaytext", "ispublic", "isfeatured", "isready", "status", "created", "format", "ostypename",
    "size", "zoneid", "zonename", "crossZones", "account", "domainid", "domain", "bootable", "isextractable",
    "tags",
)


def render_iso(call: Call, item: Template | tuple[Template, Any]) -> dict[str, Any]:
    """A template entry with the fields an ISO has (no hypervisor, template type or password flags)."""
    body = render_template(call, item)
    template = item[0] if isinstance(item, tuple) else item
    body["bootable"] = template.bootable
    return {field: body.get(field) for field in ISO_FIELDS}


def list_isos(call: Call) -> QuerySet[Template]:
    return iso_list(caller=call.caller, iso_filter=call.get("isofilter") or "executable", zone=_listing_zone(call),
                    bootable=call.get("bootable"))


register(Command(
    name="listIsos",
    description=_("Lists all available ISO files."),
    action="iso.list",
    handler=list_isos,
    response_object="iso",
    response_fields=ISO_FIELDS,
    params=(
        Param("isofilter", choices=ISO_FILTERS, default="executable",
              description=_("featured, self, selfexecutable, sharedexecutable, executable (the default), community "
                            "or all.")),
        Param("bootable", ParamType.BOOLEAN, description=_("true lists bootable ISOs only, false the others.")),
        Param("zoneid", ParamType.UUID, description=_("List ISOs available in this zone.")),
    ),
    listing=Listing(object_name="iso", render=render_iso, keyword_fields=("name", "display_text"),
                    expand=one_entry_per_zone),
))
