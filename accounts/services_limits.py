"""Writes on resource limits and counts.

resource_reserve runs inside the caller's service transaction: one conditional UPDATE per counter (the account,
then each ancestor domain, deepest first so concurrent reservations lock rows in the same order). The UPDATE's
WHERE re-reads the committed count after waiting for a racing transaction, so concurrent deploys cannot pass a
limit together. A refused reservation raises LimitExceeded and the whole service transaction rolls back.

LimitExceeded is errorcode 535 / cserrorcode 4370: CloudStack reports an exceeded limit as a
ResourceAllocationException (RESOURCE_ALLOCATION_ERROR, 535). Issue 4 says 536, but that is CloudStack's
RESOURCE_IN_USE_ERROR; the issue text was based on a wrong reference, so 535 it stays.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from accounts.limits import UNLIMITED, ResourceCount, ResourceLimit, ResourceType
from accounts.models import Account, Domain, User
from portal.authz import Role, authorize, role_of
from portal.errors import InvalidParameter, LimitExceeded, PermissionDenied
from portal.events import event_emit


def _ancestors(domain: Domain) -> list[Domain]:
    """The domain and every ancestor, deepest first."""
    chain = []
    node: Domain | None = domain
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def limit_default(*, owner: Account | Domain, resource_type: int) -> int:
    defaults = (settings.RESOURCE_LIMIT_ACCOUNT_DEFAULTS if isinstance(owner, Account)
                else settings.RESOURCE_LIMIT_DOMAIN_DEFAULTS)
    return int(defaults.get(ResourceType(resource_type).label, UNLIMITED))


def _owner_q(owner: Account | Domain) -> Q:
    return Q(account=owner) if isinstance(owner, Account) else Q(domain=owner)


def limit_effective(*, owner: Account | Domain, resource_type: int) -> int:
    row = ResourceLimit.objects.filter(_owner_q(owner), resource_type=resource_type).first()
    return row.max if row is not None else limit_default(owner=owner, resource_type=resource_type)


def _counter(owner: Account | Domain, resource_type: int) -> ResourceCount:
    kwargs = {"account": owner} if isinstance(owner, Account) else {"domain": owner}
    counter, _created = ResourceCount.objects.get_or_create(resource_type=resource_type, **kwargs)
    return counter


def resource_reserve(*, account: Account, resource_type: int, amount: int) -> None:
    """Call inside the service's transaction; raises LimitExceeded (nothing counted) if any level is full."""
    if amount <= 0:
        return
    for owner in [account, *_ancestors(account.domain)]:
        counter = _counter(owner, resource_type)
        limit = limit_effective(owner=owner, resource_type=resource_type)
        rows = ResourceCount.objects.filter(pk=counter.pk)
        if limit != UNLIMITED:
            rows = rows.filter(count__lte=limit - amount)
        if rows.update(count=F("count") + amount) == 0:
            where = (_("account %(name)s") % {"name": account.name} if isinstance(owner, Account)
                     else _("domain %(name)s") % {"name": owner.cloudstack_path})
            raise LimitExceeded(_("Maximum number of resources of type '%(type)s' for %(owner)s has been "
                                  "exceeded (limit %(limit)s).") % {
                "type": ResourceType(resource_type).label, "owner": where, "limit": limit})


def resource_release(*, account: Account, resource_type: int, amount: int) -> None:
    """Never below zero: a drifted count is fixed by resource_count_recalculate, not made negative."""
    if amount <= 0:
        return
    for owner in [account, *_ancestors(account.domain)]:
        counter = _counter(owner, resource_type)
        ResourceCount.objects.filter(pk=counter.pk, count__gte=amount).update(count=F("count") - amount)
        ResourceCount.objects.filter(pk=counter.pk, count__lt=amount).update(count=0)


def _check_reach(caller: User, action: str, *, account: Account | None, domain: Domain | None) -> None:
    """Root admins anywhere; domain admins inside their subtree, but never their own domain's limits (those are
    set from above)."""
    authorize(caller, action)
    if (account is None) == (domain is None):
        raise InvalidParameter(_("Specify either an account or a domain."))
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return
    own = caller.account.domain
    target = account.domain if account is not None else domain
    if not target.is_within(own):
        raise PermissionDenied(_("You do not have permission to access this object."))
    if action == "limit.update" and account is None and domain.pk == own.pk:
        raise PermissionDenied(_("A domain admin cannot change the limits of their own domain."))
    if action == "limit.update" and account is not None and account.pk == caller.account_id:
        raise PermissionDenied(_("A domain admin cannot change the limits of their own account."))


