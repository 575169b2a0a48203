"""Writes on SSH key pairs: generate (the private key is returned once and never stored), register an existing
public key, delete.

The fingerprint is CloudStack's: the MD5 digest of the decoded key blob as lower-case colon-separated hex
(`ssh-keygen -E md5 -l` without the "MD5:" prefix), so clients comparing fingerprints with CloudStack's agree.
Deleting a key pair leaves VMs alone: each VM keeps a copy of the public keys it was given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, User
from compute.models import SSHKeyPair
from portal.authz import authorize
from portal.errors import InvalidParameter
from portal.events import event_emit

RSA_KEY_BITS = 2048
NAME_MAX_LENGTH = 255


class OwnerProbe:
    """Lets authorize() check a caller's reach over an account before any row of it exists."""

    def __init__(self, account: Account) -> None:
        self.account_id, self.domain = account.pk, account.domain


def resolve_owner(*, caller: User, action: str, account: Account | None) -> Account:
    """The account a new object belongs to: the caller's, or one an admin names (and manages)."""
    authorize(caller, action)
    owner = account or caller.account
    if owner is None:
        raise InvalidParameter(_("The object needs an owning account: name one with account and domainid."))
    if owner != caller.account:
        authorize(caller, action, OwnerProbe(owner))
    return owner


def parse_public_key(text: str) -> tuple[str, str]:
    """(normalised OpenSSH public key line, CloudStack fingerprint); InvalidParameter for anything else."""
    line = " ".join((text or "").split())
    parts = line.split(" ")
    if len(parts) < 2:
        raise InvalidParameter(_("Public key is invalid: expected an OpenSSH public key "
                                 "(e.g. \"ssh-rsa AAAA... comment\")."))
    try:
        blob = base64.b64decode(parts[1], validate=True)
        serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise InvalidParameter(_("Public key is invalid: expected an OpenSSH public key "
                                 "(e.g. \"ssh-rsa AAAA... comment\").")) from None
    return line, fingerprint_of(blob)


def fingerprint_of(blob: bytes) -> str:
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _check_name(owner: Account, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("A key pair needs a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidParameter(_("The key pair name is longer than %(n)d characters.") % {"n": NAME_MAX_LENGTH})
    if SSHKeyPair.objects.filter(account=owner, name=name).exists():
        raise InvalidParameter(_("A key pair with name '%(name)s' already exists for this account.")
                               % {"name": name})
    return name


def _save(caller: User, owner: Account, name: str, public_key: str, fingerprint: str) -> SSHKeyPair:
    pair = SSHKeyPair.objects.create(name=name, public_key=public_key, fingerprint=fingerprint, account=owner,
                                     domain_id=owner.domain_id)
    event_emit(type="REGISTER.SSH.KEYPAIR", description=_("Registered SSH key pair %(name)s") % {"name": name},
               account=owner, user=caller, resource=pair)
    return pair


@transaction.atomic
def keypair_register(*, caller: User, name: str, public_key: str, account: Account | None = None) -> SSHKeyPair:
    owner = resolve_owner(caller=caller, action="keypair.create", account=account)
    name = _check_name(owner, name)
    line, fingerprint = parse_public_key(public_key)
    if SSHKeyPair.objects.filter(account=owner, fingerprint=fingerprint).exists():
        raise InvalidParameter(_("A key pair with the same public key already exists for this account."))
    return _save(caller, owner, name, line, fingerprint)


@transaction.atomic
def keypair_create(*, caller: User, name: str, account: Account | None = None) -> tuple[SSHKeyPair, str]:
    """A new RSA key pair: the row keeps the public half; the private key (PEM) goes back to the caller
    only, this once."""
    owner = resolve_owner(caller=caller, action="keypair.create", account=account)
    name = _check_name(owner, name)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    line, fingerprint = parse_public_key(public)
    return _save(caller, owner, name, line, fingerprint), private


@transaction.atomic
def keypair_delete(*, caller: User, keypair: SSHKeyPair) -> None:
    authorize(caller, "keypair.delete", keypair)
    from portal.services_tags import tags_remove_for

    tags_remove_for(resource_type="SSHKeyPair", resource_ids=[keypair.pk])
    SSHKeyPair.objects.filter(pk=keypair.pk).delete()
    event_emit(type="DELETE.SSH.KEYPAIR", description=_("Deleted SSH key pair %(name)s") % {"name": keypair.name},
               account=keypair.account, user=caller)
