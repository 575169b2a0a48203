"""CloudStack API declarations of accounts: users and their API keys.

listUsers, registerUserKeys and getUserKeys let a client that only knows a password bootstrap signed access:
login (a session) -> registerUserKeys for itself -> signed calls with the new pair. Marvin's deployDataCenter
uses the same three.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.ldap import DirectoryUser
from accounts.models import Account, Domain, LdapConfiguration, User
from accounts.selectors import (
    USER_STATES,
    account_get_by_name,
    account_list,
    domain_get,
    ldap_configuration_list,
    ldap_directory_user_list,
    user_get,
    user_keys_get,
    user_list,
)
from accounts.selectors_tenancy import domain_list_annotated
from portal.authz import can
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.errors import InvalidParameter, NotFound

USER_FIELDS = (
    "id", "username", "firstname", "lastname", "email", "created", "state", "account", "accounttype",
    "accountid", "roleid", "rolename", "roletype", "domainid", "domain", "apikey", "usersource",
    "iscallerchilddomain", "isdefault", "is2faenabled",
)
USERKEYS_FIELDS = ("apikey", "secretkey")

def render_user(call: Call, user: User) -> dict[str, Any]:
    """CloudStack's UserResponse. The API key is shown only to whoever may fetch the user's keys (the user and
    admins over them); the secret key never is (CloudStack dropped it from listUsers: use getUserKeys)."""
    account, domain = user.account, user.account.domain
    caller_domain = call.caller.domain if call.caller is not None else None
    body: dict[str, Any] = {
        "id": str(user.uuid),
        "username": user.username,
        "firstname": user.first_name,
        "lastname": user.last_name,
        "email": user.email,
        "created": user.date_joined,
        "state": "enabled" if user.is_active else "disabled",
        "account": account.name,
        "accounttype": int(account.account_type),
        "accountid": str(account.uuid),
        "roleid": str(account.role.uuid),
        "rolename": account.role.name,
        "roletype": account.role.role_type,
        "domainid": str(domain.uuid),
        "domain": domain.name,
        "usersource": user.source,
        # Whether the user's domain is the caller's or below it (CloudStack counts the domain itself).
        "iscallerchilddomain": caller_domain is not None and domain.is_within(caller_domain),
        # CloudStack's built-in, undeletable users; this portal has none.
        "isdefault": False,
        "is2faenabled": False,
    }
    if user.api_key and can(call.caller, "user.keys.get", user):
        body["apikey"] = user.api_key
    return body


register_object(ObjectType(
    model="user", name="user", instance_type="User",
    lookup=lambda caller, user_id: user_get(caller=caller, user_id=user_id),
    render=render_user, fields=USER_FIELDS,
))


def list_users(call: Call) -> QuerySet[User]:
    return user_list(caller=call.caller, username=call.get("username"), state=call.get("state"),
                     account_type=call.get("accounttype"))


register(Command(
    name="listUsers",
    description=_("Lists users."),
    action="user.list",
    handler=list_users,
    params=(
        Param("username", description=_("List the user with this user name.")),
        Param("state", choices=USER_STATES, description=_("List users in this state: enabled, disabled or locked.")),
        Param("accounttype", ParamType.INTEGER,
              description=_("List users of this account type: 0 user, 1 root admin, 2 domain admin.")),
    ),
    response_object="user",
    listing=Listing(object_name="user", render=render_user, name_field=None,
                    keyword_fields=("username", "first_name", "last_name", "email"), tenant=True,
                    domain_field="account__domain"),
))

USER_ID = Param("id", ParamType.UUID, required=True, description=_("The ID of the user."))


def register_user_keys(call: Call) -> dict:
    user = user_get(caller=call.caller, user_id=call.get("id"))
    api_key, secret_key = services.user_keys_issue(caller=call.caller, user=user)
    return {"userkeys": {"apikey": api_key, "secretkey": secret_key}}


register(Command(
    name="registerUserKeys",
    description=_("Issues a new API key and secret key for a user; the previous pair stops working at once."),
    action="user.keys.register",
    handler=register_user_keys,
    params=(USER_ID,),
    response_object="userkeys",
    response_fields=USERKEYS_FIELDS,
))


def get_user_keys(call: Call) -> dict:
    """No keys registered yet: an empty userkeys object, as CloudStack answers."""
    api_key, secret_key = user_keys_get(caller=call.caller, user=user_get(caller=call.caller,
                                                                           user_id=call.get("id")))
    return {"userkeys": {"apikey": api_key, "secretkey": secret_key}}


register(Command(
    name="getUserKeys",
    description=_("Shows a user's API key and secret key."),
    action="user.keys.get",
    handler=get_user_keys,
    params=(USER_ID,),
    response_object="userkeys",
    response_fields=USERKEYS_FIELDS,
    since="4.10.0",
))


# --- LDAP (CloudStack's LDAP plugin) ----------------------------------------------------------------------

LDAP_CONFIGURATION_FIELDS = ("id", "hostname", "port", "domainid", "domain", "binddn", "basedn",
                             "usernameattribute", "starttls")
LDAP_LINK_FIELDS = ("domainid", "domain", "name", "type", "accounttype", "account", "accountid")
LDAP_USER_FIELDS = ("username", "firstname", "lastname", "email", "principal", "domain", "userSource")


def render_ldap_configuration(call: Call, configuration: LdapConfiguration) -> dict[str, Any]:
    """The bind password is never shown, not even to root admins: it is write-only."""
    domain = configuration.domain
    return {
        "id": str(configuration.uuid),
        "hostname": configuration.hostname,
        "port": configuration.port,
        "domainid": str(domain.uuid) if domain is not None else None,
        "domain": domain.name if domain is not None else None,
        "binddn": configuration.bind_dn,
        "basedn": configuration.base_dn,
        "usernameattribute": configuration.username_attribute,
        "starttls": configuration.start_tls,
    }


def domain_param(call: Call, name: str = "domainid") -> Domain | None:
    """The domain a parameter names, or None when it is absent. Looked up among the domains the caller reaches,
    so every command refuses a foreign domain with the same "not found" instead of revealing it exists."""
    value = call.get(name)
    return domain_get(caller=call.caller, domain_id=value) if value else None


def domain_list_param(call: Call) -> list[Domain] | None:
    """The offering commands' domainid: a comma list of domain ids, or "public" for none (offered everywhere);
    None when absent (left as it is)."""
    raw = call.get("domainid")
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if [item.lower() for item in items] == ["public"]:
        return []
    return [domain_get(caller=call.caller, domain_id=item) for item in items]


def default_domain(call: Call) -> Domain:
    """Where a command without domainid acts: the caller's domain (ROOT for a superuser without account)."""
    if call.caller.account_id:
        return call.caller.account.domain
    return domain_list_annotated(caller=call.caller).get(parent=None)


