"""Reads of ISOs: Template rows in format ISO, listed apart from templates (listIsos vs listTemplates) with
the same isofilter values and the same reach as templates."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Zone
from portal.authz import authorize
from portal.lookup import get_by_uuid
from storage.models import Template
from storage.selectors import TEMPLATE_FILTERS, template_list

# CloudStack's isofilter takes the templatefilter values.
ISO_FILTERS = TEMPLATE_FILTERS


def iso_list(*, caller: User, iso_filter: str = "executable", zone: Zone | None = None,
             bootable: bool | None = None) -> QuerySet[Template]:
    authorize(caller, "iso.list")
    isos = template_list(caller=caller, template_filter=iso_filter or "executable", zone=zone, isos=True)
    if bootable is not None:
        isos = isos.filter(bootable=bootable)
    return isos


def iso_get(*, caller: User, iso_id: str, zone: Zone | None = None) -> Template:
    """An ISO the caller may attach or boot from (ready, public or within the caller's reach)."""
    return get_by_uuid(iso_list(caller=caller, zone=zone).filter(is_ready=True), iso_id, _("an ISO"))


def image_get_executable(*, caller: User, image_id: str, zone: Zone | None = None) -> Template:
    """deployVirtualMachine's templateid names a template or a bootable ISO (deploy from ISO)."""
    from portal.errors import NotFound
    from storage.selectors import template_get_executable

    try:
        return template_get_executable(caller=caller, template_id=image_id, zone=zone)
    except NotFound:
        iso = iso_get(caller=caller, iso_id=image_id, zone=zone)
    if not iso.bootable:
        raise NotFound(_("ISO %(name)s is not bootable.") % {"name": iso.name})
    return iso
