"""REST resources of resource limits: /api/v1/resource-limits/ (list one account's or domain's limits with
their counts; POST or PATCH sets one limit) and /api/v1/resource-counts/recalculate/ (CloudStack's
updateResourceCount).

Unlike the CloudStack API (which shows storage limits in GiB), this API keeps every amount in the unit it
is counted in: storage in bytes, memory in MiB. -1 means unlimited.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.limits import UNLIMITED, ResourceType
from accounts.models import Account, Domain, User
from accounts.selectors import domain_get
from accounts.selectors_limit_usage import ResourceUsage, resource_usage_list
from accounts.selectors_tenancy import account_get
from accounts.services_limits import resource_count_recalculate, resource_limit_update
from portal.errors import NotFound

TYPE_NAMES = [label for _value, label in ResourceType.choices]


class OwnerRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)


class ResourceLimitSerializer(serializers.Serializer):
    account = OwnerRefSerializer(read_only=True, allow_null=True, help_text=gettext_lazy(
        "The account; null for a domain's own limits."))
    domain = serializers.SerializerMethodField()
    resource_type = serializers.CharField(source="type_name", read_only=True, help_text=gettext_lazy(
        "user_vm, public_ip, volume, snapshot, template, network, cpu, memory (MiB), primary_storage and "
        "secondary_storage (bytes)."))
    max = serializers.IntegerField(read_only=True, help_text=gettext_lazy(
        "The limit of the account or domain itself; -1 is unlimited."))
    count = serializers.IntegerField(read_only=True, help_text=gettext_lazy(
        "What is in use now (for a domain: its whole subtree)."))
    effective_max = serializers.IntegerField(read_only=True, help_text=gettext_lazy(
        "The cap that applies: the tightest of max and the ancestor domains' limits; -1 is unlimited."))
    effective_max_domain = serializers.CharField(source="effective_owner", read_only=True, help_text=gettext_lazy(
        "The ancestor domain whose limit is effective_max; empty when it is max itself."))

    def get_domain(self, row: ResourceUsage) -> dict[str, str]:
        return {"id": str(row.domain.uuid), "name": row.domain.name, "path": row.domain.cloudstack_path}


class OwnerSerializer(serializers.Serializer):
    account = serializers.UUIDField(required=False, help_text=gettext_lazy("Id of the account."))
    domain = serializers.UUIDField(required=False, help_text=gettext_lazy(
        "Id of the domain (without account: the domain's own limits)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Resolve through the caller-scoped selectors: another tenant's id is an unknown id."""
        if attrs.get("account") and attrs.get("domain"):
            raise serializers.ValidationError(_("Give either account or domain, not both."))
        caller: User = self.context["request"].user
        account: Account | None = None
        domain: Domain | None = None
        try:
            if attrs.get("account"):
                account = account_get(caller=caller, account_id=str(attrs["account"]))
            elif attrs.get("domain"):
                domain = domain_get(caller=caller, domain_id=str(attrs["domain"]))
        except NotFound as exc:
            raise serializers.ValidationError({"account" if attrs.get("account") else "domain": [exc.message]}
                                              ) from exc
        return {**attrs, "account": account, "domain": domain}


class ResourceLimitUpdateSerializer(OwnerSerializer):
    resource_type = serializers.ChoiceField(choices=TYPE_NAMES)
    max = serializers.IntegerField(min_value=UNLIMITED, help_text=gettext_lazy("The new limit; -1 is unlimited."))


class RecalculateSerializer(OwnerSerializer):
    resource_type = serializers.ChoiceField(choices=TYPE_NAMES, required=False, help_text=gettext_lazy(
        "Only this type (default: every type)."))


class ResourceCountSerializer(serializers.Serializer):
    resource_type = serializers.CharField()
    count = serializers.IntegerField()


def _type_value(name: str) -> int:
    return next(value for value, label in ResourceType.choices if label == name)


_OWNER_PARAMETERS = [
    OpenApiParameter("account", OpenApiTypes.UUID, description=gettext_lazy(
        "The account's limits (default: your own account).")),
    OpenApiParameter("domain", OpenApiTypes.UUID, description=gettext_lazy("The domain's own limits.")),
]


class ResourceLimitView(GenericAPIView):
    """Resource limits of an account or a domain, with current counts and the cap that really applies."""

    serializer_class = ResourceLimitSerializer
    pagination_class = None  # one row per resource type: a short fixed list
    authz_actions = {"get": "limit.list", "post": "limit.update", "patch": "limit.update"}

    def _owner(self, data: Any) -> dict[str, Any]:
        owner = OwnerSerializer(data={k: v for k, v in data.items() if k in ("account", "domain")},
                                context=self.get_serializer_context())
        owner.is_valid(raise_exception=True)
        return {"account": owner.validated_data["account"], "domain": owner.validated_data["domain"]}

    @extend_schema(summary=gettext_lazy("List resource limits"), parameters=_OWNER_PARAMETERS,
                   responses={200: ResourceLimitSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Every resource type, in CloudStack's order; a short fixed list, so not paged."""
        rows = resource_usage_list(caller=request.user, **self._owner(request.query_params))
        return Response(ResourceLimitSerializer(rows, many=True).data)

    @extend_schema(summary=gettext_lazy("Set a resource limit"), request=ResourceLimitUpdateSerializer,
                   responses={200: ResourceLimitSerializer})
    def post(self, request: Request) -> Response:
        serializer = ResourceLimitUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account, domain = data["account"], data["domain"]
        if account is None and domain is None:
            raise serializers.ValidationError(_("Give the account or the domain whose limit to set."))
        resource_type = _type_value(data["resource_type"])
        resource_limit_update(caller=request.user, account=account, domain=domain, resource_type=resource_type,
                              max=data["max"])
        rows = resource_usage_list(caller=request.user, account=account, domain=domain)
        row = next(row for row in rows if row.resource_type == resource_type)
        return Response(ResourceLimitSerializer(row).data)

    @extend_schema(summary=gettext_lazy("Set a resource limit"), request=ResourceLimitUpdateSerializer,
                   responses={200: ResourceLimitSerializer})
    def patch(self, request: Request) -> Response:
        return self.post(request)


class ResourceCountRecalculateView(APIView):
    """Recount what an account or a domain (and its subtree) really uses."""

    authz_actions = {"post": "count.update"}

    @extend_schema(summary=gettext_lazy("Recalculate resource counts"), request=RecalculateSerializer,
                   responses={200: ResourceCountSerializer(many=True)})
    def post(self, request: Request) -> Response:
        """Answers the named account's or domain's new counts; for a domain its whole subtree was recounted."""
        serializer = RecalculateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account, domain = data["account"], data["domain"]
        if account is None and domain is None:
            raise serializers.ValidationError(_("Give the account or the domain to recalculate."))
        name = data.get("resource_type")
        counters = resource_count_recalculate(caller=request.user, account=account, domain=domain,
                                              resource_type=_type_value(name) if name else None)
        own = [c for c in counters if (c.account_id == account.pk if account is not None
                                       else c.domain_id == domain.pk)]
        return Response(ResourceCountSerializer(
            [{"resource_type": ResourceType(c.resource_type).label, "count": c.count} for c in own],
            many=True).data)


# Mounted by portal.rest.urls next to the router's routes.
urlpatterns = [
    path("resource-limits/", ResourceLimitView.as_view(), name="resource-limits"),
    path("resource-counts/recalculate/", ResourceCountRecalculateView.as_view(),
         name="resource-counts-recalculate"),
]
