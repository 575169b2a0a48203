"""REST resource for disk offerings (/api/v1/disk-offerings/): everyone lists and reads the offerings their
domain may use; root admins also create, update (PATCH) and delete them.

Reads through storage.selectors_disk_offerings, writes through storage.services_disk_offerings; every write
answers at once (no hypervisor is involved). Sizes are in GiB on the way in, bytes on the way out.
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
from accounts.models import User
from compute.api_offerings import DomainListMixin, tags_field
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import FilterSet, StrictBooleanFilter
from portal.rest.viewsets import SelectorViewSet
from storage import services_disk_offerings
from storage.models import DiskOffering
from storage.selectors_disk_offerings import disk_offering_get, disk_offering_list

_REFUSED = OpenApiResponse(ErrorSerializer, description=_("Invalid values, or not allowed."))
RATES = ("iops_read_rate", "iops_write_rate", "bytes_read_rate", "bytes_write_rate")


class DiskOfferingSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:disk-offering-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    domains = DomainRefSerializer(many=True, read_only=True, help_text=_(
        "Offered only to these domains and their subdomains; empty: to every domain."))

    class Meta:
        model = DiskOffering
        fields = ["id", "url", "name", "display_text", "disk_size", "is_customized", "storage_type", "storage_tags",
                  *RATES, "display_offering", "domains", "created"]
        read_only_fields = fields


def _rate_field() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, min_value=0, help_text=_(
        "Per second; empty or 0: unlimited."))


class DiskOfferingCreateSerializer(DomainListMixin):
    name = serializers.CharField(max_length=255)
    display_text = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="")
    disk_size_gb = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=_(
        "GiB; leave out for a custom-size offering."))
    customized = serializers.BooleanField(required=False, allow_null=True, default=None, help_text=_(
        "The user chooses the size. Left out: custom when disk_size_gb is left out."))
    storage_type = serializers.ChoiceField(choices=DiskOffering.StorageType.choices, required=False,
                                           default=DiskOffering.StorageType.SHARED)
    storage_tags = tags_field()
    iops_read_rate = _rate_field()
    iops_write_rate = _rate_field()
    bytes_read_rate = _rate_field()
    bytes_write_rate = _rate_field()
    display_offering = serializers.BooleanField(required=False, default=True, help_text=_(
        "Shown to end users."))


class DiskOfferingUpdateSerializer(DomainListMixin):
    name = serializers.CharField(max_length=255, required=False)
    display_text = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    storage_tags = tags_field()
    display_offering = serializers.BooleanField(required=False)
    iops_read_rate = _rate_field()
    iops_write_rate = _rate_field()
    bytes_read_rate = _rate_field()
    bytes_write_rate = _rate_field()


class DiskOfferingFilterSet(FilterSet):
    is_customized = StrictBooleanFilter(help_text=_("Custom-size offerings or fixed ones."))
    storage_type = django_filters.ChoiceFilter(choices=DiskOffering.StorageType.choices,
                                               help_text=_("Only offerings of this storage type."))
    domain = django_filters.UUIDFilter(field_name="domains__uuid", help_text=_(
        "Only the offerings limited to this domain."))

    class Meta:
        model = DiskOffering
        fields = []


class DiskOfferingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Disk offerings: the sizes, storage tags and I/O limits of data disks (and of an ISO deploy's root disk)."""

    queryset = DiskOffering.objects.none()
    serializer_class = DiskOfferingSerializer
    filterset_class = DiskOfferingFilterSet
    authz_actions = {"list": "diskoffering.list", "retrieve": "diskoffering.list",
                     "create": "diskoffering.create", "partial_update": "diskoffering.update",
                     "destroy": "diskoffering.delete"}
    ordering_fields = ["name", "disk_size", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[DiskOffering]:
        return disk_offering_list(caller=caller).prefetch_related("domains")

    def fetch(self, caller: User, object_id: str) -> DiskOffering:
        return disk_offering_get(caller=caller, offering_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": DiskOfferingCreateSerializer, "partial_update": DiskOfferingUpdateSerializer}.get(
            self.action, DiskOfferingSerializer)

    def _render(self, request: Request, offering: DiskOffering, status: int = 200) -> Response:
        fresh = disk_offering_get(caller=request.user, offering_id=str(offering.uuid))
        return Response(DiskOfferingSerializer(fresh, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("List disk offerings"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a disk offering"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a disk offering"), request=DiskOfferingCreateSerializer,
                   responses={201: DiskOfferingSerializer, 400: _REFUSED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("domains", [])
        data.setdefault("storage_tags", [])
        offering = services_disk_offerings.disk_offering_create(caller=request.user, **data)
        return self._render(request, offering, 201)

    @extend_schema(summary=_("Update a disk offering"), request=DiskOfferingUpdateSerializer,
                   responses={200: DiskOfferingSerializer, 400: _REFUSED})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Names, tags, domains, visibility and I/O limits (null or 0 lifts one); the size never changes."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        rates = {field: data.pop(field) for field in RATES if field in data}
        offering = services_disk_offerings.disk_offering_update(caller=request.user, offering=self.get_object(),
                                                                rates=rates, **data)
        return self._render(request, offering)

    @extend_schema(summary=_("Delete a disk offering"), responses={204: None, 400: _REFUSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The offering leaves every list and cannot be chosen; disks made from it keep it."""
        services_disk_offerings.disk_offering_delete(caller=request.user, offering=self.get_object())
        return Response(status=204)
