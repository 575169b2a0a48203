"""REST resource of capacity (/api/v1/capacity/): root admins only, read-only.

The figures of infrastructure.selectors_capacity, one row per zone, pod, cluster or host and capacity type.
`level` picks the grouping (zone by default); `zone`, `pod`, `cluster` narrow it; `type` keeps one type.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from infrastructure.api_hosts import _RefSerializer
from infrastructure.selectors_capacity import CAPACITY_NAMES, LEVELS, Capacity, capacity_list
from portal.errors import NotFound


class CapacitySerializer(serializers.Serializer):
    type = serializers.IntegerField(help_text=_(
        "CloudStack's capacity type: 0 memory, 1 CPU, 2 primary storage used, 3 primary storage allocated, "
        "6 secondary storage."))
    name = serializers.CharField(help_text=_("CloudStack's name of the type (MEMORY, CPU, STORAGE, ...)."))
    level = serializers.CharField(help_text=_("zone, pod, cluster or host."))
    zone = _RefSerializer()
    pod = _RefSerializer(allow_null=True)
    cluster = _RefSerializer(allow_null=True)
    host = _RefSerializer(allow_null=True)
    unit = serializers.CharField(help_text=_("MHz for CPU, bytes otherwise."))
    actual = serializers.IntegerField(help_text=_("The physical capacity, before overprovisioning."))
    total = serializers.IntegerField(help_text=_("The capacity that may be allocated: actual x factor."))
    used = serializers.IntegerField()
    allocated = serializers.IntegerField()
    overprovisioning_factor = serializers.FloatField(source="factor")
    percent_used = serializers.FloatField()
    disable_threshold = serializers.FloatField(source="threshold", allow_null=True, help_text=_(
        "The fraction of the total above which allocators stop using the resource; null when none applies."))
    threshold_crossed = serializers.BooleanField()


_PARAMETERS = [
    OpenApiParameter("level", OpenApiTypes.STR, enum=list(LEVELS), description=_(
        "One row per zone (default), pod, cluster or host.")),
    OpenApiParameter("zone", OpenApiTypes.UUID, description=_("Only within this zone.")),
    OpenApiParameter("pod", OpenApiTypes.UUID, description=_("Only within this pod.")),
    OpenApiParameter("cluster", OpenApiTypes.UUID, description=_("Only within this cluster.")),
    OpenApiParameter("type", OpenApiTypes.INT, enum=list(CAPACITY_NAMES), description=_("Only this type.")),
]


class CapacityViewSet(viewsets.GenericViewSet):
    """The cloud's capacity: root admins only."""

    serializer_class = CapacitySerializer
    authz_actions = {"list": "capacity.list"}
    filter_backends: list = []
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> list[Capacity]:
        params = self.request.query_params
        level = params.get("level") or "zone"
        if level not in LEVELS:
            raise serializers.ValidationError({"level": [_("Choose one of %(levels)s.") % {
                "levels": ", ".join(LEVELS)}]})
        raw_type = params.get("type")
        capacity_type = None
        if raw_type not in (None, ""):
            if not raw_type.isdigit() or int(raw_type) not in CAPACITY_NAMES:
                raise serializers.ValidationError({"type": [_("Choose one of %(types)s.") % {
                    "types": ", ".join(str(number) for number in CAPACITY_NAMES)}]})
            capacity_type = int(raw_type)
        try:
            return capacity_list(caller=self.request.user, level=level, zone_id=params.get("zone"),
                                 pod_id=params.get("pod"), cluster_id=params.get("cluster"),
                                 capacity_type=capacity_type)
        except NotFound as exc:
            # An id in the query is part of the request, not the resource: a 400, as elsewhere in this API.
            raise serializers.ValidationError({"non_field_errors": [exc.message]}) from exc

    @extend_schema(summary=_("List capacity per zone, pod, cluster or host"), parameters=_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CapacitySerializer(page, many=True).data)
