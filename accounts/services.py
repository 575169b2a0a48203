"""Writes on tenancy. Issue-sized features (roles, LDAP, limits) grow here; the skeleton needs the basics."""

from __future__ import annotations

import logging
import secrets

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import Account, Domain, User
from portal.authz import authorize
from portal.errors import PermissionDenied
from portal.events import event_emit

logger = logging.getLogger(__name__)

ROOT_DOMAIN_NAME = "ROOT"


def root_domain_ensure() -> Domain:
    domain, _ = Domain.objects.get_or_create(parent=None, name=ROOT_DOMAIN_NAME)
    return domain


@transaction.atomic
def account_create(*, name: str, domain: Domain, account_type: int = Account.Type.USER) -> Account:
    return Account.objects.create(name=name, domain=domain, account_type=account_type)


@transaction.atomic
def user_create(*, account: Account, username: str, password: str | None, email: str = "",
                first_name: str = "", last_name: str = "") -> User:
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
    User.objects.filter(pk=user.pk).update(api_key=api_key, secret_key=secret_key)
    user.api_key, user.secret_key = api_key, secret_key
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
    """Check a password login into `domain` (CloudStack's login command). Every failure (unknown user, wrong
    password, wrong or unknown domain, disabled user or account) gives the same 531, so a caller cannot
    probe which part was wrong. Success is recorded as any Django login is (last_login)."""
    # The password is checked even when the domain is unknown, so both failures take the same time.
    user = authenticate(request, username=username, password=password)
    if (user is None or domain is None or user.account_id is None or user.account.domain_id != domain.pk
            or user.account.state != Account.State.ENABLED):
        raise PermissionDenied(
            _("Failed to authenticate user %(name)s in domain %(domain)s; please provide valid credentials.")
            % {"name": username, "domain": domain_label})
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
