"""The door adapters of portal.authz: REST views without a declaration are refused (fail closed), and the
declared action's role rule is enforced before any view code runs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from portal import authz
from portal.rest.permissions import AuthzPermission

pytestmark = pytest.mark.django_db


def request_as(user):
    request = APIRequestFactory().get("/api/v1/anything/")
    request.user = user
    request.method = "GET"
    return request


def view(actions: dict[str, str]):
    return SimpleNamespace(action="list", authz_actions=actions, allowed_methods=["GET"])


def test_undeclared_endpoint_is_refused_even_for_root_admins(cloud):
    assert AuthzPermission().has_permission(request_as(cloud.admin), view({})) is False


def test_declared_role_rule_is_enforced(cloud):
    admin_only = view({"list": "host.list"})
    assert AuthzPermission().has_permission(request_as(cloud.admin), admin_only) is True
    with pytest.raises(exceptions.PermissionDenied):
        AuthzPermission().has_permission(request_as(cloud.alice), admin_only)
    with pytest.raises(exceptions.NotAuthenticated):
        AuthzPermission().has_permission(request_as(AnonymousUser()), admin_only)


def test_public_endpoint_needs_no_caller():
    assert AuthzPermission().has_permission(request_as(AnonymousUser()), view({"*": authz.PUBLIC})) is True
