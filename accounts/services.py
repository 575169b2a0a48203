"""Writes on tenancy. Issue-sized features (roles, LDAP, limits) grow here; the skeleton needs the basics."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.models import Account, Domain, User

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