def owner_params(call: Call) -> tuple[Account | None, Domain | None]:
    """CloudStack names an account by `account` + `domainid` (the caller's domain when domainid is left out)
    and a domain by `domainid` alone: (account, None), (None, domain), or (None, None) when neither is given.
    One reading for every command, so "account X of domain Y" cannot mean different things to different
    commands."""
    domain = domain_param(call)
    name = call.get("account")
    if name:
        return account_get_by_name(caller=call.caller, name=name, domain=domain or default_domain(call)), None
    return None, domain


def add_ldap_configuration(call: Call) -> dict:
    configuration = services.ldap_configuration_add(
        caller=call.caller, hostname=call.get("hostname"), port=call.get("port"), domain=domain_param(call),
        bind_dn=call.get("binddn") or "", bind_password=call.get("bindpassword") or "",
        base_dn=call.get("basedn") or "", username_attribute=call.get("usernameattribute") or "uid",
        start_tls=bool(call.get("starttls")))
    return {"ldapconfiguration": render_ldap_configuration(call, configuration)}


LDAP_SERVER_PARAMS = (
    Param("hostname", required=True, description=_("Host name of the LDAP server.")),
    Param("port", ParamType.INTEGER, required=True, description=_("Port of the LDAP server.")),
    Param("domainid", ParamType.UUID,
          description=_("The domain the server serves; without it, every domain without its own server.")),
)

