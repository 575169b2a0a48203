"""Login sessions of the CloudStack API (the `login` and `logout` commands).

Design: an API session is a Django session (the configured SESSION_ENGINE, so the same table, expiry and
`clearsessions` housekeeping as the web UI's) whose key is sent as CloudStack's `JSESSIONID` cookie. It is a
session of its own, not the UI's: it stores the user under its own names, so Django's AuthenticationMiddleware
never treats it as a UI login, and logging in or out of the API leaves a browser's UI session alone.

A request authenticates with a session only with all three of: the `JSESSIONID` cookie, the `sessionkey`
cookie and the `sessionkey` parameter, both keys equal to the one stored in the session (CloudStack's
"CookieAndParameter" check). The parameter is what a cross-site form cannot know, so it is the CSRF defence;
a wrong key ends the session, as CloudStack does. The session also keeps the user's password hash digest, so a
password change ends it, like a UI session. The timeout is sliding: each authenticated call renews it
(CIRROSTACK_API_SESSION_TIMEOUT, by default the web UI's CIRROSTACK_SESSION_TIMEOUT).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

from accounts.models import User
from accounts.selectors import user_for_session

SESSION_COOKIE = "JSESSIONID"
SESSIONKEY_COOKIE = "sessionkey"

# Names inside the session; deliberately not django.contrib.auth's, see the module docstring.
_USER_ID = "cloudstack.userid"
_AUTH_HASH = "cloudstack.authhash"
_SESSIONKEY = "cloudstack.sessionkey"


@dataclass(frozen=True)
class ApiSession:
    session_id: str  # the JSESSIONID cookie's value
    sessionkey: str  # the key every later call repeats as cookie and parameter


def timeout() -> int:
    """Seconds of inactivity after which a session ends (loginresponse's `timeout`)."""
    return settings.CIRROSTACK_API_SESSION_TIMEOUT


def _store(session_id: str | None = None) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_id)


def session_open(user: User) -> ApiSession:
    store = _store()
    sessionkey = secrets.token_urlsafe(20)
    store[_USER_ID] = user.pk
    store[_AUTH_HASH] = user.get_session_auth_hash()
    store[_SESSIONKEY] = sessionkey
    store.set_expiry(timeout())
    store.save()  # a new store gets a fresh, unique key here
    return ApiSession(session_id=store.session_key, sessionkey=sessionkey)


def session_close(session_id: str | None) -> User | None:
    """End the session, if it exists; unknown or malformed ids are ignored (logging out twice is fine).
    Returns the session's user, if it was live, so the logout can be recorded with its actor."""
    if not session_id:
        return None
    store = _store(session_id)
    user_pk = store.get(_USER_ID)
    store.delete()
    return user_for_session(user_pk) if user_pk is not None else None


def session_user(session_id: str, sessionkey_param: str, sessionkey_cookie: str | None) -> User | None:
    """The user of a live session whose key both the cookie and the parameter repeat; None otherwise."""
    store = _store(session_id)
    stored = store.get(_SESSIONKEY)
    if not stored:
        return None
    # Both compared, always, so the time taken does not tell which one was wrong.
    param_ok = constant_time_compare(sessionkey_param, stored)
    cookie_ok = constant_time_compare(sessionkey_cookie or "", stored)
    user = user_for_session(store.get(_USER_ID)) if param_ok and cookie_ok else None
    if user is None or not constant_time_compare(store.get(_AUTH_HASH, ""), user.get_session_auth_hash()):
        store.delete()
        return None
    store.set_expiry(timeout())
    store.save()
    return user


def cookie_path(request: HttpRequest) -> str:
    """The API's directory ("/client" for /client/api), where CloudStack scopes its cookies."""
    return request.path.rsplit("/", 1)[0] or "/"


def set_cookies(response: HttpResponse, *, request: HttpRequest, session: ApiSession) -> None:
    """Session cookies (no max-age: they end with the browser), HttpOnly so page scripts cannot read them."""
    for name, value in ((SESSION_COOKIE, session.session_id), (SESSIONKEY_COOKIE, session.sessionkey)):
        response.set_cookie(name, value, path=cookie_path(request), secure=request.is_secure(), httponly=True,
                            samesite="Lax")


def clear_cookies(response: HttpResponse, *, request: HttpRequest) -> None:
    for name in (SESSION_COOKIE, SESSIONKEY_COOKIE):
        response.delete_cookie(name, path=cookie_path(request), samesite="Lax")
