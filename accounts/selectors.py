"""Reads of the tenancy tree, scoped to what the caller may reach."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, Domain, User
from portal.authz import Role, authorize, role_of
from portal.errors import InvalidParameter, NotFound
from portal.lookup import get_by_uuid


def domain_list(*, caller: User) -> QuerySet[Domain]:
    """Root admins reach every domain, domain admins their subtree, users their own domain."""
    domains = Domain.objects.all()
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return domains
    if caller.account_id is None:
        return domains.none()
    if role is Role.DOMAIN_ADMIN:
        return domains.filter(path__startswith=caller.account.domain.path)
    return domains.filter(pk=caller.account.domain_id)


def domain_get(*, caller: User, domain_id: str) -> Domain:
    return get_by_uuid(domain_list(caller=caller), domain_id, _("a domain"))


def account_list(*, caller: User) -> QuerySet[Account]:
    """Root admins reach every account, domain admins those in their subtree, users their own."""
    accounts = Account.objects.select_related("domain")
    role = role_of(caller)
    if role is Role.ROOT_ADMIN:
        return accounts
    if caller.account_id is None:
        return accounts.none()
    if role is Role.DOMAIN_ADMIN:
        return accounts.filter(domain__path__startswith=caller.account.domain.path)
    return accounts.filter(pk=caller.account_id)


def account_get_by_name(*, caller: User, name: str, domain: Domain) -> Account:
    """CloudStack names accounts by (name, domain); the same NotFound for missing and out of reach."""
    account = account_list(caller=caller).filter(name=name, domain=domain).first()
    if account is None:
        raise NotFound(_("Unable to find account %(name)s in domain %(domain)s.") % {
            "name": name, "domain": domain.cloudstack_path})
    return account


def user_for_api_key(api_key: str) -> User | None:
    """The user an API key belongs to. This is authentication itself (like Django's ModelBackend reading by
    username), so there is no caller to scope it to; every door that accepts API keys uses this one lookup."""
    return User.objects.select_related("account", "account__domain").filter(api_key=api_key).first()


# CloudStack's account types (Account.Type ordinals), including those this portal does not create yet.
CLOUDSTACK_ACCOUNT_TYPES = range(0, 6)
USER_STATES = ("enabled", "disabled", "locked")


def user_list(*, caller: User, username: str | None = None, state: str | None = None,
              account_type: int | None = None) -> QuerySet[User]:
    """Users of the accounts the caller reaches (account_list's rule): an end user sees the users of their
    own account, admins those of their reach. Users belonging to no account (system users) are not listed."""
    authorize(caller, "user.list")
    users = User.objects.select_related("account", "account__domain").filter(
        account__in=account_list(caller=caller))
    if username:
        users = users.filter(username=username)
    if state:
        if state not in USER_STATES:
            raise InvalidParameter(_("Invalid user state %(state)s: use one of %(states)s.") % {
                "state": state, "states": ", ".join(USER_STATES)})
        # A user is enabled or disabled (is_active); nothing locks a single user yet.
        users = users.none() if state == "locked" else users.filter(is_active=state == "enabled")
    if account_type is not None:
        if account_type not in CLOUDSTACK_ACCOUNT_TYPES:
            raise InvalidParameter(_("Invalid account type %(type)s.") % {"type": account_type})
        users = users.filter(account__account_type=account_type)
    return users


def user_get(*, caller: User, user_id: str) -> User:
    return get_by_uuid(user_list(caller=caller), user_id, _("a user"))


def user_keys_get(*, caller: User, user: User) -> tuple[str | None, str | None]:
    """A user's API key pair (CloudStack getUserKeys): for the user themself and admins over them only,
    because the pair signs requests as that user. (None, None) until keys are registered."""
    authorize(caller, "user.keys.get", user)
    return user.api_key or None, user.secret_key or None


def domain_for_login(*, path: str | None = None, domain_id: str | None = None) -> Domain | None:
    """The domain a login names, or None. Like user_for_api_key this serves authentication, before there is a
    caller to scope to. `domain_id` wins over `path`. Paths are CloudStack's, relative to the root ("/" is
    ROOT, "/Sales" is ROOT/Sales); the full form "/ROOT/Sales" is accepted too. Missing both means ROOT."""
    if domain_id:
        try:
            return Domain.objects.filter(uuid=domain_id).first()
        except (ValidationError, ValueError):
            return None
    root = Domain.objects.filter(parent=None).order_by("pk").first()
    if root is None:
        return None
    segments = [segment for segment in (path or "").split("/") if segment]
    candidates = [root.path + "".join(f"{segment}/" for segment in segments)]
    if segments and segments[0] == root.name:
        candidates.append("".join(f"{segment}/" for segment in segments))
    found = {domain.path: domain for domain in Domain.objects.filter(path__in=candidates)}
    return next((found[candidate] for candidate in candidates if candidate in found), None)


def user_for_session(user_pk: object) -> User | None:
    """The user a login session names (see user_for_api_key: authentication, so no caller to scope to)."""
    try:
        return User.objects.select_related("account", "account__domain").filter(pk=user_pk).first()
    except (ValidationError, ValueError, TypeError):
        return None