register(Command(
    name="addLdapConfiguration",
    description=_("Adds an LDAP server that users of a domain (or of every domain) log in with."),
    action="ldap.configure",
    handler=add_ldap_configuration,
    params=(
        *LDAP_SERVER_PARAMS,
        Param("binddn", max_length=1024, description=_("DN the portal binds as to search the directory.")),
        Param("bindpassword", description=_("Password of the bind DN (stored encrypted).")),
        Param("basedn", max_length=1024, description=_("DN under which users and groups are searched.")),
        Param("usernameattribute", description=_("Attribute holding the user name (default uid).")),
        Param("starttls", ParamType.BOOLEAN, description=_("Use StartTLS on the connection.")),
    ),
    response_object="ldapconfiguration",
    response_fields=LDAP_CONFIGURATION_FIELDS,
    since="4.2.0",
))


def list_ldap_configurations(call: Call) -> QuerySet[LdapConfiguration]:
    configurations = ldap_configuration_list(caller=call.caller, domain=domain_param(call))
    if call.get("hostname"):
        configurations = configurations.filter(hostname=call.get("hostname"))
    if call.get("port"):
        configurations = configurations.filter(port=call.get("port"))
    return configurations


register(Command(
    name="listLdapConfigurations",
    description=_("Lists the LDAP servers."),
    action="ldap.list",
    handler=list_ldap_configurations,
    params=(
        Param("hostname", description=_("List the servers with this host name.")),
        Param("port", ParamType.INTEGER, description=_("List the servers on this port.")),
        Param("domainid", ParamType.UUID, description=_("List the servers of this domain.")),
    ),
    response_object="ldapconfiguration",
    response_fields=LDAP_CONFIGURATION_FIELDS,
    listing=Listing(object_name="ldapconfiguration", render=render_ldap_configuration, name_field=None,
                    keyword_fields=("hostname",)),
    since="4.2.0",
))


def delete_ldap_configuration(call: Call) -> dict:
    configuration = ldap_configuration_list(caller=call.caller, domain=domain_param(call)).filter(
        hostname=call.get("hostname"), port=call.get("port"))
    if not call.get("domainid"):
        configuration = configuration.filter(domain=None)
    found = configuration.first()
    if found is None:
        raise NotFound(_("No LDAP server %(host)s:%(port)s is configured for this domain.") % {
            "host": call.get("hostname"), "port": call.get("port")})
    body = render_ldap_configuration(call, found)
    services.ldap_configuration_delete(caller=call.caller, configuration=found)
    return {"ldapconfiguration": body}


register(Command(
    name="deleteLdapConfiguration",
    description=_("Removes an LDAP server; the users it created stay but cannot log in with it."),
    action="ldap.configure",
    handler=delete_ldap_configuration,
    params=LDAP_SERVER_PARAMS,
    response_object="ldapconfiguration",
    response_fields=LDAP_CONFIGURATION_FIELDS,
    since="4.2.0",
))


def link_domain_to_ldap(call: Call) -> dict:
    domain = domain_get(caller=call.caller, domain_id=call.get("domainid"))
    link = services.ldap_domain_link(caller=call.caller, domain=domain, type=call.get("type").upper(),
                                     name=call.get("name"), account_type=call.get("accounttype"),
                                     account_name=call.get("account"))
    account = account_list(caller=call.caller).filter(domain=domain, name=link.account_name).first()
    return {"linkdomaintoldap": {
        "domainid": str(domain.uuid), "domain": domain.name, "name": link.name, "type": link.type,
        "accounttype": link.account_type, "account": link.account_name,
        "accountid": str(account.uuid) if account is not None else None,
    }}


register(Command(
    name="linkDomainToLdap",
    description=_("Lets the members of an LDAP group, or the users under an LDAP OU, log in to an account of "
                  "a domain; the account is created at the first login."),
    action="ldap.configure",
    handler=link_domain_to_ldap,
    params=(
        Param("domainid", ParamType.UUID, required=True, description=_("The domain to link.")),
        Param("type", required=True, choices=("group", "ou"), description=_("GROUP or OU.")),
        Param("name", required=True, max_length=1024, description=_("Distinguished name of the group or OU.")),
        Param("accounttype", ParamType.INTEGER, required=True,
              description=_("Type of the account: 0 user, 2 domain admin.")),
        Param("account", required=True, description=_("Name of the account the users log in to.")),
    ),
    response_object="linkdomaintoldap",
    response_fields=LDAP_LINK_FIELDS,
    since="4.11.0",
))


