"""Reads of disk offerings, and the domain rule every offering list follows (compute offerings too).

An offering without domains is public; one with domains is offered to those domains and their subdomains.
So a user sees the public offerings and those of their domain or any ancestor of it; a domain admin also
those of the domains below theirs (they administer them); root admins see everything. Disk offerings hidden
from end users (displayoffering=false) are still listed to admins, as in CloudStack.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from portal.authz import Role, authorize, role_of
from portal.lookup import get_by_uuid
from storage.models import DiskOffering


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def domain_scoped(caller: User, queryset: QuerySet) -> QuerySet:
    """`queryset` (of a model with a `domains` many-to-many) narrowed to what the caller's domain may use.

    Subqueries on the link table, not a join: an offering with several domains stays one row."""
    role = role_of(caller)
    if role is Role.ROOT_ADMIN or caller.is_superuser:
        return queryset
    if caller.account_id is None:
        return queryset.none()
    through = queryset.model.domains.through
    owner_field = f"{queryset.model._meta.model_name}_id"
    path = caller.account.domain.path
    reachable = Q(domain__path__in=_ancestor_paths(path))
    if role is Role.DOMAIN_ADMIN:
        reachable |= Q(domain__path__startswith=path)
    restricted = through.objects.values(owner_field)
    allowed = through.objects.filter(reachable).values(owner_field)
    return queryset.filter(~Q(pk__in=restricted) | Q(pk__in=allowed))


def disk_offering_list(*, caller: User) -> QuerySet[DiskOffering]:
    """The disk offerings the caller may use (not removed), in CloudStack's order (size, then name)."""
    authorize(caller, "diskoffering.list")
    offerings = domain_scoped(caller, DiskOffering.objects.filter(removed__isnull=True))
    if role_of(caller) is Role.USER:
        offerings = offerings.filter(display_offering=True)
    return offerings


def disk_offering_get(*, caller: User, offering_id: str) -> DiskOffering:
    return get_by_uuid(disk_offering_list(caller=caller), offering_id, _("a disk offering"))


def offering_domains_text(offering: Model) -> tuple[str | None, str | None]:
    """CloudStack's `domainid` and `domain` of an offering: comma lists of ids and names, None when public.
    Reads the prefetched `domains` (no query when the list prefetched them)."""
    domains = list(offering.domains.all())  # type: ignore[attr-defined]
    if not domains:
        return None, None
    return ",".join(str(d.uuid) for d in domains), ",".join(d.name for d in domains)
