"""REST resource for compute offerings (/api/v1/service-offerings/): everyone lists and reads the offerings
their domain may use; root admins also create, update (PATCH) and delete them.

Reads through compute.selectors, writes through compute.services_offerings. No hypervisor is involved, so
every write answers at once. A deleted offering disappears from the list (VMs that use it keep it).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_tenancy import DomainRefSerializer
from accounts.models import Domain, User
from accounts.selectors import domain_get
from compute import selectors, services_offerings
from compute.models import ServiceOffering
from portal.authz import can
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import FilterSet, StrictBooleanFilter
from portal.rest.viewsets import SelectorViewSet

_REFUSED = OpenApiResponse(ErrorSerializer, description=_("Invalid values, or not allowed."))


class ServiceOfferingSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:service-offering-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    is_customized = serializers.BooleanField(read_only=True, help_text=_(
        "The deployer chooses CPU number and memory (and CPU speed when the offering leaves it open)."))
    domains = DomainRefSerializer(many=True, read_only=True, help_text=_(
        "Offered only to these domains and their subdomains; empty: to every domain."))

    class Meta:
        model = ServiceOffering
        fields = ["id", "url", "name", "display_text", "cpu_number", "cpu_speed", "memory", "min_cpu_number",
                  "max_cpu_number", "min_memory", "max_memory", "is_customized", "root_disk_size", "offer_ha",
                  "limit_cpu_use", "is_volatile", "dynamic_scaling_enabled", "is_system", "system_vm_type",
                  "storage_type", "host_tags", "storage_tags", "deployment_planner", "domains", "created"]
        read_only_fields = fields


def tags_field() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=255), required=False)


class DomainListMixin(serializers.Serializer):
    domains = serializers.ListField(child=serializers.UUIDField(), required=False, help_text=_(
        "Ids of the domains the offering is limited to; empty: every domain."))

    def validate_domains(self, value: list[Any]) -> list[Domain]:
        caller = self.context["request"].user
        try:
            return [domain_get(caller=caller, domain_id=str(domain_id)) for domain_id in value]
        except NotFound as exc:
            raise serializers.ValidationError(exc.message) from exc


class ServiceOfferingCreateSerializer(DomainListMixin):
    name = serializers.CharField(max_length=255)
    display_text = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="")
    customized = serializers.BooleanField(required=False, allow_null=True, default=None, help_text=_(
        "Let the deployer choose CPU and memory. Left out: custom when cpu_number and memory are left out."))
    cpu_number = serializers.IntegerField(required=False, allow_null=True, default=None)
    cpu_speed = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("MHz."))
    memory = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_("MiB."))
    min_cpu_number = serializers.IntegerField(required=False, allow_null=True, default=None)
    max_cpu_number = serializers.IntegerField(required=False, allow_null=True, default=None)
    min_memory = serializers.IntegerField(required=False, allow_null=True, default=None)
    max_memory = serializers.IntegerField(required=False, allow_null=True, default=None)
    offer_ha = serializers.BooleanField(required=False, default=False)
    limit_cpu_use = serializers.BooleanField(required=False, default=False, help_text=_(
        "Cap the VM's CPU at its speed."))
    is_volatile = serializers.BooleanField(required=False, default=False, help_text=_(
        "A fresh root disk from the template on every reboot."))
    dynamic_scaling_enabled = serializers.BooleanField(required=False, default=True)
    is_system = serializers.BooleanField(required=False, default=False)
    system_vm_type = serializers.ChoiceField(choices=ServiceOffering.SystemVmType.choices, required=False,
                                             allow_blank=True, default="")
    storage_type = serializers.ChoiceField(choices=ServiceOffering.StorageType.choices, required=False,
                                           default=ServiceOffering.StorageType.SHARED)
    host_tags = tags_field()
    storage_tags = tags_field()
    deployment_planner = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    root_disk_size_gb = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_(
        "GiB; empty: the template's size."))


class ServiceOfferingUpdateSerializer(DomainListMixin):
    name = serializers.CharField(max_length=255, required=False)
    display_text = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    host_tags = tags_field()
    storage_tags = tags_field()


class ServiceOfferingFilterSet(FilterSet):
    is_system = StrictBooleanFilter(help_text=_("System VM offerings (root admins) or the others."))
    is_customized = StrictBooleanFilter(method="filter_customized", help_text=_("Custom offerings or fixed ones."))
    domain = django_filters.UUIDFilter(field_name="domains__uuid", help_text=_(
        "Only the offerings limited to this domain."))

    class Meta:
        model = ServiceOffering
        fields = []

    def filter_customized(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        fixed = queryset.filter(cpu_number__isnull=False, cpu_speed__isnull=False, memory__isnull=False)
        return queryset.exclude(pk__in=fixed.values("pk")) if value else fixed


class ServiceOfferingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Compute offerings (CPU and memory sizes) you may deploy virtual machines with."""

    queryset = ServiceOffering.objects.none()  # the model, for the schema; rows come from the selectors
    serializer_class = ServiceOfferingSerializer
    filterset_class = ServiceOfferingFilterSet
    authz_actions = {"list": "offering.list", "retrieve": "offering.list", "create": "offering.create",
                     "partial_update": "offering.update", "destroy": "offering.delete"}
    ordering_fields = ["name", "cpu_number", "memory", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[ServiceOffering]:
        offerings = selectors.offering_list(caller=caller).prefetch_related("domains")
        # System VM offerings are the root admin's business (as listServiceOfferings' issystem).
        return offerings if can(caller, "offering.create") else offerings.filter(is_system=False)

    def fetch(self, caller: User, object_id: str) -> ServiceOffering:
        return selectors.offering_get(caller=caller, offering_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": ServiceOfferingCreateSerializer, "partial_update": ServiceOfferingUpdateSerializer}.get(
            self.action, ServiceOfferingSerializer)

    def _render(self, request: Request, offering: ServiceOffering, status: int = 200) -> Response:
        fresh = selectors.offering_get(caller=request.user, offering_id=str(offering.uuid))
        return Response(ServiceOfferingSerializer(fresh, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("List compute offerings"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a compute offering"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a compute offering"), request=ServiceOfferingCreateSerializer,
                   responses={201: ServiceOfferingSerializer, 400: _REFUSED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Fixed (cpu_number, cpu_speed, memory), custom constrained (customized, cpu_speed and the four
        bounds) or custom unconstrained (customized only), by CloudStack's createServiceOffering rules."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["domains"] = data.get("domains", [])
        data.setdefault("host_tags", [])
        data.setdefault("storage_tags", [])
        return self._render(request, services_offerings.offering_create(caller=request.user, **data), 201)

    @extend_schema(summary=_("Rename, retag or re-scope a compute offering"),
                   request=ServiceOfferingUpdateSerializer, responses={200: ServiceOfferingSerializer, 400: _REFUSED})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Sizes never change (VMs were sized by them): create another offering instead."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offering = services_offerings.offering_update(caller=request.user, offering=self.get_object(),
                                                      **serializer.validated_data)
        return self._render(request, offering)

    @extend_schema(summary=_("Delete a compute offering"), responses={204: None, 400: _REFUSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The offering leaves every list and cannot be chosen; VMs that use it keep it."""
        services_offerings.offering_delete(caller=request.user, offering=self.get_object())
        return Response(status=204)
