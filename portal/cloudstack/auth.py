"""Who is calling the CloudStack API.

Authenticators are tried in order; each returns a user, or None when the request does not use its scheme,
and raises when the request uses its scheme wrongly. Two schemes: signed requests (apiKey + signature), and
the session of `login` (JSESSIONID and sessionkey cookies plus the `sessionkey` parameter; see sessions.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, User
from accounts.selectors import user_for_api_key
from portal.cloudstack import sessions, signing
from portal.errors import NotAuthenticated, PermissionDenied

# The text CloudStack answers for every authentication failure, whatever the cause, so callers cannot
# probe which keys exist.
UNVERIFIED = gettext_lazy("unable to verify user credentials and/or request signature")

Authenticator = Callable[[HttpRequest, Sequence[tuple[str, str]], dict[str, str]], "User | None"]


def unverified() -> NotAuthenticated:
    return NotAuthenticated(UNVERIFIED)


def signed_request(request: HttpRequest, pairs: Sequence[tuple[str, str]], params: dict[str, str]) -> User | None:
    """apiKey + signature, with `expires` enforced for signatureVersion=3 (and honoured when sent anyway)."""
    api_key, signature = params.get("apikey"), params.get("signature")
    if not api_key and not signature:
        return None
    if not api_key or not signature:
        raise unverified()
    if not signing.expires_ok(params.get("expires"), required=params.get("signatureversion") == "3",
                              max_ahead_seconds=settings.CIRROSTACK_API_EXPIRES_MAX_AHEAD):
        raise unverified()
    user = user_for_api_key(api_key)
    if user is None or not signing.signature_matches(pairs, signature, user.secret_key):
        raise unverified()
    return _enabled(user)


def session_request(request: HttpRequest, pairs: Sequence[tuple[str, str]], params: dict[str, str]) -> User | None:
    """A login session: the JSESSIONID cookie names it; the sessionkey cookie and parameter must repeat its key.
    A request with only the cookie or only the parameter is refused rather than passed on: it means to use a
    session, and a forged cross-site request looks exactly like that."""
    session_id, sessionkey = request.COOKIES.get(sessions.SESSION_COOKIE), params.get("sessionkey")
    if not session_id and not sessionkey:
        return None
    if not session_id or not sessionkey:
        raise unverified()
    user = sessions.session_user(session_id, sessionkey, request.COOKIES.get(sessions.SESSIONKEY_COOKIE))
    if user is None:
        raise unverified()
    return _enabled(user)


def _enabled(user: User) -> User:
    """Only a caller who proved who they are learns that their user or account is disabled."""
    if not user.is_active:
        raise PermissionDenied(_("User %(name)s is disabled.") % {"name": user.username})
    if user.account_id and user.account.state != Account.State.ENABLED:
        raise PermissionDenied(_("Account %(name)s is %(state)s.") % {
            "name": user.account.name, "state": user.account.get_state_display()})
    return user


AUTHENTICATORS: list[Authenticator] = [signed_request, session_request]


def authenticate(request: HttpRequest, pairs: Sequence[tuple[str, str]], params: dict[str, str]) -> User:
    for authenticator in AUTHENTICATORS:
        user = authenticator(request, pairs, params)
        if user is not None:
            return user
    raise unverified()
