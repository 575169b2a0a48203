"""REST resource for zones (/api/v1/zones/): read-only, through infrastructure.selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure.models import Zone
from infrastructure.selectors import zone_get, zone_list
from portal.rest.filters import FilterSet, StrictBooleanFilter
from portal.rest.viewsets import SelectorViewSet


class ZoneSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:zone-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")

    class Meta:
        model = Zone
        fields = ["id", "url", "name", "description", "network_type", "allocation_state", "created"]
        read_only_fields = fields


class ZoneFilterSet(FilterSet):
    available = StrictBooleanFilter(method="filter_available", help_text=_(
        "true: only zones open for new deployments; false: only those that are not."))

    class Meta:
        model = Zone
        fields = []

    def filter_available(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        available = zone_list(caller=self.caller, available=True).values("pk")
        return queryset.filter(pk__in=available) if value else queryset.exclude(pk__in=available)


class ZoneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Zones: the data centres you can deploy in."""

    queryset = Zone.objects.none()  # the model, for the schema; rows come from the selectors
    serializer_class = ZoneSerializer
    filterset_class = ZoneFilterSet
    authz_actions = {"*": "zone.list"}
    ordering_fields = ["name", "created"]

    def select(self, caller: User) -> QuerySet[Zone]:
        return zone_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Zone:
        return zone_get(caller=caller, zone_id=object_id)

    @extend_schema(summary=_("List zones"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a zone"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)
