"""Secrets the portal must use again later (an LDAP bind password, API secret keys), encrypted at rest with
keys derived from CIRROSTACK_ENCRYPTION_KEY (else SECRET_KEY): a copy of the database alone does not reveal them.

Several keys may be configured: the first encrypts, every one (and SECRET_KEY, which encrypted everything
before a dedicated key was set) decrypts, so a key is rotated by putting a new one first."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet(purpose: str) -> MultiFernet:
    # One key per purpose, so a value encrypted for one use cannot be replayed as another.
    secrets = [*getattr(settings, "CIRROSTACK_ENCRYPTION_KEYS", []), settings.SECRET_KEY]
    keys = []
    for secret in dict.fromkeys(secrets):
        digest = hashlib.sha256(f"cirrostack:{purpose}:{secret}".encode()).digest()
        keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(keys)


def encrypt(value: str, *, purpose: str) -> str:
    return _fernet(purpose).encrypt(value.encode()).decode() if value else ""


def decrypt(token: str, *, purpose: str) -> str:
    """The plain value; "" for an empty token or one no configured key opens (its key was dropped)."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
