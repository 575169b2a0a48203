"""Web UI: the signed-in user's own profile (namespace `accounts`): details, API keys, password.

The API secret key is shown once, in the answer to the POST that generates it (never stored in the session
for a redirect, never shown again); later visits show the API key only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts import services
from accounts.forms_security import PasswordChangeForm
from accounts.selectors import user_keys_get
from accounts.services_security import PasswordRejected, user_password_change
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_submit
from portal.ui.shortcuts import http_errors


def _render(request: HttpRequest, *, form: PasswordChangeForm | None = None, new_keys: tuple[str, str] | None = None,
            status: int = 200) -> HttpResponse:
    user = request.user
    api_key, _secret = user_keys_get(caller=user, user=user)
    response = render(request, "accounts/profile.html", {
        "profile": user,
        "account": user.account,
        "api_key": api_key,
        "new_keys": new_keys,
        "password_form": form or PasswordChangeForm(),
        "password_native": user.source == "native",
    }, status=status)
    # A page that may carry a secret: no browser, proxy or back button keeps a copy.
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@requires("profile.view")
@http_errors
def profile(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@requires("user.keys.register")
@http_errors
def profile_keys(request: HttpRequest) -> HttpResponse:
    """The answer shows the new secret key itself (not a redirect): this response is the only place it is."""
    new_keys = services.user_keys_issue(caller=request.user, user=request.user)
    return _render(request, new_keys=new_keys)


@require_POST
@requires("user.password")
@http_errors
def profile_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form_submit(request, form, lambda data: user_password_change(
            caller=request.user, user=request.user, password=data["new_password1"],
            current_password=data["current_password"]), field=_password_error_field):
        # The password hash is part of the session; keep this session (others of the user end).
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Your password was changed."))
        return redirect("accounts:profile")
    return _render(request, form=form, status=400)


def _password_error_field(exc: ServiceError) -> str | None:
    """A rejected password is shown at the field it is about; any other refusal above the form."""
    if isinstance(exc, PasswordRejected):
        return "current_password" if exc.field == "current_password" else "new_password1"
    return None


urlpatterns: list[Any] = [
    path("profile/", profile, name="profile"),
    path("profile/keys/", profile_keys, name="profile_keys"),
    path("profile/password/", profile_password, name="profile_password"),
]
