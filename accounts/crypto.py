"""Secrets the portal must use again later (an LDAP bind password), encrypted at rest with a key derived from
SECRET_KEY: a copy of the database alone does not reveal them."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet(purpose: str) -> Fernet:
    # One key per purpose, so a value encrypted for one use cannot be replayed as another.
    digest = hashlib.sha256(f"cirrostack:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(value: str, *, purpose: str) -> str:
    return _fernet(purpose).encrypt(value.encode()).decode() if value else ""


def decrypt(token: str, *, purpose: str) -> str:
    """The plain value; "" for an empty token or one SECRET_KEY can no longer open (the key was rotated)."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
