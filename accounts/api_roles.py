"""REST resources of roles: /api/v1/roles/ and each role's ordered rules at /api/v1/roles/{id}/permissions/
(CloudStack's dynamic roles). Reads go through accounts.selectors_roles, writes through accounts.services_roles.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services_roles
from accounts.models import User
from accounts.roles import Role, RolePermission, RoleType
from accounts.selectors_roles import role_get, role_list, role_permission_get, role_permission_list
from portal.errors import NotFound
from portal.rest.filters import CaseInsensitiveChoiceFilter, FilterSet
from portal.rest.viewsets import SelectorViewSet


class RoleSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:role-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    is_default = serializers.BooleanField(read_only=True, help_text=_(
        "Built-in roles cannot be changed or deleted."))
    account_count = serializers.IntegerField(read_only=True, help_text=_("How many accounts hold the role."))
    rule_count = serializers.IntegerField(read_only=True, help_text=_("How many rules the role has."))

    class Meta:
        model = Role
        fields = ["id", "url", "name", "role_type", "description", "is_default", "account_count", "rule_count",
                  "created"]
        read_only_fields = fields


class RoleCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    role_type = serializers.ChoiceField(choices=RoleType.choices, required=False, help_text=_(
        "Required unless copying another role (then that role's type by default)."))
    description = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.UUIDField(required=False, help_text=_("A role whose rules the new role starts with."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "source" in attrs:
            try:
                attrs["source"] = role_get(caller=self.context["request"].user, role_id=str(attrs["source"]))
            except NotFound as exc:
                raise serializers.ValidationError({"source": [exc.message]}) from exc
        elif "role_type" not in attrs:
            raise serializers.ValidationError({"role_type": [_("Give a role type, or a source role to copy.")]})
        return attrs


class RoleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255)
    role_type = serializers.ChoiceField(choices=RoleType.choices, required=False, help_text=_(
        "Only while no account holds the role."))
    description = serializers.CharField(required=False, allow_blank=True)


class RoleFilterSet(FilterSet):
    name = django_filters.CharFilter(help_text=_("Only the role with exactly this name."))
    role_type = CaseInsensitiveChoiceFilter(choices=RoleType.choices, help_text=_("Only roles of this type."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only roles whose name or description contains this (in any letter case)."))

    class Meta:
        model = Role
        fields = []

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Roles decide what an account's users may do. Root admins see and change all of them; domain admins see
    the DomainAdmin and User roles."""

    queryset = Role.objects.none()
    serializer_class = RoleSerializer
    filterset_class = RoleFilterSet
    authz_actions = {"list": "role.list", "retrieve": "role.list", "create": "role.create",
                     "partial_update": "role.update", "destroy": "role.delete"}
    ordering_fields = ["name", "role_type", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[Role]:
        return role_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Role:
        return role_get(caller=caller, role_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": RoleCreateSerializer, "partial_update": RoleUpdateSerializer}.get(
            self.action, RoleSerializer)

    def _show(self, request: Request, role: Role, status_code: int = 200) -> Response:
        role = self.fetch(request.user, str(role.uuid))
        return Response(RoleSerializer(role, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(summary=_("Create a role"), request=RoleCreateSerializer, responses={201: RoleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        role = services_roles.role_create(caller=request.user, name=data["name"], role_type=data.get("role_type"),
                                          description=data.get("description", ""), source=data.get("source"))
        return self._show(request, role, status.HTTP_201_CREATED)

    @extend_schema(summary=_("Rename, retype or describe a role"), request=RoleUpdateSerializer,
                   responses={200: RoleSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        role = services_roles.role_update(caller=request.user, role=self.get_object(), name=data.get("name"),
                                          role_type=data.get("role_type"), description=data.get("description"))
        return self._show(request, role)

    @extend_schema(summary=_("Delete a role no account holds"), responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_roles.role_delete(caller=request.user, role=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- rules ----------------------------------------------------------------------------------------------

class RolePermissionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    position = serializers.IntegerField(source="sort_order", read_only=True, help_text=_(
        "Rules are evaluated in this order; the first whose pattern matches decides."))

    class Meta:
        model = RolePermission
        fields = ["id", "position", "rule", "permission", "description"]
        read_only_fields = fields


class RolePermissionCreateSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=255, help_text=_(
        "An action (vm.deploy) or API command name (deployVirtualMachine); \"*\" is a wildcard."))
    permission = serializers.ChoiceField(choices=RolePermission.Permission.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class RolePermissionUpdateSerializer(serializers.Serializer):
    permission = serializers.ChoiceField(choices=RolePermission.Permission.choices)


class RolePermissionOrderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.UUIDField(), allow_empty=True, help_text=_(
        "Every rule id of the role, in the new order."))


_RULE_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description=_("Id of the rule."))


class RolePermissionViewSet(viewsets.GenericViewSet):
    """The ordered allow/deny rules of one role."""

    queryset = RolePermission.objects.none()  # for the schema; rows come from the selector
    serializer_class = RolePermissionSerializer
    authz_actions = {"list": "role.permission.list", "create": "role.permission.create",
                     "partial_update": "role.permission.update", "reorder": "role.permission.update",
                     "destroy": "role.permission.delete"}
    filter_backends: list = []
    pagination_class = None  # a role's rules come whole: reordering needs all of them

    def _role(self) -> Role:
        return role_get(caller=self.request.user, role_id=str(self.kwargs["role_id"]))

    def _rule(self, role: Role) -> RolePermission:
        rule = role_permission_get(caller=self.request.user, permission_id=str(self.kwargs["id"]))
        if rule.role_id != role.pk:
            raise NotFound()
        return rule

    def get_queryset(self) -> QuerySet[RolePermission]:
        return role_permission_list(caller=self.request.user, role=self._role())

    def _rules(self, request: Request, role: Role, status_code: int = 200) -> Response:
        rules = role_permission_list(caller=request.user, role=role)
        return Response(RolePermissionSerializer(rules, many=True).data, status=status_code)

    @extend_schema(summary=_("List a role's rules in evaluation order"),
                   responses={200: RolePermissionSerializer(many=True)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._rules(request, self._role())

    @extend_schema(summary=_("Add a rule after the role's existing rules"), request=RolePermissionCreateSerializer,
                   responses={201: RolePermissionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        role = self._role()
        serializer = RolePermissionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rule = services_roles.role_permission_create(caller=request.user, role=role, rule=data["rule"],
                                                     permission=data["permission"],
                                                     description=data.get("description", ""))
        return Response(RolePermissionSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("Turn a rule to allow or deny"), request=RolePermissionUpdateSerializer,
                   responses={200: RolePermissionSerializer}, parameters=[_RULE_ID])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self._rule(self._role())
        serializer = RolePermissionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = services_roles.role_permission_update(caller=request.user, rule=rule,
                                                     permission=serializer.validated_data["permission"])
        return Response(RolePermissionSerializer(rule).data)

    @extend_schema(summary=_("Put a role's rules in a new order"), request=RolePermissionOrderSerializer,
                   responses={200: RolePermissionSerializer(many=True)})
    def reorder(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        role = self._role()
        serializer = RolePermissionOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services_roles.role_permissions_reorder(caller=request.user, role=role,
                                                order=[str(item) for item in serializer.validated_data["order"]])
        return self._rules(request, role)

    @extend_schema(summary=_("Delete a rule"), request=None, responses={204: None}, parameters=[_RULE_ID])
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_roles.role_permission_delete(caller=request.user, rule=self._rule(self._role()))
        return Response(status=status.HTTP_204_NO_CONTENT)


_ROLE_ID = OpenApiParameter("role_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description=_("Id of the role."))
RolePermissionViewSet = extend_schema(parameters=[_ROLE_ID])(RolePermissionViewSet)

# Mounted by portal.rest.urls next to the router's routes.
urlpatterns = [
    path("roles/<str:role_id>/permissions/", RolePermissionViewSet.as_view({"get": "list", "post": "create"}),
         name="role-permission-list"),
    path("roles/<str:role_id>/permissions/reorder/", RolePermissionViewSet.as_view({"post": "reorder"}),
         name="role-permission-reorder"),
    path("roles/<str:role_id>/permissions/<str:id>/",
         RolePermissionViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
         name="role-permission-detail"),
]
