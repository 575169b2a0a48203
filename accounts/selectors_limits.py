"""Reads of resource limits and counts, scoped to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.limits import ResourceCount, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors import account_list, domain_list
from accounts.services_limits import limit_effective
from portal.authz import authorize


@dataclass(frozen=True)
class LimitView:
    """A limit as the API shows it: every type for the owner, with the default where no row is set."""

    account: Account | None
    domain: Domain
    resource_type: int
    max: int

    @property
    def type_name(self) -> str:
        return ResourceType(self.resource_type).label


def resource_limit_list(*, caller: User, account: Account | None = None, domain: Domain | None = None,
                        resource_type: int | None = None) -> list[LimitView]:
    """Without account/domain, the caller's own account's limits (as CloudStack lists them). The account and
    domain must come from the caller-scoped account_get/domain_get, so reach is already checked."""
    authorize(caller, "limit.list")
    if account is None and domain is None:
        account = caller.account
    if account is not None and not account_list(caller=caller).filter(pk=account.pk).exists():
        return []
    if account is None and not domain_list(caller=caller).filter(pk=domain.pk).exists():
        return []
    types = [resource_type] if resource_type is not None else list(ResourceType.values)
    owner = account if account is not None else domain
    return [LimitView(account=account, domain=account.domain if account is not None else domain,
                      resource_type=t, max=limit_effective(owner=owner, resource_type=t)) for t in types]


def resource_count_get(*, caller: User, account: Account | None = None, domain: Domain | None = None,
                       resource_type: int) -> int:
    authorize(caller, "limit.list")
    rows = ResourceCount.objects.filter(resource_type=resource_type)
    if account is not None:
        if not account_list(caller=caller).filter(pk=account.pk).exists():
            return 0
        row = rows.filter(account=account).first()
    else:
        if not domain_list(caller=caller).filter(pk=domain.pk).exists():
            return 0
        row = rows.filter(domain=domain).first()
    return row.count if row is not None else 0
