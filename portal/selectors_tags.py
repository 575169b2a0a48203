"""Reads of resource tags, and the registry of taggable resource types.

A tag names its resource by CloudStack's resource type and the resource's public id. Each taggable type
resolves ids through its own tenancy-scoped selector, so a caller can only tag (or untag) what it can see,
and `tags_for` fetches the tags of a whole page of listed rows in one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from portal.authz import authorize, scope
from portal.errors import InvalidParameter
from portal.lookup import get_by_uuid
from portal.models import ResourceTag


@dataclass(frozen=True)
class TaggableType:
    name: str  # CloudStack's resource type name (UserVm, Volume, ...)
    lookup: Callable[[User, str], Model]  # one resource by public id within the caller's reach, else NotFound


def _vm(caller: User, object_id: str) -> Model:
    from compute.selectors import vm_get

    return vm_get(caller=caller, vm_id=object_id)


def _volume(caller: User, object_id: str) -> Model:
    from storage.models import Volume

    authorize(caller, "tag.list")
    volumes = scope(caller, Volume.objects.select_related("account", "domain")).filter(removed__isnull=True)
    return get_by_uuid(volumes, object_id, _("a volume"))


def _template(caller: User, object_id: str) -> Model:
    from storage.selectors import template_list

    return get_by_uuid(template_list(caller=caller), object_id, _("a template"))


def _iso(caller: User, object_id: str) -> Model:
    from storage.selectors_isos import iso_list

    return get_by_uuid(iso_list(caller=caller), object_id, _("an ISO"))


def _vm_snapshot(caller: User, object_id: str) -> Model:
    from compute.selectors_vm_snapshots import vm_snapshot_get

    return vm_snapshot_get(caller=caller, snapshot_id=object_id)


def _affinity_group(caller: User, object_id: str) -> Model:
    from compute.selectors_affinity import affinity_group_get

    return affinity_group_get(caller=caller, group_id=object_id)


def _keypair(caller: User, object_id: str) -> Model:
    from compute.selectors_keypairs import keypair_get

    return keypair_get(caller=caller, keypair_id=object_id)


TAGGABLE_TYPES: dict[str, TaggableType] = {t.name: t for t in (
    TaggableType("UserVm", _vm),
    TaggableType("Volume", _volume),
    TaggableType("Template", _template),
    TaggableType("ISO", _iso),
    TaggableType("VMSnapshot", _vm_snapshot),
    TaggableType("AffinityGroup", _affinity_group),
    TaggableType("SSHKeyPair", _keypair),
)}


@cache
def _by_lower_name() -> dict[str, TaggableType]:
    return {name.lower(): t for name, t in TAGGABLE_TYPES.items()}


def taggable_type(name: str) -> TaggableType:
    """CloudStack matches resource type names in any letter case."""
    found = _by_lower_name().get((name or "").lower())
    if found is None:
        raise InvalidParameter(_("Invalid resource type %(type)s; taggable types are: %(types)s.") % {
            "type": name, "types": ", ".join(TAGGABLE_TYPES)})
    return found


def tag_resources(*, caller: User, resource_type: str, resource_ids: Sequence[str]) -> list[Model]:
    """The resources a tag command names, each within the caller's reach (NotFound otherwise)."""
    kind = taggable_type(resource_type)
    if not resource_ids:
        raise InvalidParameter(_("At least one resource id is required."))
    return [kind.lookup(caller, str(object_id)) for object_id in dict.fromkeys(resource_ids)]


def tag_list(*, caller: User, resource_type: str | None = None, resource_id: str | None = None,
             key: str | None = None, value: str | None = None, customer: str | None = None
             ) -> QuerySet[ResourceTag]:
    authorize(caller, "tag.list")
    tags = scope(caller, ResourceTag.objects.select_related("account", "domain"))
    if resource_type:
        tags = tags.filter(resource_type=taggable_type(resource_type).name)
    if resource_id:
        try:
            tags = tags.filter(resource_uuid=uuid.UUID(str(resource_id)))
        except ValueError:
            return tags.none()
    if key:
        tags = tags.filter(key=key)
    if value:
        tags = tags.filter(value=value)
    if customer:
        tags = tags.filter(customer=customer)
    return tags


def tags_for(resource_type: str, rows: Iterable[Model]) -> dict[int, list[ResourceTag]]:
    """Tags of a page of rows (already within the caller's reach), by row pk: one query for the page."""
    ids = [row.pk for row in rows]
    found: dict[int, list[ResourceTag]] = {pk: [] for pk in ids}
    if not ids:
        return found
    for tag in (ResourceTag.objects.filter(resource_type=resource_type, resource_id__in=ids)
                .select_related("account", "domain").order_by("key", "pk")):
        found[tag.resource_id].append(tag)
    return found


def filter_by_tags(qs: QuerySet, resource_type: str, tags: dict[str, str]) -> QuerySet:
    """Rows carrying every key=value given (an empty value matches any value of that key)."""
    for key, value in tags.items():
        matching = ResourceTag.objects.filter(resource_type=resource_type, key=key)
        if value:
            matching = matching.filter(value=value)
        qs = qs.filter(pk__in=matching.values("resource_id"))
    return qs
