"""Reads of the tenancy tree, scoped to what the caller may reach."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, Domain, User
from portal.authz import Role, role_of
from portal.errors import NotFound
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
