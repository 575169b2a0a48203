"""Login with an LDAP password (CloudStack's LDAP integration), as a Django authentication backend.

django-auth-ldap does the directory work (find the user's DN with the service account, bind as the user,
read their groups); the configuration comes from the database per login, not from settings.py, because each
domain may have its own server (LdapConfiguration). A login succeeds only for a user that a link
(LdapLink, linkDomainToLdap) maps to an account: the first such login creates the portal user there. Local
users are ModelBackend's: this backend never logs in, changes or takes over a "native" user. An unreachable
server is logged and counts as a failed login; it never raises into the login page.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from django.http import HttpRequest
from django_auth_ldap.backend import LDAPBackend, ldap_error

from accounts import ldap as directory
from accounts.models import Account, Domain, LdapConfiguration, LdapLink, User
from accounts.selectors import ldap_login_candidates
from accounts.services import user_provision_from_ldap

logger = logging.getLogger(__name__)

# The configuration of the login in progress, for the error report (django-auth-ldap's signal lacks it).
_configuration: contextvars.ContextVar[LdapConfiguration | None] = contextvars.ContextVar(
    "cirrostack_ldap_configuration", default=None)


class CirrostackLDAPBackend(LDAPBackend):
    # django-auth-ldap's settings are replaced per configuration; none are read from settings.py.
    settings_prefix = directory.UNUSED_SETTINGS_PREFIX

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     domain: Domain | None = None, domain_required: bool = False, **kwargs: Any) -> User | None:
        """`domain` is the one a CloudStack login names (`domain_required`: it named one that does not
        exist, so no directory is asked); the web UI names none, so every linked domain is tried (the
        user's own, once an earlier LDAP login created them)."""
        if not username or not password or (domain_required and domain is None):
            return None
        for configuration, target, links in ldap_login_candidates(username=username.strip(), domain=domain):
            self.settings = directory.backend_settings(configuration)
            self._domain, self._links = target, links
            token = _configuration.set(configuration)
            try:
                user = super().authenticate(request, username=username, password=password)
            finally:
                _configuration.reset(token)
            if user is not None:
                return user if self._may_log_in(user) else None
        return None

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        """The portal user of this directory user: the one an earlier login or import created, or a new one
        in the account of the first link the user matches. Raising AuthenticationFailed refuses the login."""
        link = self._matching_link(ldap_user)
        existing = User.objects.select_related("account").filter(username__iexact=username).first()
        if existing is not None:
            if existing.source != "ldap" or existing.account_id is None:
                raise ldap_user.AuthenticationFailed("a local user has this name; LDAP does not log in as it")
            if self._domain is not None and existing.account.domain_id != self._domain.pk:
                raise ldap_user.AuthenticationFailed("the user belongs to another domain")
            # A user a link created must still be in the link's group or OU; an imported user need not.
            linked = [candidate for candidate in self._links if candidate.domain_id == existing.account.domain_id
                      and candidate.account_name == existing.account.name]
            if linked and link not in linked:
                raise ldap_user.AuthenticationFailed("the user is no longer in the group or OU of their account")
            return existing, False
        if link is None:
            raise ldap_user.AuthenticationFailed("the user is in no group or OU linked to a domain")
        person = directory.directory_user(self._configuration(), ldap_user.dn, ldap_user.attrs or {})
        user = user_provision_from_ldap(domain=link.domain, account_name=link.account_name,
                                        account_type=link.account_type, person=person)
        return user, False

    def get_user(self, user_id: Any) -> User | None:
        """The user of a UI session this backend opened: no directory round trip per request (a disabled
        user is refused here, a disabled account by portal.authz)."""
        user = User.objects.select_related("account", "account__domain").filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

    def _configuration(self) -> LdapConfiguration:
        configuration = _configuration.get()
        assert configuration is not None
        return configuration

    def _matching_link(self, ldap_user: Any) -> LdapLink | None:
        for link in self._links:
            if link.type == LdapLink.Type.OU and directory.dn_within(ldap_user.dn, link.name):
                return link
            if link.type == LdapLink.Type.GROUP and ldap_user._get_groups().is_member_of(link.name):
                return link
        return None

    def _may_log_in(self, user: User) -> bool:
        """The directory accepted the password; the portal still refuses a disabled user or account."""
        if not user.is_active or user.account_id is None or user.account.state != Account.State.ENABLED:
            logger.info("LDAP login of %s refused: the user or their account is not enabled", user.username)
            return False
        return True


def _report_ldap_error(sender: type, context: str, exception: Exception, **kwargs: Any) -> None:
    configuration = _configuration.get()
    server = configuration.uri if configuration is not None else "?"
    detail = exception.args[0] if exception.args else exception
    if isinstance(detail, dict):
        detail = detail.get("desc", detail)
    logger.error("LDAP server %s could not be used (%s): %s; the LDAP login failed, local logins are unaffected",
                 server, context, detail)


ldap_error.connect(_report_ldap_error, sender=CirrostackLDAPBackend, dispatch_uid="cirrostack-ldap-error")
