"""How REST callers prove who they are: a DRF token, the user's CloudStack key pair, or the UI session.

    Authorization: Token <token>                  (rest_framework.authtoken; `manage.py drf_create_token`)
    Authorization: ApiKey <api_key>:<secret_key>  (the pair registerUserKeys issues, for integrations)
    session cookie + X-CSRFToken                  (the web UI; DRF enforces CSRF on unsafe methods)

Authentication only establishes the user; whether the user may act is portal.authz's decision.
"""

from __future__ import annotations

import hmac

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import User
from accounts.selectors import user_for_api_key

# Compared against when no user has the given api key, so both failures take the same time.
_NO_SECRET = "-" * 86


def _refuse_disabled(user: User) -> None:
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token scheme ("Authorization: Token <key>"), loading the account with the user because
    every authorization decision reads it."""

    def authenticate_credentials(self, key: str) -> tuple[User, object]:
        token = self.get_model().objects.select_related("user__account").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        _refuse_disabled(token.user)
        return token.user, token


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """The user's CloudStack-style key pair, sent whole: integrations reuse the keys they already have
    for the CloudStack API without signing each request. Use it over TLS only."""

    keyword = "ApiKey"

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid ApiKey header: expected \"ApiKey <api key>:<secret key>\"."))
        try:
            credentials = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid ApiKey header: non-ASCII characters.")) from exc
        api_key, separator, secret_key = credentials.partition(":")
        if not separator or not api_key or not secret_key:
            raise exceptions.AuthenticationFailed(
                _("Invalid ApiKey header: expected \"ApiKey <api key>:<secret key>\"."))
        return self.authenticate_credentials(api_key, secret_key)

    def authenticate_credentials(self, api_key: str, secret_key: str) -> tuple[User, None]:
        user = user_for_api_key(api_key)
        expected = user.secret_key if user is not None and user.secret_key else _NO_SECRET
        matches = hmac.compare_digest(secret_key.encode(), expected.encode())
        if user is None or not user.secret_key or not matches:
            raise exceptions.AuthenticationFailed(_("Invalid API key or secret key."))
        _refuse_disabled(user)
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the ApiKey scheme in the OpenAPI schema (the token and session schemes are built in)."""

    target_class = "portal.rest.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _('The user\'s key pair: "ApiKey <api key>:<secret key>".'),
        }