def render_ldap_user(call: Call, user: DirectoryUser) -> dict[str, Any]:
    return {"username": user.username, "firstname": user.first_name, "lastname": user.last_name,
            "email": user.email, "principal": user.dn, "userSource": "ldap"}


def list_ldap_users(call: Call) -> list[DirectoryUser]:
    return ldap_directory_user_list(caller=call.caller, domain=domain_param(call))


register(Command(
    name="listLdapUsers",
    description=_("Lists the users of the LDAP directory."),
    action="ldap.list",
    handler=list_ldap_users,
    params=(Param("domainid", ParamType.UUID,
                  description=_("List the users of the directory that serves this domain.")),),
    response_object="LdapUser",
    response_fields=LDAP_USER_FIELDS,
    listing=Listing(object_name="LdapUser", render=render_ldap_user, id_field=None, name_field=None,
                    keyword_fields=()),
    since="4.2.0",
))


def import_ldap_users(call: Call) -> list[User]:
    domain = domain_get(caller=call.caller, domain_id=call.get("domainid"))
    return services.ldap_users_import(caller=call.caller, domain=domain, account_type=call.get("accounttype"),
                                      account_name=call.get("account"), group=call.get("group"))


register(Command(
    name="importLdapUsers",
    description=_("Creates portal users for the users of the LDAP directory (or of one group) ahead of their "
                  "first login; users who already exist are left alone."),
    action="ldap.import",
    handler=import_ldap_users,
    params=(
        Param("domainid", ParamType.UUID, required=True, description=_("The domain to create the users in.")),
        Param("accounttype", ParamType.INTEGER, required=True,
              description=_("Type of the accounts: 0 user, 2 domain admin.")),
        Param("account", description=_("The account for every user; without it, one account per user.")),
        Param("group", max_length=1024, description=_("Import only the members of this group (cn or DN).")),
    ),
    response_object="user",
    listing=Listing(object_name="user", render=render_user, id_field=None, name_field=None, keyword_fields=()),
    since="4.3.0",
))


def ldap_create_account(call: Call) -> dict:
    domain = domain_get(caller=call.caller, domain_id=call.get("domainid"))
    username = call.get("username")
    created = services.ldap_users_import(caller=call.caller, domain=domain, account_type=call.get("accounttype"),
                                         account_name=call.get("account") or username, usernames=[username])
    if not created:
        raise InvalidParameter(_("A user named %(name)s already exists.") % {"name": username})
    user = created[0]
    account = user.account
    return {"account": {
        "id": str(account.uuid), "name": account.name, "accounttype": int(account.account_type),
        "domainid": str(domain.uuid), "domain": domain.name, "state": account.state,
        "user": [render_user(call, user)],
    }}


register(Command(
    name="ldapCreateAccount",
    description=_("Creates an account with one user taken from the LDAP directory."),
    action="ldap.import",
    handler=ldap_create_account,
    params=(
        Param("username", required=True, description=_("The LDAP user name.")),
        Param("domainid", ParamType.UUID, required=True, description=_("The domain to create the account in.")),
        Param("accounttype", ParamType.INTEGER, required=True,
              description=_("Type of the account: 0 user, 2 domain admin.")),
        Param("account", description=_("Name of the account (default: the user name).")),
    ),
    response_object="account",
    response_fields=("id", "name", "accounttype", "domainid", "domain", "state", "user"),
    since="4.2.0",
))


# Resource limits and counts are declared in their own module.
from accounts import cloudstack_limits  # noqa: E402, F401

# isort: split
from accounts import cloudstack_tenancy  # noqa: E402, F401  (domains, accounts and their users)

# isort: split
from accounts import cloudstack_roles  # noqa: E402, F401  (dynamic roles and their rules)
