"""Web UI: roles pages (namespace `accounts`)."""

from __future__ import annotations

urlpatterns: list = []
