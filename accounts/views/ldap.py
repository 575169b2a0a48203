"""Web UI: ldap pages (namespace `accounts`)."""

from __future__ import annotations

urlpatterns: list = []
