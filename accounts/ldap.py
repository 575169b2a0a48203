"""Talking to an LDAP directory as a configuration (accounts.models.LdapConfiguration) describes it: the
django-auth-ldap settings the login backend uses, and the searches behind listLdapUsers."""

from __future__ import annotations

from dataclasses import dataclass

import ldap
import ldap.dn
import ldap.filter
from django_auth_ldap.config import GroupOfNamesType, LDAPSearch, LDAPSettings

from accounts.models import LdapConfiguration

# Seconds before an unreachable server counts as down: a login must not hang on it.
NETWORK_TIMEOUT = 5
OPERATION_TIMEOUT = 10
# A prefix no Django setting uses, so every value comes from the configuration row, none from settings.py.
UNUSED_SETTINGS_PREFIX = "CIRROSTACK_LDAP_ROW_"
USER_ATTRIBUTES = ["uid", "cn", "givenName", "sn", "mail", "memberOf"]


def connection_options() -> dict:
    return {ldap.OPT_NETWORK_TIMEOUT: NETWORK_TIMEOUT, ldap.OPT_TIMEOUT: OPERATION_TIMEOUT,
            ldap.OPT_REFERRALS: 0}


def user_filter(config: LdapConfiguration, username: str = "%(user)s") -> str:
    return f"(&(objectClass={config.user_object_class})({config.username_attribute}={username}))"


def backend_settings(config: LdapConfiguration) -> LDAPSettings:
    """django-auth-ldap's settings for one configuration: search the user under the base DN with the
    service account, then bind as the user; groups are groupOfNames anywhere under the base DN."""
    return LDAPSettings(UNUSED_SETTINGS_PREFIX, {
        "SERVER_URI": config.uri,
        "START_TLS": config.start_tls,
        "BIND_DN": config.bind_dn,
        "BIND_PASSWORD": config.bind_password,
        "CONNECTION_OPTIONS": connection_options(),
        "USER_SEARCH": LDAPSearch(config.base_dn, ldap.SCOPE_SUBTREE, user_filter(config)),
        "GROUP_SEARCH": LDAPSearch(config.base_dn, ldap.SCOPE_SUBTREE, "(objectClass=groupOfNames)"),
        "GROUP_TYPE": GroupOfNamesType(),
        "USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        # The portal creates users itself (accounts.services.user_provision_from_ldap), in the linked account.
        "ALWAYS_UPDATE_USER": False,
    })


@dataclass(frozen=True)
class DirectoryUser:
    dn: str
    username: str
    first_name: str
    last_name: str
    email: str


def _first(attrs: dict, name: str) -> str:
    for key, values in attrs.items():
        if key.lower() == name.lower() and values:
            value = values[0]
            return value.decode() if isinstance(value, bytes) else value
    return ""


def directory_user(config: LdapConfiguration, dn: str, attrs: dict) -> DirectoryUser:
    return DirectoryUser(dn=dn, username=_first(attrs, config.username_attribute),
                         first_name=_first(attrs, "givenName"), last_name=_first(attrs, "sn"),
                         email=_first(attrs, "mail"))


def connect(config: LdapConfiguration) -> ldap.ldapobject.LDAPObject:
    """A connection bound as the configuration's service account. Raises ldap.LDAPError."""
    conn = ldap.initialize(config.uri, bytes_mode=False)
    for option, value in connection_options().items():
        conn.set_option(option, value)
    if config.start_tls:
        conn.start_tls_s()
    conn.simple_bind_s(config.bind_dn, config.bind_password)
    return conn


def search_users(config: LdapConfiguration, *, username: str | None = None) -> list[DirectoryUser]:
    """The directory's users under the base DN (one of them with `username`). Raises ldap.LDAPError."""
    conn = connect(config)
    try:
        query = user_filter(config, ldap.filter.escape_filter_chars(username) if username else "*")
        results = conn.search_s(config.base_dn, ldap.SCOPE_SUBTREE, query, USER_ATTRIBUTES)
    finally:
        conn.unbind_s()
    users = [directory_user(config, dn, attrs) for dn, attrs in results if dn]
    return sorted(users, key=lambda user: user.username)


def dn_within(dn: str, ancestor: str) -> bool:
    """Whether `dn` is `ancestor` or below it (an OU link covers its whole subtree, nested OUs included)."""
    try:
        child, parent = ldap.dn.str2dn(dn.lower()), ldap.dn.str2dn(ancestor.lower())
    except ldap.DECODING_ERROR:
        return False
    return len(child) >= len(parent) and child[len(child) - len(parent):] == parent


def search_group_members(config: LdapConfiguration, group: str) -> list[DirectoryUser]:
    """The users a groupOfNames lists; `group` is its DN or its cn. Raises ldap.LDAPError."""
    conn = connect(config)
    try:
        if "=" in group:
            found = conn.search_s(group, ldap.SCOPE_BASE, "(objectClass=groupOfNames)", ["member"])
        else:
            query = f"(&(objectClass=groupOfNames)(cn={ldap.filter.escape_filter_chars(group)}))"
            found = conn.search_s(config.base_dn, ldap.SCOPE_SUBTREE, query, ["member"])
        members = [value.decode() if isinstance(value, bytes) else value
                   for _dn, attrs in found if _dn for value in attrs.get("member", [])]
        users = []
        for dn in members:
            try:
                results = conn.search_s(dn, ldap.SCOPE_BASE, f"(objectClass={config.user_object_class})",
                                        USER_ATTRIBUTES)
            except ldap.NO_SUCH_OBJECT:
                continue
            users.extend(directory_user(config, entry_dn, attrs) for entry_dn, attrs in results if entry_dn)
    finally:
        conn.unbind_s()
    return sorted(users, key=lambda user: user.username)