@transaction.atomic
def resource_limit_update(*, caller: User, resource_type: int, max: int | None,
                          account: Account | None = None, domain: Domain | None = None) -> ResourceLimit:
    """max None or -1 means unlimited, as in CloudStack. Storage limits arrive in bytes (the door converts)."""
    _check_reach(caller, "limit.update", account=account, domain=domain)
    resource_type = _valid_type(resource_type)
    value = UNLIMITED if max is None else int(max)
    if value < UNLIMITED:
        raise InvalidParameter(_("The maximum must be -1 (unlimited) or a number of at least 0."))
    kwargs = {"account": account} if account is not None else {"domain": domain}
    limit, _created = ResourceLimit.objects.update_or_create(resource_type=resource_type, defaults={"max": value},
                                                             **kwargs)
    from accounts.services_accounts import audit_account  # services_accounts imports this module

    owner = account.name if account is not None else domain.cloudstack_path
    event_emit(type="RESOURCE.LIMIT.UPDATE", description=_(
        "Set the %(type)s limit of %(owner)s to %(max)s") % {
            "type": ResourceType(resource_type).label, "owner": owner, "max": value},
        account=account if account is not None else audit_account(caller), user=caller)
    return limit


def _valid_type(resource_type: int) -> int:
    try:
        return int(ResourceType(int(resource_type)))
    except (TypeError, ValueError):
        raise InvalidParameter(_("Invalid resource type %(type)s; valid types are %(valid)s.") % {
            "type": resource_type, "valid": ", ".join(str(v) for v in ResourceType.values)}) from None


def _actual_usage(*, accounts: Q, resource_type: int) -> int:
    """What the rows of these accounts really use; the truth resource_count_recalculate restores."""
    from compute.models import VirtualMachine
    from compute.states import VmState
    from storage.models import Template, Volume

    vms = VirtualMachine.objects.filter(accounts).exclude(state__in=[VmState.DESTROYED, VmState.EXPUNGING])
    volumes = Volume.objects.filter(accounts).exclude(state=Volume.State.EXPUNGED)
    templates = Template.objects.filter(accounts, removed__isnull=True)
    match resource_type:
        case ResourceType.USER_VM:
            return vms.count()
        case ResourceType.CPU:
            return vms.aggregate(n=Sum("cpu_number"))["n"] or 0
        case ResourceType.MEMORY:
            return vms.aggregate(n=Sum("memory"))["n"] or 0
        case ResourceType.VOLUME:
            return volumes.count()
        case ResourceType.PRIMARY_STORAGE:
            return volumes.aggregate(n=Sum("size"))["n"] or 0
        case ResourceType.TEMPLATE:
            return templates.count()
        case ResourceType.SECONDARY_STORAGE:
            return templates.aggregate(n=Sum("size"))["n"] or 0
    return 0  # snapshots, public IPs, networks: no such rows exist yet


@transaction.atomic
def resource_count_recalculate(*, caller: User, account: Account | None = None, domain: Domain | None = None,
                               resource_type: int | None = None) -> list[ResourceCount]:
    """CloudStack's updateResourceCount: recompute from real rows. For a domain, its own subtree total and
    every account and sub-domain below it are recomputed, so the whole subtree is consistent again."""
    _check_reach(caller, "count.update", account=account, domain=domain)
    types = [_valid_type(resource_type)] if resource_type is not None else list(ResourceType.values)
    if account is not None:
        targets: list[Account | Domain] = [account]
    else:
        targets = [*Domain.objects.filter(path__startswith=domain.path),
                   *Account.objects.filter(domain__path__startswith=domain.path)]
    counters = []
    for owner in targets:
        accounts = (Q(account=owner) if isinstance(owner, Account)
                    else Q(account__domain__path__startswith=owner.path))
        for rtype in types:
            counter = _counter(owner, rtype)
            # Lock the row so a concurrent reservation waits and then applies on top of the exact value.
            counter = ResourceCount.objects.select_for_update().get(pk=counter.pk)
            counter.count = _actual_usage(accounts=accounts, resource_type=rtype)
            counter.save(update_fields=["count"])
            counters.append(counter)
    return counters
