"""Reads of the tenancy tree, scoped to what the caller may reach."""

from __future__ import annotations

import logging

import ldap
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts import ldap as directory
from accounts.ldap import DirectoryUser
from accounts.models import Account, Domain, LdapConfiguration, LdapLink, User
from portal.authz import Role, authorize, role_of
from portal.errors import InvalidParameter, NotFound, OperationFailed
from portal.lookup import get_by_uuid

logger = logging.getLogger(__name__)


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
    accounts = Account.objects.select_related("domain", "role")
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
    users = User.objects.select_related("account", "account__domain", "account__role").filter(
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


# --- LDAP -------------------------------------------------------------------------------------------------

def ldap_configuration_list(*, caller: User, domain: Domain | None = None) -> QuerySet[LdapConfiguration]:
    """LDAP servers are the cloud operator's business: root admins only (their bind secrets live here)."""
    authorize(caller, "ldap.list")
    configurations = LdapConfiguration.objects.select_related("domain")
    return configurations.filter(domain=domain) if domain is not None else configurations


def ldap_configuration_get(*, caller: User, configuration_id: str) -> LdapConfiguration:
    return get_by_uuid(ldap_configuration_list(caller=caller), configuration_id, _("an LDAP configuration"))


def ldap_link_list(*, caller: User, domain: Domain | None = None) -> QuerySet[LdapLink]:
    authorize(caller, "ldap.list")
    links = LdapLink.objects.select_related("domain")
    return links.filter(domain=domain) if domain is not None else links


def ldap_configuration_for_domain(domain: Domain) -> LdapConfiguration | None:
    """The server a domain's users authenticate to: the domain's own, else the global one (CloudStack's
    rule). Authentication, so no caller to scope to."""
    own = LdapConfiguration.objects.filter(domain=domain).order_by("pk").first()
    return own or LdapConfiguration.objects.filter(domain=None).order_by("pk").first()


def ldap_login_candidates(*, username: str, domain: Domain | None
                          ) -> list[tuple[LdapConfiguration, Domain | None, list[LdapLink]]]:
    """Where an LDAP login may land, per server to try: (server, the domain the login must land in, the
    links to match). The domain is the one a CloudStack login names, else the one an earlier LDAP login or
    import put this user in; with neither (the web UI asks for no domain), every linked domain is a
    candidate. Authentication, so no caller to scope to."""
    links = LdapLink.objects.select_related("domain").order_by("domain__path", "pk")
    if domain is None:
        existing = User.objects.select_related("account__domain").filter(
            username__iexact=username, source="ldap", account__isnull=False).first()
        domain = existing.account.domain if existing is not None else None
    if domain is not None:
        configuration = ldap_configuration_for_domain(domain)
        return [(configuration, domain, list(links.filter(domain=domain)))] if configuration is not None else []
    by_configuration: dict[int, tuple[LdapConfiguration, Domain | None, list[LdapLink]]] = {}
    for link in links:
        configuration = ldap_configuration_for_domain(link.domain)
        if configuration is not None:
            by_configuration.setdefault(configuration.pk, (configuration, None, []))[2].append(link)
    return list(by_configuration.values())


def ldap_directory_user_list(*, caller: User, domain: Domain | None = None,
                             username: str | None = None) -> list[DirectoryUser]:
    """The users of the directory that serves `domain` (the global one without), read live from the
    server (CloudStack's listLdapUsers). An unreachable server is a failed operation, not an empty list."""
    authorize(caller, "ldap.list")
    configuration = _ldap_configuration_to_read(domain)
    try:
        return directory.search_users(configuration, username=username)
    except ldap.LDAPError as exc:
        raise _directory_failed(configuration, exc) from exc


def _ldap_configuration_to_read(domain: Domain | None) -> LdapConfiguration:
    configuration = (ldap_configuration_for_domain(domain) if domain is not None
                     else LdapConfiguration.objects.filter(domain=None).order_by("pk").first())
    if configuration is None:
        raise InvalidParameter(_("No LDAP server is configured for this domain."))
    return configuration


def _directory_failed(configuration: LdapConfiguration, exc: Exception) -> OperationFailed:
    logger.error("LDAP server %s could not be searched: %s", configuration.uri, exc)
    return OperationFailed(_("The LDAP server %(uri)s could not be searched; see the server log.") % {
        "uri": configuration.uri})


def ldap_directory_group_members(*, caller: User, domain: Domain | None, group: str) -> list[DirectoryUser]:
    """The members of a directory group (by DN or cn), read live like ldap_directory_user_list."""
    authorize(caller, "ldap.list")
    configuration = _ldap_configuration_to_read(domain)
    try:
        return directory.search_group_members(configuration, group)
    except ldap.LDAPError as exc:
        raise _directory_failed(configuration, exc) from exc
