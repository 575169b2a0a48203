"""The limits page's view of one account or domain: per resource type its own limit, its current count, and
the cap that really applies once the ancestor domains' limits are taken into account.

A domain's limit caps its whole subtree (accounts.limits), so an account with no limit of its own can still
be stopped by a domain above it; showing only the account's own "-1" would hide that. The ancestors' limits
are shown (they are settings, not usage), their counts are not: a domain's count totals other tenants' use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.limits import UNLIMITED, ResourceCount, ResourceLimit, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors import account_list, domain_list
from accounts.services_limits import _check_reach, limit_default
from portal.authz import authorize, can
from portal.errors import InvalidParameter, NotFound, PermissionDenied


@dataclass(frozen=True)
class ResourceUsage:
    account: Account | None
    domain: Domain  # the account's domain, or the domain itself
    resource_type: int
    max: int  # the owner's own limit (its row, else the default); -1 unlimited
    count: int
    effective_max: int  # the tightest of max and every ancestor domain's limit; -1 unlimited
    effective_owner: str  # who sets effective_max: "" for the owner itself, else the domain path

    @property
    def type_name(self) -> str:
        return ResourceType(self.resource_type).label

    @property
    def is_storage(self) -> bool:
        return self.resource_type in (ResourceType.PRIMARY_STORAGE, ResourceType.SECONDARY_STORAGE)


def _ancestor_paths(domain: Domain) -> list[str]:
    parts = domain.path.rstrip("/").split("/")
    return ["".join(f"{part}/" for part in parts[:i]) for i in range(1, len(parts) + 1)]


def resource_usage_list(*, caller: User, account: Account | None = None, domain: Domain | None = None
                        ) -> list[ResourceUsage]:
    """Every resource type for the account (the caller's own without either) or the domain, in a fixed
    number of queries. The account or domain must be in the caller's reach (else NotFound, as for an
    unknown one)."""
    authorize(caller, "limit.list")
    if account is not None and domain is not None:
        raise InvalidParameter(_("Specify either an account or a domain."))
    if account is None and domain is None:
        account = caller.account
        if account is None:
            raise NotFound(_("You belong to no account."))
    if account is not None and not account_list(caller=caller).filter(pk=account.pk).exists():
        raise NotFound(_("Unable to find an account with id %(id)s.") % {"id": account.uuid})
    if account is None and not domain_list(caller=caller).filter(pk=domain.pk).exists():
        raise NotFound(_("Unable to find a domain with id %(id)s.") % {"id": domain.uuid})
    home = account.domain if account is not None else domain
    chain = list(Domain.objects.filter(path__in=_ancestor_paths(home)).order_by("-level"))  # deepest first
    owner_q = Q(account=account) if account is not None else Q(domain=home)
    limits = {(row.account_id, row.domain_id, row.resource_type): row.max
              for row in ResourceLimit.objects.filter(owner_q | Q(domain__in=chain))}
    counts = {row.resource_type: row.count for row in ResourceCount.objects.filter(owner_q)}

    def limit_of(owner: Account | Domain, resource_type: int) -> int:
        key = (owner.pk, None, resource_type) if isinstance(owner, Account) else (None, owner.pk, resource_type)
        value = limits.get(key)
        return value if value is not None else limit_default(owner=owner, resource_type=resource_type)

    owner = account if account is not None else home
    above = [d for d in chain if d.pk != home.pk] if account is None else chain
    rows = []
    for resource_type in ResourceType.values:
        own = limit_of(owner, resource_type)
        effective, effective_owner = own, ""
        for ancestor in above:
            value = limit_of(ancestor, resource_type)
            if value != UNLIMITED and (effective == UNLIMITED or value < effective):
                effective, effective_owner = value, ancestor.cloudstack_path
        rows.append(ResourceUsage(account=account, domain=home, resource_type=resource_type, max=own,
                                  count=counts.get(resource_type, 0), effective_max=effective,
                                  effective_owner=effective_owner))
    return rows


def limit_editable(*, caller: User, account: Account | None = None, domain: Domain | None = None,
                   action: str = "limit.update") -> bool:
    """Whether the caller may change this owner's limits ("limit.update") or recount its usage
    ("count.update"): the very rule accounts.services_limits enforces (root admins anywhere; domain admins
    in their subtree, limits only below their own domain and account), asked without changing anything, so
    the page offers forms only where saving them would work."""
    if not can(caller, action):
        return False
    try:
        _check_reach(caller, action, account=account, domain=domain)
    except (PermissionDenied, InvalidParameter):
        return False
    return True
