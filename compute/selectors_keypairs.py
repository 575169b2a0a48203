"""Reads of SSH key pairs, scoped to the caller's tenancy."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, User
from compute.models import SSHKeyPair
from portal.authz import authorize, scope
from portal.errors import NotFound
from portal.lookup import get_by_uuid


def keypair_list(*, caller: User) -> QuerySet[SSHKeyPair]:
    authorize(caller, "keypair.list")
    return scope(caller, SSHKeyPair.objects.select_related("account", "domain"))


def keypair_get(*, caller: User, keypair_id: str) -> SSHKeyPair:
    return get_by_uuid(keypair_list(caller=caller), keypair_id, _("an SSH key pair"))


def keypair_get_by_name(*, caller: User, account: Account | None, name: str) -> SSHKeyPair:
    """CloudStack names key pairs, not ids: deploy, resetSSHKey and deleteSSHKeyPair find one by its name
    within one account (the caller's unless an admin names another it manages)."""
    owner = account or caller.account
    pair = keypair_list(caller=caller).filter(account=owner, name=name).first() if owner is not None else None
    if pair is None:
        raise NotFound(_("A key pair with name '%(name)s' was not found.") % {"name": name})
    return pair
