"""Web UI: signing in and out (routes in the `ui` namespace, see portal.ui.urls)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from accounts.forms_security import LoginForm
from accounts.services_security import user_logout


class LoginView(auth_views.LoginView):
    """Django's sign-in page with the throttled form (a locked-out attempt says so, whoever it names)."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Django's POST-only sign-out, recorded as a USER.LOGOUT event first (while the user is still known)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            user_logout(caller=request.user, request=request)
        return super().post(request, *args, **kwargs)
