"""Writes on accounts (CloudStack's createAccount, updateAccount, disable/enable/lock/deleteAccount).

Rules every tenancy service shares live here too (services_domains and services_users import them):

- Reach: root admins act anywhere; a domain admin acts on accounts and users of its domain's subtree and on
  domains strictly below its own domain (portal.authz decides the first part, `require_below` the second).
- Nobody disables, locks or deletes their own account or their own user, and a domain admin changes nothing
  of its own account: a caller can neither lock themself out nor raise their own rights.
- The last-admin rule: no operation may leave the cloud without an enabled user in an enabled root-admin
  account (`require_root_admin_left`). Domain admins need no such rule of their own: whoever can disable or
  delete a domain's last domain admin is a root admin or a domain admin above it, who still manages that
  subtree, and the rule above keeps domain admins from removing themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, Domain, User
from accounts.roles import ROLE_TYPE_OF_ACCOUNT
from accounts.selectors_tenancy import enabled_root_admins
from accounts.services import user_provision
from portal.authz import Role, authorize, role_of
from portal.errors import InvalidParameter, PermissionDenied
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob

if TYPE_CHECKING:
    from accounts.roles import Role as AccountRole

JOB_MODULE = "accounts.tasks"
NAME_MAX = 255


class DomainProbe:
    """Lets authorize() check a caller's reach over a domain, which has no owning account."""

    account_id = None

    def __init__(self, domain: Domain) -> None:
        self.domain = domain


class AccountProbe:
    """Lets authorize() check a caller's reach over an account before a row of it exists."""

    def __init__(self, domain: Domain, account_id: int | None = None) -> None:
        self.domain, self.account_id = domain, account_id


def require_below(caller: User, domain: Domain) -> None:
    """Domain admins manage the domains strictly below their own, never their own domain or one outside."""
    if role_of(caller) is Role.ROOT_ADMIN:
        return
    own = caller.account.domain
    if domain.pk == own.pk:
        raise PermissionDenied(_("A domain admin cannot change their own domain."))
    if not domain.is_within(own):
        raise PermissionDenied(_("You do not have permission to access this object."))


def require_not_own_account(caller: User, account: Account, *, any_change: bool = False) -> None:
    """No one disables, locks or deletes their own account; a domain admin changes nothing of it."""
    if account.pk != caller.account_id:
        return
    if any_change and role_of(caller) is Role.ROOT_ADMIN:
        return
    raise PermissionDenied(_("You cannot change your own account this way; ask an administrator above you."))


def require_may_manage(caller: User, account: Account) -> None:
    """A root-admin account is managed by root admins only, even inside a domain admin's subtree: otherwise a
    domain admin could give itself a root admin's rights."""
    if account.account_type == Account.Type.ROOT_ADMIN and role_of(caller) is not Role.ROOT_ADMIN:
        raise PermissionDenied(_("Only root admins manage root-admin accounts and their users."))


def require_root_admin_left(*, users: QuerySet[User] | None = None, accounts: QuerySet[Account] | None = None
                            ) -> None:
    """Refuse unless some enabled root-admin user remains once these users/accounts stop counting."""
    remaining = enabled_root_admins()
    if users is not None:
        remaining = remaining.exclude(pk__in=users.values("pk"))
    if accounts is not None:
        remaining = remaining.exclude(account__in=accounts.values("pk"))
    if not remaining.exists():
        raise InvalidParameter(_("This would leave the cloud without an enabled root administrator; create or "
                                 "enable another root admin user first."))


def operator_account(user: User | None = None) -> Account | None:
    """The account an event about the cloud itself (hosts, storage, topology) is recorded under: the acting
    user's, or the first root-admin account when no user acts (the heartbeat, an agent) or the user belongs
    to no account (a superuser). None only before any root-admin account exists."""
    if user is not None and user.account_id:
        return user.account
    return Account.objects.filter(account_type=Account.Type.ROOT_ADMIN).order_by("pk").first()


def audit_account(caller: User, *, excluding: QuerySet[Account] | None = None) -> Account:
    """The account an administrative event or job is recorded under: the caller's, or (for a superuser
    belonging to no account) the first root-admin account that is not about to be removed."""
    if caller.account_id and (excluding is None or not excluding.filter(pk=caller.account_id).exists()):
        return caller.account
    candidates = Account.objects.filter(account_type=Account.Type.ROOT_ADMIN).order_by("pk")
    if excluding is not None:
        candidates = candidates.exclude(pk__in=excluding.values("pk"))
    account = candidates.first()
    if account is None:
        raise InvalidParameter(_("There is no root-admin account to record this operation under."))
    return account


