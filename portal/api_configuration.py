"""REST resource of the cloud's settings: /api/v1/configurations/ (CloudStack's listConfigurations,
updateConfiguration, resetConfiguration). A setting is named by its CloudStack name; `zone`, `cluster` or
`account` (ids, in the query of a read, in the body of a change) pick the scope, none means global.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal import services_configuration
from portal.configuration import CATEGORIES, ConfigEntry, Target, config_list, setting_get, target_lookup
from portal.errors import NotFound, ServiceError


class ConfigurationSerializer(serializers.Serializer):
    name = serializers.CharField(source="setting.name", help_text=_("The setting's name, as CloudStack spells it."))
    value = serializers.CharField(source="text", help_text=_("The value that applies at the listed scope."))
    default_value = serializers.CharField(source="setting.default")
    type = serializers.CharField(source="setting.kind.value", help_text=_(
        "Number, Decimal, Boolean, String or Select."))
    options = serializers.ListField(source="setting.choices", child=serializers.CharField(), help_text=_(
        "The values a Select setting accepts."))
    category = serializers.CharField(source="setting.category")
    description = serializers.CharField(source="setting.description")
    scope = serializers.CharField(source="setting.scope", help_text=_(
        "Where besides globally the setting may be set: global, zone, cluster or account."))
    is_dynamic = serializers.BooleanField(source="setting.dynamic")
    target_scope = serializers.CharField(source="target.scope", help_text=_("The scope of the value shown."))
    target_id = serializers.CharField(source="target.uuid", allow_null=True, help_text=_(
        "The zone, cluster or account whose value is shown; null for the global value."))
    overridden = serializers.BooleanField(help_text=_("Whether the value is set at exactly this scope."))


class TargetSerializer(serializers.Serializer):
    zone = serializers.UUIDField(required=False, help_text=_("Set the value of this zone."))
    cluster = serializers.UUIDField(required=False, help_text=_("Set the value of this cluster."))
    account = serializers.UUIDField(required=False, help_text=_("Set the value of this account."))


class ConfigurationUpdateSerializer(TargetSerializer):
    value = serializers.CharField(allow_blank=True, max_length=4096)


_SCOPE_PARAMETERS = [OpenApiParameter(key, OpenApiTypes.UUID, description=_("Show the values of this %s.") % key)
                     for key in ("zone", "cluster", "account")]
_LIST_PARAMETERS = [
    *_SCOPE_PARAMETERS,
    OpenApiParameter("category", OpenApiTypes.STR, enum=list(CATEGORIES), description=_("Only this category.")),
    OpenApiParameter("keyword", OpenApiTypes.STR, description=_("Only settings whose name or description "
                                                                "contains this.")),
    OpenApiParameter("name", OpenApiTypes.STR, description=_("Only the setting with this name.")),
]


def _target(caller: Any, data: Any) -> Target:
    """A zone, cluster or account out of the caller's reach is a 400 on that field, as for every id the REST API
    reads from a query or body (only ids in the path answer 404)."""
    try:
        return target_lookup(caller=caller, zone_id=data.get("zone"), cluster_id=data.get("cluster"),
                             account_id=data.get("account"))
    except NotFound as exc:
        field = next((key for key in ("account", "cluster", "zone") if data.get(key)), "non_field_errors")
        raise serializers.ValidationError({field: [exc.message]}) from exc


class ConfigurationViewSet(viewsets.GenericViewSet):
    """The cloud's settings: root admins see and change global, zone and cluster values; domain admins the
    account-scoped values of the accounts in their subtree."""

    serializer_class = ConfigurationSerializer
    authz_actions = {"list": "config.list", "retrieve": "config.list", "partial_update": "config.update",
                     "reset": "config.update"}
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> list[ConfigEntry]:
        params = self.request.query_params
        return config_list(caller=self.request.user, target=_target(self.request.user, params),
                           name=params.get("name"), category=params.get("category"), keyword=params.get("keyword"))

    def _one(self, request: Request, name: str, target: Target) -> ConfigEntry:
        self._one_exists(name)
        return config_list(caller=request.user, target=target, name=name)[0]

    @extend_schema(summary=_("List settings"), parameters=_LIST_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConfigurationSerializer(page, many=True).data)

    @extend_schema(summary=_("Show a setting"), parameters=_SCOPE_PARAMETERS)
    def retrieve(self, request: Request, name: str, *args: Any, **kwargs: Any) -> Response:
        entry = self._one(request, name, _target(request.user, request.query_params))
        return Response(ConfigurationSerializer(entry).data)

    @extend_schema(summary=_("Set a setting globally or for one zone, cluster or account"),
                   request=ConfigurationUpdateSerializer, responses={200: ConfigurationSerializer})
    def partial_update(self, request: Request, name: str, *args: Any, **kwargs: Any) -> Response:
        self._one_exists(name)
        serializer = ConfigurationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = services_configuration.config_update(caller=request.user, name=name, value=data["value"],
                                                     target=_target(request.user, data))
        return Response(ConfigurationSerializer(entry).data)

    @extend_schema(summary=_("Reset a setting to its default, or a scope's value to the global one"),
                   request=TargetSerializer, responses={200: ConfigurationSerializer})
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, name: str, *args: Any, **kwargs: Any) -> Response:
        self._one_exists(name)
        serializer = TargetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services_configuration.config_reset(caller=request.user, name=name,
                                                    target=_target(request.user, serializer.validated_data))
        return Response(ConfigurationSerializer(entry).data)

    @staticmethod
    def _one_exists(name: str) -> None:
        """An unknown name in the URL is a missing resource (404), as for any other REST resource."""
        try:
            setting_get(name)
        except ServiceError as exc:
            raise NotFound(exc.message) from exc
