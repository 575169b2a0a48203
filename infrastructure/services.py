"""Writes on the physical side. Host management lives in infrastructure.services_hosts; its names are
re-exported here so existing callers (`services.host_add`, the agent's `services.host_record_*`) keep working."""

from __future__ import annotations

from infrastructure.services_hosts import (  # noqa: F401
    ALLOWED_URI_SCHEMES,
    host_add,
    host_record_connected,
    host_record_unreachable,
)
