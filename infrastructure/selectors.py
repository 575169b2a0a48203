"""Reads of the physical side. Zones are visible to every caller; hosts to root admins only."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from infrastructure.models import Host, Zone
from portal.authz import authorize


def zone_list(*, caller: User, available: bool = False) -> QuerySet[Zone]:
    authorize(caller, "zone.list")
    zones = Zone.objects.all()
    if available:
        zones = zones.filter(allocation_state="Enabled")
    return zones


def host_list(*, caller: User) -> QuerySet[Host]:
    authorize(caller, "host.list")
    return Host.objects.select_related("zone", "pod", "cluster")


def zone_get(*, caller: User, zone_id: str) -> Zone:
    from django.utils.translation import gettext as _

    from portal.lookup import get_by_uuid

    return get_by_uuid(zone_list(caller=caller), zone_id, _("a zone"))
