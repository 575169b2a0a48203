"""How web UI views call the one authorization decision point (portal.authz).

Every UI view is wrapped by `requires(action)` or marked `public`; tests/architecture checks that no URL
escapes both. `requires` sends anonymous visitors to the login page and answers 403 when the caller's role
may not attempt the action at all; object-level decisions stay in the services and selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse

from portal import authz
from portal.errors import NotAuthenticated, PermissionDenied

View = TypeVar("View", bound=Callable[..., Any])


def requires(action: str) -> Callable[[View], View]:
    if action not in authz.ACTIONS:
        raise ValueError(f"undeclared action {action!r}")

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                authz.authorize(request.user, action)
            except NotAuthenticated:
                return redirect_to_login(request.get_full_path())
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from exc
            return view(request, *args, **kwargs)

        wrapper.authz_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: View) -> View:
    """Mark a view that needs no caller (the login page, the language switch)."""
    view.authz_action = authz.PUBLIC  # type: ignore[attr-defined]
    return view
