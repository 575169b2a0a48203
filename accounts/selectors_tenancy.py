"""Reads of the tenancy tree for its administration: accounts, domains and users in the caller's reach.

The base rules (who reaches what) live in accounts.selectors (domain_list, account_list, user_list); these
add what listing and managing the tree needs, with the related rows loaded up front so lists stay at a fixed
number of queries however many rows they show.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.limits import ResourceCount, ResourceLimit, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors import account_list, domain_list, user_list
from accounts.services_limits import limit_default
from portal.authz import authorize
from portal.errors import InvalidParameter
from portal.lookup import get_by_uuid

ACCOUNT_STATES = tuple(Account.State.values)


def domain_list_annotated(*, caller: User) -> QuerySet[Domain]:
    """domain_list with what every rendering of a domain shows: its parent and whether it has children."""
    authorize(caller, "domain.list")
    return domain_list(caller=caller).select_related("parent").annotate(
        has_child=Exists(Domain.objects.filter(parent=OuterRef("pk"))))


def domain_children(*, caller: User, domain: Domain, recursive: bool = False) -> QuerySet[Domain]:
    """The domains right below `domain` (CloudStack's listDomainChildren), or its whole subtree below it."""
    domains = domain_list_annotated(caller=caller)
    if recursive:
        return domains.filter(path__startswith=domain.path).exclude(pk=domain.pk)
    return domains.filter(parent=domain)


def domain_subtree(*, caller: User, domain: Domain) -> QuerySet[Domain]:
    """The domain and everything below it, within the caller's reach (isrecursive=true)."""
    return domain_list_annotated(caller=caller).filter(path__startswith=domain.path)


# The resources an account listing shows with their limit, count and what is available (CloudStack's
# AccountResponse vmlimit/vmtotal/vmavailable, ...): those this portal counts.
LISTED_RESOURCES = (ResourceType.USER_VM, ResourceType.CPU, ResourceType.MEMORY, ResourceType.VOLUME,
                    ResourceType.PRIMARY_STORAGE, ResourceType.TEMPLATE)


def _count_of(resource_type: int) -> Coalesce:
    rows = ResourceCount.objects.filter(account=OuterRef("pk"), resource_type=resource_type).values("count")[:1]
    return Coalesce(Subquery(rows), Value(0))


def _limit_of(resource_type: int) -> Subquery:
    """The account's own limit row, or NULL (the default applies: see account_limit)."""
    return Subquery(ResourceLimit.objects.filter(account=OuterRef("pk"), resource_type=resource_type)
                    .values("max")[:1])


def _vms_in(state: str) -> Coalesce:
    from compute.models import VirtualMachine

    rows = (VirtualMachine.objects.filter(account=OuterRef("pk"), state=state).order_by()
            .values("account").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows), Value(0))


def account_list_detailed(*, caller: User, state: str | None = None, account_type: int | None = None
                          ) -> QuerySet[Account]:
    """account_list with what every rendering of an account shows, in one query plus one for the users: the
    users, running/stopped VMs, and per resource `count_<type>` and `limit_<type>` (NULL: the default)."""
    from compute.states import VmState

    authorize(caller, "account.list")
    accounts = account_list(caller=caller)
    if state:
        if state.lower() not in ACCOUNT_STATES:
            raise InvalidParameter(_("Invalid account state %(state)s: use one of %(states)s.") % {
                "state": state, "states": ", ".join(ACCOUNT_STATES)})
        accounts = accounts.filter(state=state.lower())
    if account_type is not None:
        if account_type not in Account.Type.values:
            raise InvalidParameter(_("Invalid account type %(type)s.") % {"type": account_type})
        accounts = accounts.filter(account_type=account_type)
    users = User.objects.select_related("account", "account__domain", "account__role").order_by("username")
    annotations = {"vm_running": _vms_in(VmState.RUNNING), "vm_stopped": _vms_in(VmState.STOPPED)}
    for resource_type in LISTED_RESOURCES:
        label = ResourceType(resource_type).label
        annotations[f"count_{label}"] = _count_of(resource_type)
        annotations[f"limit_{label}"] = _limit_of(resource_type)
    return accounts.select_related("role").prefetch_related(Prefetch("users", queryset=users)).annotate(**annotations)


def account_limit(account: Account, resource_type: int) -> int:
    """The effective limit of an account from account_list_detailed (its row, else the default)."""
    value = getattr(account, f"limit_{ResourceType(resource_type).label}", None)
    return value if value is not None else limit_default(owner=account, resource_type=resource_type)


def account_get(*, caller: User, account_id: str) -> Account:
    return get_by_uuid(account_list(caller=caller), account_id, _("an account"))


def account_get_detailed(*, caller: User, account_id: str) -> Account:
    return get_by_uuid(account_list_detailed(caller=caller), account_id, _("an account"))


def user_list_detailed(*, caller: User, account: Account | None = None, **filters: object) -> QuerySet[User]:
    """user_list, optionally of one account."""
    users = user_list(caller=caller, **filters)
    return users.filter(account=account) if account is not None else users


def enabled_root_admins() -> QuerySet[User]:
    """The users who can administer the whole cloud: enabled users of enabled root-admin accounts. No caller:
    this guards the last-admin rule, whoever asks."""
    return User.objects.filter(is_active=True, account__account_type=Account.Type.ROOT_ADMIN,
                               account__state=Account.State.ENABLED)
