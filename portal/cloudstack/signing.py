"""Checking CloudStack request signatures (HMAC-SHA1 over a canonical query string).

The server rebuilds the string the client signed: every parameter except `signature`, sorted by name,
`name=value` pairs joined with `&`, values URL-encoded, the whole string lower-cased. Real clients
disagree on the details, so every canonical form they are known to send is accepted:

* Java's URLEncoder, as CloudStack itself signs: unreserved `A-Za-z0-9.-*_`, space as `%20`;
* `cs`: names sorted case-sensitively, `~` left unescaped;
* libcloud: names lower-cased before sorting, `[`, `]` and `~` left unescaped;
* cloudmonkey: names lower-cased, values through quote_plus with `*` safe (the `cs` form once `+` is
  replaced);
* Marvin: names lower-cased, values through quote_plus, `*` escaped, `~` escaped too under Python 2.

Each form is one HMAC; the comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_plus

from portal.cloudstack.params import parse_date


def _java(value: str) -> str:
    return quote(value, safe="*").replace("~", "%7E")


def _python_quote(value: str) -> str:
    return quote(value, safe="*")


def _libcloud(value: str) -> str:
    return quote(value, safe="[]*")


def _quote_plus(value: str) -> str:
    return quote_plus(value).replace("+", "%20")


def _quote_plus_python2(value: str) -> str:
    return _quote_plus(value).replace("~", "%7E")


ENCODERS: tuple[Callable[[str], str], ...] = (_java, _python_quote, _libcloud, _quote_plus, _quote_plus_python2)


def _case_sensitive(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(pairs, key=lambda pair: pair[0])


def _lower_case(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(((name.lower(), value) for name, value in pairs), key=lambda pair: pair[0])


ORDERINGS = (_case_sensitive, _lower_case)


def canonical_strings(params: Iterable[tuple[str, str]]) -> list[str]:
    """Every canonical form of `params` (without `signature`) some client signs, without duplicates."""
    pairs = [(name, value) for name, value in params if name.lower() != "signature"]
    forms: list[str] = []
    for order in ORDERINGS:
        ordered = order(pairs)
        for encode in ENCODERS:
            text = "&".join(f"{name}={encode(value)}" for name, value in ordered).lower()
            if text not in forms:
                forms.append(text)
    return forms


def sign(canonical: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(params: Iterable[tuple[str, str]], signature: str, secret: str) -> bool:
    """Whether `signature` signs `params` with `secret` in any accepted canonical form."""
    if not signature or not secret:
        return False
    # A raw "+" in a query string decodes to a space; base64 never contains spaces.
    given = signature.strip().replace(" ", "+").encode("ascii", "replace")
    matched = False
    for canonical in canonical_strings(params):
        # Check every form (no early exit), so the time taken does not tell which form came close.
        matched |= hmac.compare_digest(sign(canonical, secret).encode("ascii"), given)
    return matched


def expires_ok(expires: str | None, *, required: bool, max_ahead_seconds: int,
               now: datetime | None = None) -> bool:
    """The `expires` check of signatureVersion=3: present (when required), parseable with an offset,
    not in the past, and not more than `max_ahead_seconds` ahead (a signed URL must not live forever)."""
    if not expires:
        return not required
    try:
        moment = parse_date(expires)
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    now = now or datetime.now(UTC)
    return now <= moment <= now + timedelta(seconds=max_ahead_seconds)
