"""Writes on tenancy. Issue-sized features (roles, LDAP, limits) grow here; the skeleton needs the basics."""

from __future__ import annotations

import logging
import secrets

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.crypto import encrypt
from accounts.ldap import DirectoryUser
from accounts.models import API_SECRET_PURPOSE, Account, Domain, LdapConfiguration, LdapLink, User
from accounts.selectors import ldap_directory_group_members, ldap_directory_user_list
from accounts.services_security import LoginFailed, login_authenticate
from portal.authz import authorize
from portal.errors import InvalidParameter, NotFound, PermissionDenied
from portal.events import event_emit

logger = logging.getLogger(__name__)

ROOT_DOMAIN_NAME = "ROOT"


def root_domain_ensure() -> Domain:
    domain, _ = Domain.objects.get_or_create(parent=None, name=ROOT_DOMAIN_NAME)
    return domain


@transaction.atomic
def account_provision(*, name: str, domain: Domain, account_type: int = Account.Type.USER) -> Account:
    """The bare creator, without authorization or events: for the seed, LDAP provisioning and factories. Admins
    create accounts through accounts.services_accounts.account_create, which authorizes and records."""
    return Account.objects.create(name=name, domain=domain, account_type=account_type)


@transaction.atomic
def user_provision(*, account: Account, username: str, password: str | None, email: str = "",
                   first_name: str = "", last_name: str = "") -> User:
    """The bare creator (see account_provision); accounts.services_users.user_create is the authorized one."""
    user = User(username=username, account=account, email=email, first_name=first_name, last_name=last_name,
                is_superuser=account.account_type == Account.Type.ROOT_ADMIN,
                is_staff=account.account_type != Account.Type.USER)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def user_keys_register(*, user: User) -> tuple[str, str]:
    """Issue a fresh API key pair (CloudStack registerUserKeys). The old pair stops working at once."""
    api_key = secrets.token_urlsafe(64)[:86]
    secret_key = secrets.token_urlsafe(64)[:86]
    encrypted = encrypt(secret_key, purpose=API_SECRET_PURPOSE)  # never stored in plain text
    User.objects.filter(pk=user.pk).update(api_key=api_key, secret_key_encrypted=encrypted)
    user.api_key, user.secret_key_encrypted = api_key, encrypted
    return api_key, secret_key


@transaction.atomic
def user_keys_issue(*, caller: User, user: User) -> tuple[str, str]:
    """registerUserKeys on someone's behalf: only the user themself or an admin over them may, since the pair
    signs requests as that user. The event records who issued keys for whom."""
    authorize(caller, "user.keys.register", user)
    keys = user_keys_register(user=user)
    event_emit(type="REGISTER.USER.KEY", description=_("Registered API keys for user %(name)s") % {
        "name": user.username}, account=user.account, user=caller, resource=user)
    return keys


def user_login(*, request: HttpRequest, username: str, password: str, domain: Domain | None,
               domain_label: str) -> User:
    """Check a password login into `domain` (CloudStack's login command), through the login throttle
    (accounts.services_security). Every failure (unknown user, wrong password, wrong or unknown domain,
    disabled user or account) gives the same 531, so a caller cannot probe which part was wrong; a throttled
    attempt gives a 531 saying so. Success is recorded as any Django login is (last_login)."""
    # The password is checked even when the domain is unknown, so both failures take the same time.
    try:
        user = login_authenticate(request=request, username=username, password=password, domain=domain,
                                  domain_required=True)
    except LoginFailed as exc:
        raise PermissionDenied(
            _("Failed to authenticate user %(name)s in domain %(domain)s; please provide valid credentials.")
            % {"name": username, "domain": domain_label}) from exc
    user_logged_in.send(sender=type(user), request=request, user=user)
    return user


@transaction.atomic
def user_token_rotate(*, user: User) -> str:
    """Issue the user a new REST API token; the old one stops working at once. The key goes back to the
    caller only: it is neither logged nor put anywhere else. Like a key pair, a token is a credential for
    the APIs, so the same rule decides who may have one issued (a disabled account may not)."""
    authorize(user, "user.keys.register", user)
    # Lock the user's row so that two rotations at once cannot both create a token (one per user).
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    Token.objects.filter(user=user).delete()
    key = Token.objects.create(user=user).key
    logger.info("REST API token rotated for user %s", user.pk)
    return key


# --- LDAP -------------------------------------------------------------------------------------------------

@transaction.atomic
def ldap_configuration_add(*, caller: User, hostname: str, port: int, domain: Domain | None = None,
                           bind_dn: str = "", bind_password: str = "", base_dn: str = "",
                           username_attribute: str = "uid", start_tls: bool = False) -> LdapConfiguration:
    """Register an LDAP server for a domain, or for every domain without its own (domain None)."""
    authorize(caller, "ldap.configure")
    if not hostname or not 0 < port < 65536:
        raise InvalidParameter(_("Give an LDAP hostname and a port between 1 and 65535."))
    if LdapConfiguration.objects.filter(hostname=hostname, port=port, domain=domain).exists():
        raise InvalidParameter(_("The LDAP server %(host)s:%(port)s is already configured for this domain.") % {
            "host": hostname, "port": port})
    configuration = LdapConfiguration(hostname=hostname, port=port, domain=domain, bind_dn=bind_dn,
                                      base_dn=base_dn, username_attribute=username_attribute or "uid",
                                      start_tls=start_tls)
    configuration.bind_password = bind_password
    configuration.save()
    event_emit(type="LDAP.CONFIGURATION.ADD", description=_("Added LDAP server %(uri)s") % {
        "uri": configuration.uri}, account=caller.account, user=caller, resource=configuration)
    return configuration


