"""Fetching objects by the public uuid every door uses, with one error for "missing" and "malformed"."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from portal.errors import NotFound

M = TypeVar("M", bound=Model)


def get_by_uuid(queryset: QuerySet[M], value: object, label: str) -> M:
    """Callers get the same NotFound for a malformed id, a missing row and a row outside their scope,
    so ids of other tenants' objects cannot be probed."""
    try:
        return queryset.get(uuid=value)
    except (queryset.model.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound(_("Unable to find %(label)s with id %(id)s.") % {"label": label, "id": value}) from exc
