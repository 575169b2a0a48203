"""REST resource for zones (/api/v1/zones/): everyone lists and reads them (infrastructure.selectors); root
admins also create, update, enable, disable and delete them (infrastructure.services_topology), and see their
DNS and network settings."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure import services_topology
from infrastructure.models import Zone
from infrastructure.selectors import zone_get, zone_list
from portal.authz import can
from portal.rest.errors import ErrorSerializer
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


class ZoneAdminSerializer(ZoneSerializer):
    """What root admins see: the public fields and the zone's DNS and guest network settings."""

    class Meta(ZoneSerializer.Meta):
        fields = [*ZoneSerializer.Meta.fields, "dns1", "dns2", "internal_dns1", "internal_dns2", "guest_cidr",
                  "network_domain"]
        read_only_fields = fields


class ZoneCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    network_type = serializers.ChoiceField(choices=Zone.NetworkType.values)
    dns1 = serializers.CharField(max_length=64, help_text=_("The first DNS server for the guests."))
    dns2 = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    internal_dns1 = serializers.CharField(max_length=64, help_text=_("The first DNS server for the hosts."))
    internal_dns2 = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    guest_cidr = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                       help_text=_("Advanced zones only, e.g. 10.1.1.0/24."))
    network_domain = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="")
    allocation_state = serializers.ChoiceField(choices=["Enabled", "Disabled"], default="Disabled", help_text=_(
        "Zones start Disabled: enable them once their pods, clusters and hosts are in place."))


class ZoneUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    dns1 = serializers.CharField(max_length=64, required=False)
    dns2 = serializers.CharField(max_length=64, required=False, allow_blank=True)
    internal_dns1 = serializers.CharField(max_length=64, required=False)
    internal_dns2 = serializers.CharField(max_length=64, required=False, allow_blank=True)
    guest_cidr = serializers.CharField(max_length=64, required=False, allow_blank=True)
    network_domain = serializers.CharField(max_length=255, required=False, allow_blank=True)
    allocation_state = serializers.ChoiceField(choices=["Enabled", "Disabled"], required=False)


_IN_USE = OpenApiResponse(ErrorSerializer, description=_("Refused: it still contains something; nothing changed."))


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
    """Zones: the data centres you can deploy in. Root admins also manage them."""

    queryset = Zone.objects.none()  # the model, for the schema; rows come from the selectors
    serializer_class = ZoneSerializer
    filterset_class = ZoneFilterSet
    authz_actions = {"list": "zone.list", "retrieve": "zone.list", "create": "zone.create",
                     "partial_update": "zone.update", "destroy": "zone.delete", "enable": "zone.update",
                     "disable": "zone.update"}
    ordering_fields = ["name", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[Zone]:
        return zone_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Zone:
        return zone_get(caller=caller, zone_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return ZoneCreateSerializer
        if self.action == "partial_update":
            return ZoneUpdateSerializer
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated and can(user, "zone.update"):
            return ZoneAdminSerializer
        return ZoneSerializer

    def _render(self, request: Request, zone: Zone, status: int = 200) -> Response:
        zone = zone_get(caller=request.user, zone_id=zone.uuid)
        return Response(ZoneAdminSerializer(zone, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("List zones"), responses={200: ZoneSerializer(many=True)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Root admins also get each zone's DNS and guest network settings."""
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a zone"), responses={200: ZoneSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Root admins also get the zone's DNS and guest network settings."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a zone"), request=ZoneCreateSerializer, responses={201: ZoneAdminSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        zone = services_topology.zone_create(caller=request.user, **serializer.validated_data)
        return self._render(request, zone, status=201)

    @extend_schema(summary=_("Update a zone"), request=ZoneUpdateSerializer, responses={200: ZoneAdminSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The network type is fixed for the zone's life."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        zone = services_topology.zone_update(caller=request.user, zone=self.get_object(),
                                             **serializer.validated_data)
        return self._render(request, zone)

    @extend_schema(summary=_("Delete a zone"), responses={204: None, 409: _IN_USE})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Refused (409) while the zone still has pods, clusters, hosts, physical networks, storage..."""
        services_topology.zone_delete(caller=request.user, zone=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Enable a zone for new deployments"), request=None,
                   responses={200: ZoneAdminSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._render(request, services_topology.zone_update(
            caller=request.user, zone=self.get_object(), allocation_state="Enabled"))

    @extend_schema(summary=_("Disable a zone for new deployments"), request=None,
                   responses={200: ZoneAdminSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What runs there keeps running; only new deployments are refused."""
        return self._render(request, services_topology.zone_update(
            caller=request.user, zone=self.get_object(), allocation_state="Disabled"))
