"""REST resources for primary storage (/api/v1/storage-pools/) and image stores (/api/v1/image-stores/):
root admins only.

Reads through storage.selectors_pools, writes through storage.services_pools and
storage.services_image_stores. Maintenance answers 202 with the job; an RBD pool's secret is write-only
(inside the URL) and never comes back."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure.api_hosts import _RefSerializer
from infrastructure.selectors import zone_get
from infrastructure.selectors_topology import cluster_get
from portal.api import JobSerializer, job_accepted
from portal.authz import can
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import FilterSet
from portal.rest.resources import register_resource
from portal.rest.viewsets import SelectorViewSet
from storage import services_image_stores, services_pools
from storage.models import ImageStore, StoragePool
from storage.selectors_pools import (
    image_store_get,
    image_store_list,
    image_store_size,
    storage_pool_get,
    storage_pool_list,
)

_ACCEPTED = OpenApiResponse(JobSerializer, description=_(
    "Accepted: the job doing the work. Poll its URL (also in the Location header) until it is done."))
_REFUSED = OpenApiResponse(ErrorSerializer, description=_("Not allowed, or the pool is in the wrong state."))
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                             description=_("The URL of the job."))




class StoragePoolSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:storage-pool-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    storage_url = serializers.CharField(source="url", read_only=True, help_text=_(
        "The storage URL as registered (without any secret)."))
    zone = _RefSerializer(read_only=True)
    pod = _RefSerializer(read_only=True, allow_null=True)
    cluster = _RefSerializer(read_only=True, allow_null=True)
    state = serializers.CharField(source="status", read_only=True)
    tags = serializers.ListField(source="tag_list", child=serializers.CharField(), read_only=True)

    class Meta:
        model = StoragePool
        fields = ["id", "url", "name", "storage_url", "zone", "pod", "cluster", "scope", "pool_type", "server",
                  "path", "rbd_user", "state", "tags", "capacity_bytes", "capacity_limit_bytes", "used_bytes",
                  "allocated_bytes", "details", "created"]
        read_only_fields = fields


class StoragePoolCreateSerializer(serializers.Serializer):
    zone = serializers.UUIDField()
    name = serializers.CharField(max_length=255)
    storage_url = serializers.CharField(max_length=2048, help_text=_(
        "filesystem:///path (or /path), nfs://server/export or rbd://user:secret@monitor/pool."))
    scope = serializers.ChoiceField(choices=["CLUSTER", "ZONE"], default="CLUSTER")
    cluster = serializers.UUIDField(required=False, allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)
    capacity_bytes = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    details = serializers.DictField(child=serializers.CharField(max_length=255), required=False, default=dict)


class StoragePoolUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    capacity_bytes = serializers.IntegerField(required=False, min_value=1)
    enabled = serializers.BooleanField(required=False, help_text=_("false disables the pool for new volumes."))


class StoragePoolFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only pools in this zone."))
    cluster = django_filters.UUIDFilter(field_name="cluster__uuid", help_text=_("Only pools of this cluster."))
    scope = django_filters.ChoiceFilter(choices=StoragePool.Scope.choices, help_text=_("Only pools of this scope."))
    state = django_filters.ChoiceFilter(field_name="status", choices=StoragePool.Status.choices,
                                        help_text=_("Only pools in this state."))
    name = django_filters.CharFilter(help_text=_("Only the pool with this name."))

    class Meta:
        model = StoragePool
        fields = []


def _pool_names(caller: User, ids: set[str]) -> dict[str, str]:
    if not can(caller, "storagepool.list"):
        return {}
    return {str(uuid): name for uuid, name in storage_pool_list(caller=caller).filter(uuid__in=ids)
            .values_list("uuid", "name")}


register_resource("storagepool", view_name="rest:storage-pool-detail", names=_pool_names)


def _found(field: str, lookup: Any) -> Any:
    try:
        return lookup()
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


class StoragePoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Primary storage: libvirt pools defined on every host of their cluster or zone. Root admins only."""

    queryset = StoragePool.objects.none()
    serializer_class = StoragePoolSerializer
    filterset_class = StoragePoolFilterSet
    authz_actions = {"list": "storagepool.list", "retrieve": "storagepool.list", "create": "storagepool.create",
                     "partial_update": "storagepool.update", "destroy": "storagepool.delete",
                     "maintenance": "storagepool.maintenance", "cancel_maintenance": "storagepool.maintenance"}
    ordering_fields = ["name", "status", "scope", "created", "capacity_bytes"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> Any:
        return storage_pool_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> StoragePool:
        return storage_pool_get(caller=caller, pool_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": StoragePoolCreateSerializer, "partial_update": StoragePoolUpdateSerializer}.get(
            self.action, StoragePoolSerializer)

    def _render(self, request: Request, pool: StoragePool, status: int = 200) -> Response:
        pool = storage_pool_get(caller=request.user, pool_id=pool.uuid)
        return Response(StoragePoolSerializer(pool, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("List storage pools"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a storage pool"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a storage pool"), request=StoragePoolCreateSerializer,
                   responses={201: StoragePoolSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The hosts in the pool's scope define it in background jobs; its capacity follows their reports."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        zone = _found("zone", lambda: zone_get(caller=request.user, zone_id=data["zone"]))
        cluster = (_found("cluster", lambda: cluster_get(caller=request.user, cluster_id=data["cluster"]))
                   if data["cluster"] else None)
        pool = services_pools.storage_pool_create(
            caller=request.user, zone=zone, name=data["name"], url=data["storage_url"], scope=data["scope"],
            cluster=cluster, tags=data["tags"], capacity_bytes=data["capacity_bytes"], details=data["details"])
        return self._render(request, pool, status=201)

    @extend_schema(summary=_("Rename, retag, resize, enable or disable a storage pool"),
                   request=StoragePoolUpdateSerializer, responses={200: StoragePoolSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pool = services_pools.storage_pool_update(
            caller=request.user, pool=self.get_object(), name=data.get("name"), tags=data.get("tags"),
            capacity_bytes=data.get("capacity_bytes"), enabled=data.get("enabled"))
        return self._render(request, pool)

    @extend_schema(summary=_("Delete a storage pool"), responses={204: None, 409: _REFUSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_pools.storage_pool_delete(caller=request.user, pool=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Put a storage pool into maintenance"), request=None, parameters=[_LOCATION],
                   responses={202: _ACCEPTED, 409: _REFUSED})
    @action(detail=True, methods=["post"])
    def maintenance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_pools.storage_pool_enable_maintenance(caller=request.user,
                                                                                    pool=self.get_object()))

    @extend_schema(summary=_("Take a storage pool out of maintenance"), request=None, parameters=[_LOCATION],
                   responses={202: _ACCEPTED, 409: _REFUSED})
    @action(detail=True, methods=["post"], url_path="cancel-maintenance")
    def cancel_maintenance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_pools.storage_pool_cancel_maintenance(caller=request.user,
                                                                                    pool=self.get_object()))


# --- image stores ---------------------------------------------------------------------------------------


class ImageStoreSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:image-store-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    storage_url = serializers.CharField(source="url", read_only=True)
    zone = _RefSerializer(read_only=True, allow_null=True)
    capacity_bytes = serializers.SerializerMethodField()
    used_bytes = serializers.SerializerMethodField()

    class Meta:
        model = ImageStore
        fields = ["id", "url", "name", "storage_url", "zone", "provider", "protocol", "server", "path",
                  "read_only", "capacity_bytes", "used_bytes", "created"]
        read_only_fields = fields

    def get_capacity_bytes(self, store: ImageStore) -> int:
        return image_store_size(store)[0]

    def get_used_bytes(self, store: ImageStore) -> int:
        return image_store_size(store)[1]


class ImageStoreCreateSerializer(serializers.Serializer):
    zone = serializers.UUIDField()
    name = serializers.CharField(max_length=255)
    storage_url = serializers.CharField(max_length=2048, help_text=_("nfs://server/path or file:///path."))
    provider = serializers.ChoiceField(choices=ImageStore.Provider.values, default=ImageStore.Provider.NFS)


class ImageStoreFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only stores of this zone."))
    provider = django_filters.ChoiceFilter(choices=ImageStore.Provider.choices,
                                           help_text=_("Only stores of this provider."))

    class Meta:
        model = ImageStore
        fields = []


class ImageStoreViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Secondary storage of the zones (templates, ISOs, snapshot backups). Root admins only."""

    queryset = ImageStore.objects.none()
    serializer_class = ImageStoreSerializer
    filterset_class = ImageStoreFilterSet
    authz_actions = {"list": "imagestore.list", "retrieve": "imagestore.list", "create": "imagestore.add",
                     "destroy": "imagestore.delete"}
    ordering_fields = ["name", "created"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def select(self, caller: User) -> Any:
        return image_store_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> ImageStore:
        return image_store_get(caller=caller, store_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ImageStoreCreateSerializer if self.action == "create" else ImageStoreSerializer

    @extend_schema(summary=_("List image stores"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show an image store"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Add an image store"), request=ImageStoreCreateSerializer,
                   responses={201: ImageStoreSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        zone = _found("zone", lambda: zone_get(caller=request.user, zone_id=data["zone"]))
        store = services_image_stores.image_store_add(caller=request.user, zone=zone, name=data["name"],
                                                      url=data["storage_url"], provider=data["provider"])
        store = image_store_get(caller=request.user, store_id=store.uuid)
        return Response(ImageStoreSerializer(store, context=self.get_serializer_context()).data, status=201)

    @extend_schema(summary=_("Delete an image store"), responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_image_stores.image_store_delete(caller=request.user, store=self.get_object())
        return Response(status=204)
