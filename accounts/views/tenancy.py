"""Web UI: tenancy pages (namespace `accounts`)."""

from __future__ import annotations

urlpatterns: list = []
