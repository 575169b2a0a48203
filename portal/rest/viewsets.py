"""The base of every REST resource: reads through selectors, public ids are uuids.

A resource defines `select` (the caller's list, from a selector) and `fetch` (one object by public id,
from a selector that raises NotFound for ids that are unknown, malformed or outside the caller's reach,
so another tenant's object is a 404, never a 403).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter

from accounts.models import User
from portal.rest.serializers import parse_query


class StableOrderingFilter(OrderingFilter):
    """?ordering=field,-other; the primary key breaks ties so pages never overlap or skip rows."""

    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering = [*ordering, "-pk" if ordering[-1].startswith("-") else "pk"]
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        fields = getattr(view, "ordering_fields", None)
        if fields and fields != "__all__":
            for parameter in parameters:
                parameter["description"] = _(
                    "Comma-separated fields to order by, \"-\" first for descending: %(fields)s."
                ) % {"fields": ", ".join(fields)}
        return parameters


class SelectorViewSet(viewsets.GenericViewSet):
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    # Query parameters of the list, validated (and documented in the schema by portal.rest.schema).
    query_serializer_class: type[serializers.Serializer] | None = None

    def select(self, caller: User, query: dict[str, Any]) -> QuerySet:
        raise NotImplementedError

    def fetch(self, caller: User, object_id: str) -> Model:
        raise NotImplementedError

    def list_query(self) -> dict[str, Any]:
        if self.query_serializer_class is None or self.action != "list":
            return {}
        return parse_query(self.query_serializer_class, self.request)

    def get_queryset(self) -> QuerySet:
        return self.select(self.request.user, self.list_query())

    def get_object(self) -> Model:
        obj = self.fetch(self.request.user, str(self.kwargs[self.lookup_url_kwarg]))
        self.check_object_permissions(self.request, obj)
        return obj
