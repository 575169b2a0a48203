"""Web UI: limits pages (namespace `accounts`)."""

from __future__ import annotations

urlpatterns: list = []
