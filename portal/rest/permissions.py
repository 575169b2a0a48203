"""How REST views call the one authorization decision point (portal.authz).

Each view declares `authz_actions`: viewset action (or HTTP method for plain API views, or "*") → an action of
portal.authz.ACTIONS, or authz.PUBLIC. An endpoint without a declaration is refused (fail closed), and
tests/architecture fails the build when a registered endpoint lacks one.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from portal import authz
from portal.errors import NotAuthenticated, PermissionDenied


def declared_action(view: Any, request: Request) -> str | None:
    actions: dict[str, str] = getattr(view, "authz_actions", {}) or {}
    key = getattr(view, "action", None) or request.method.lower()
    return actions.get(key) or actions.get("*")


class AuthzPermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method.upper() not in view.allowed_methods:
            return True  # nothing runs: DRF answers 405 Method Not Allowed next
        action = declared_action(view, request)
        if action is None:
            return False
        if action == authz.PUBLIC:
            return True
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        try:
            authz.authorize(request.user, action)
        except NotAuthenticated as exc:
            raise exceptions.NotAuthenticated(exc.message) from exc
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(exc.message) from exc
        return True