@transaction.atomic
def ldap_configuration_delete(*, caller: User, configuration: LdapConfiguration) -> None:
    """Users it already created stay; they cannot log in until another server serves their domain."""
    authorize(caller, "ldap.configure")
    event_emit(type="LDAP.CONFIGURATION.DELETE", description=_("Deleted LDAP server %(uri)s") % {
        "uri": configuration.uri}, account=caller.account, user=caller, resource=configuration)
    configuration.delete()


@transaction.atomic
def ldap_domain_link(*, caller: User, domain: Domain, type: str, name: str, account_type: int,
                     account_name: str) -> LdapLink:
    """Let the members of an LDAP group, or the users under an OU, log in to `account_name` of `domain`
    (CloudStack's linkDomainToLdap); the account is created with `account_type` at the first such login."""
    authorize(caller, "ldap.configure")
    if type not in LdapLink.Type.values:
        raise InvalidParameter(_("The link type must be GROUP or OU."))
    if account_type not in (Account.Type.USER, Account.Type.DOMAIN_ADMIN):
        raise InvalidParameter(_("The account type of an LDAP link must be 0 (user) or 2 (domain admin)."))
    if not name or not account_name:
        raise InvalidParameter(_("Give the distinguished name of the group or OU and an account name."))
    existing = Account.objects.filter(domain=domain, name=account_name).first()
    if existing is not None and existing.account_type != account_type:
        raise InvalidParameter(_("Account %(name)s already exists with another account type.") % {
            "name": account_name})
    link, _created = LdapLink.objects.update_or_create(domain=domain, type=type, name=name, defaults={
        "account_type": account_type, "account_name": account_name})
    event_emit(type="LDAP.DOMAIN.LINK", description=_("Linked domain %(domain)s to LDAP %(type)s %(name)s") % {
        "domain": domain.cloudstack_path, "type": type, "name": name},
        account=caller.account, user=caller, resource=link)
    return link


@transaction.atomic
def user_provision_from_ldap(*, domain: Domain, account_name: str, account_type: int, person: DirectoryUser,
                             actor: User | None = None) -> User:
    """Create the portal user of a directory user in `account_name` of `domain`, creating the account (with
    `account_type`) if this is its first user. The user has no portal password: the directory checks it.
    `actor` is the admin who imported the user; a first login provisions the user themself."""
    if User.objects.filter(username__iexact=person.username).exists():
        raise InvalidParameter(_("A user named %(name)s already exists.") % {"name": person.username})
    account = Account.objects.select_for_update().filter(domain=domain, name=account_name).first()
    if account is None:
        account = account_provision(name=account_name, domain=domain, account_type=account_type)
    user = user_provision(account=account, username=person.username, password=None, email=person.email,
                          first_name=person.first_name, last_name=person.last_name)
    User.objects.filter(pk=user.pk).update(source="ldap")
    user.source = "ldap"
    event_emit(type="USER.CREATE", description=_("Created LDAP user %(name)s in account %(account)s") % {
        "name": person.username, "account": account.name}, account=account, user=actor or user, resource=user)
    logger.info("Provisioned LDAP user %s (%s) into %s", person.username, person.dn, account)
    return user


def ldap_users_import(*, caller: User, domain: Domain, account_type: int, account_name: str | None,
                      usernames: list[str] | None = None, group: str | None = None) -> list[User]:
    """Create portal users for directory users ahead of their first login (CloudStack's importLdapUsers and,
    for one user, ldapCreateAccount): the named users, or a group's members, or everyone. Each goes to
    `account_name`, or to an account named after them. Users who already exist are skipped."""
    authorize(caller, "ldap.import")
    if account_type not in (Account.Type.USER, Account.Type.DOMAIN_ADMIN):
        raise InvalidParameter(_("The account type of an LDAP user must be 0 (user) or 2 (domain admin)."))
    if group:
        people = ldap_directory_group_members(caller=caller, domain=domain, group=group)
    else:
        people = ldap_directory_user_list(caller=caller, domain=domain)
    if usernames is not None:
        wanted = {name.lower() for name in usernames}
        people = [person for person in people if person.username.lower() in wanted]
        missing = wanted - {person.username.lower() for person in people}
        if missing:
            raise NotFound(_("No LDAP user named %(names)s.") % {"names": ", ".join(sorted(missing))})
    created = []
    for person in people:
        if User.objects.filter(username__iexact=person.username).exists():
            continue
        created.append(user_provision_from_ldap(domain=domain, account_name=account_name or person.username,
                                                account_type=account_type, person=person, actor=caller))
    return created
