"""The base of every REST resource: reads through selectors, public ids are uuids.

A resource defines `select` (the caller's list, from a selector that scopes it to the caller's tenancy)
and `fetch` (one object by public id, from a selector that raises NotFound for ids that are unknown,
malformed or outside the caller's reach, so another tenant's object is a 404, never a 403). A list is
then narrowed by the resource's `filterset_class` (portal.rest.filters) and ordered by `?ordering=`
among its `ordering_fields`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, viewsets
from rest_framework.filters import OrderingFilter

from accounts.models import User
from portal.rest.filters import FilterSet

_PK_NAMES = ("pk", "id")


class StableOrderingFilter(OrderingFilter):
    """?ordering=field,-other among the view's `ordering_fields` (model field names, also the API's names);
    any other field is a 400. The primary key breaks ties, in the direction of the last field, so pages
    never overlap or skip rows, the default order included."""

    def get_valid_fields(self, queryset: QuerySet | None, view: Any,
                         context: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        # Never DRF's fallback to every serializer field: what a list may be ordered by is declared.
        return [(name, name) for name in getattr(view, "ordering_fields", None) or ()]

    def remove_invalid_fields(self, queryset: QuerySet, fields: list[str], view: Any, request: Any) -> list[str]:
        valid = [name for name, _label in self.get_valid_fields(queryset, view)]
        terms = [term for term in fields if term]
        invalid = [term for term in terms if term.removeprefix("-") not in valid]
        if invalid:
            raise exceptions.ValidationError({self.ordering_param: [
                _("Cannot order by %(invalid)s; choose from %(valid)s, with \"-\" first for descending.") % {
                    "invalid": ", ".join(invalid), "valid": ", ".join(valid) or "-"}]})
        return terms

    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            ordering = list(queryset.query.order_by or queryset.model._meta.ordering)
        if not ordering or not all(isinstance(term, str) for term in ordering):
            return ordering or None
        ordering = list(ordering)
        if not any(term.lstrip("-") in _PK_NAMES for term in ordering):
            ordering.append("-pk" if ordering[-1].startswith("-") else "pk")
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = [name for name, _label in self.get_valid_fields(None, view)]
        if not fields:
            return []
        return [{
            "name": self.ordering_param,
            "required": False,
            "in": "query",
            "description": _("Fields to order by, comma-separated, \"-\" first for descending. Ties are broken "
                             "by creation order."),
            "schema": {"type": "array", "items": {
                "type": "string", "enum": [term for name in fields for term in (name, f"-{name}")]}},
            "style": "form",
            "explode": False,
        }]


class SelectorViewSet(viewsets.GenericViewSet):
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class: type[FilterSet] | None = None
    ordering_fields: list[str] = []
    # viewset action (or "*") -> the portal.authz action it enforces (see portal.rest.permissions).
    authz_actions: dict[str, str] = {}

    def select(self, caller: User) -> QuerySet:
        raise NotImplementedError

    def fetch(self, caller: User, object_id: str) -> Model:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        return self.select(self.request.user)

    def get_object(self) -> Model:
        obj = self.fetch(self.request.user, str(self.kwargs[self.lookup_url_kwarg]))
        self.check_object_permissions(self.request, obj)
        return obj