def validate_name(name: str | None, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("Give the %(what)s a name.") % {"what": what})
    if len(name) > NAME_MAX:
        raise InvalidParameter(_("The name is longer than %(max)d characters.") % {"max": NAME_MAX})
    return name


def check_password(password: str, user: User | None = None) -> None:
    if not password:
        raise InvalidParameter(_("Give a password."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidParameter(" ".join(exc.messages)) from exc


def _check_role(role: AccountRole | None, account_type: int) -> None:
    if role is None:
        return
    expected = ROLE_TYPE_OF_ACCOUNT[Account.Type(account_type)]
    if role.role_type != expected:
        raise InvalidParameter(_("Role %(role)s is of type %(type)s, but the account needs a role of type "
                                 "%(expected)s.") % {"role": role.name, "type": role.role_type,
                                                     "expected": expected})


@transaction.atomic
def account_create(*, caller: User, domain: Domain, name: str, account_type: int, role: AccountRole | None = None,
                   username: str, password: str, email: str = "", first_name: str = "",
                   last_name: str = "") -> Account:
    """An account with its first user, as CloudStack's createAccount. Only root admins create root-admin
    accounts; a domain admin creates user and domain-admin accounts in its subtree (its own domain too)."""
    from accounts.services_users import validate_user_fields

    authorize(caller, "account.create", AccountProbe(domain))
    if account_type not in Account.Type.values:
        raise InvalidParameter(_("Invalid account type %(type)s: use 0 (user), 1 (root admin) or 2 (domain "
                                 "admin).") % {"type": account_type})
    if account_type == Account.Type.ROOT_ADMIN and role_of(caller) is not Role.ROOT_ADMIN:
        raise PermissionDenied(_("Only root admins create root-admin accounts."))
    _check_role(role, account_type)
    name = validate_name(name or username, _("account"))
    if Account.objects.filter(domain=domain, name__iexact=name).exists():
        raise InvalidParameter(_("An account named %(name)s already exists in domain %(domain)s.") % {
            "name": name, "domain": domain.cloudstack_path})
    username = validate_user_fields(username=username, email=email, first_name=first_name, last_name=last_name)
    check_password(password)
    # Without a role, Account.save() gives the account the built-in role of its type.
    account = Account.objects.create(name=name, domain=domain, account_type=account_type, role=role)
    user = user_provision(account=account, username=username, password=password, email=email,
                          first_name=first_name, last_name=last_name)
    event_emit(type="ACCOUNT.CREATE", description=_("Created account %(name)s in domain %(domain)s") % {
        "name": name, "domain": domain.cloudstack_path}, account=account, user=caller, resource=account)
    event_emit(type="USER.CREATE", description=_("Created user %(name)s in account %(account)s") % {
        "name": username, "account": name}, account=account, user=caller, resource=user)
    return account


@transaction.atomic
def account_update(*, caller: User, account: Account, name: str | None = None,
                   role: AccountRole | None = None) -> Account:
    """Rename an account or give it another role of the same type (CloudStack's updateAccount)."""
    authorize(caller, "account.update", account)
    require_not_own_account(caller, account, any_change=True)
    require_may_manage(caller, account)
    account = Account.objects.select_for_update(of=("self",)).select_related("domain").get(pk=account.pk)
    changed = []
    if name is not None:
        name = validate_name(name, _("account"))
        if name != account.name:
            if Account.objects.filter(domain=account.domain, name__iexact=name).exclude(pk=account.pk).exists():
                raise InvalidParameter(_("An account named %(name)s already exists in domain %(domain)s.") % {
                    "name": name, "domain": account.domain.cloudstack_path})
            account.name = name
            changed.append("name")
    if role is not None:
        _check_role(role, account.account_type)
        account.role = role
        changed.append("role")
    if changed:
        account.save(update_fields=changed)
    event_emit(type="ACCOUNT.UPDATE", description=_("Updated account %(name)s") % {"name": account.name},
               account=account, user=caller, resource=account)
    return account


def _set_state(account: Account, state: str) -> Account:
    Account.objects.filter(pk=account.pk).update(state=state)
    account.state = state
    return account


def _locked_account(account: Account) -> Account:
    return Account.objects.select_for_update(of=("self",)).select_related("domain").get(pk=account.pk)


@transaction.atomic
def account_disable(*, caller: User, account: Account, lock: bool = False) -> AsyncJob:
    """Disable an account at once (its users can neither log in nor call the APIs) and stop its running VMs
    in a job, through compute's per-host stop jobs. lock=True is CloudStack's disableAccount lock=true:
    the account is locked instead and its VMs keep running."""
    authorize(caller, "account.lock" if lock else "account.disable", account)
    require_not_own_account(caller, account)
    require_may_manage(caller, account)
    account = _locked_account(account)
    if account.account_type == Account.Type.ROOT_ADMIN:
        require_root_admin_left(accounts=Account.objects.filter(pk=account.pk))
    _set_state(account, Account.State.LOCKED if lock else Account.State.DISABLED)
    description = (_("Locking account %(name)s") if lock else _("Disabling account %(name)s")) % {
        "name": account.name}
    return job_submit(caller=caller, account=account, cmd="disableAccount",
                      handler=f"{JOB_MODULE}.run_account_disable", instance=account, queue=DEFAULT_QUEUE,
                      params={"lock": lock}, event_type="ACCOUNT.DISABLE", description=description)


@transaction.atomic
def account_lock(*, caller: User, account: Account) -> Account:
    """Lock an account (CloudStack's lockAccount): its users cannot log in or call the APIs, but its VMs keep
    running, unlike a disable."""
    authorize(caller, "account.lock", account)
    require_not_own_account(caller, account)
    require_may_manage(caller, account)
    account = _locked_account(account)
    if account.account_type == Account.Type.ROOT_ADMIN:
        require_root_admin_left(accounts=Account.objects.filter(pk=account.pk))
    _set_state(account, Account.State.LOCKED)
    event_emit(type="ACCOUNT.DISABLE", description=_("Locked account %(name)s") % {"name": account.name},
               account=account, user=caller, resource=account)
    return account


@transaction.atomic
def account_enable(*, caller: User, account: Account) -> Account:
    """Its users may log in again; VMs stopped by the disable stay stopped, as in CloudStack."""
    authorize(caller, "account.enable", account)
    require_not_own_account(caller, account, any_change=True)
    require_may_manage(caller, account)
    account = _set_state(_locked_account(account), Account.State.ENABLED)
    event_emit(type="ACCOUNT.ENABLE", description=_("Enabled account %(name)s") % {"name": account.name},
               account=account, user=caller, resource=account)
    return account


def accounts_prepare_removal(*, caller: User, accounts: QuerySet[Account]) -> Account:
    """What deleting these accounts needs at once, before the cleanup job: the last-admin rule, the caller's
    own account kept out, every account disabled (so no one logs in meanwhile). Returns the account the
    job and its events are recorded under, which must outlive the deletion."""
    if caller.account_id and accounts.filter(pk=caller.account_id).exists():
        raise PermissionDenied(_("You cannot delete your own account."))
    if (role_of(caller) is not Role.ROOT_ADMIN
            and accounts.filter(account_type=Account.Type.ROOT_ADMIN).exists()):
        raise PermissionDenied(_("Only root admins manage root-admin accounts and their users."))
    require_root_admin_left(accounts=accounts)
    accounts.update(state=Account.State.DISABLED)
    return audit_account(caller, excluding=accounts)


@transaction.atomic
def account_delete(*, caller: User, account: Account) -> AsyncJob:
    """Delete an account and everything it owns, in a cleanup job (CloudStack's deleteAccount): its VMs are
    destroyed and expunged on their hosts by compute's jobs, its counts released up the domain tree, its
    users' credentials and the users removed, then the account."""
    authorize(caller, "account.delete", account)
    require_may_manage(caller, account)
    account = _locked_account(account)
    recorded_under = accounts_prepare_removal(caller=caller, accounts=Account.objects.filter(pk=account.pk))
    return job_submit(caller=caller, account=recorded_under, cmd="deleteAccount",
                      handler=f"{JOB_MODULE}.run_account_delete", instance=account, queue=DEFAULT_QUEUE,
                      params={"account": account.pk}, event_type="ACCOUNT.DELETE",
                      description=_("Deleting account %(name)s in domain %(domain)s") % {
                          "name": account.name, "domain": account.domain.cloudstack_path})
