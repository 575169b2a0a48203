"""REST resource for hosts (/api/v1/hosts/): root admins only.

Reads through infrastructure.selectors_hosts, writes through infrastructure.services_hosts. Adding a host,
reconnecting it and (cancelling) maintenance are hypervisor work on the host's queue: they answer 202 with
the job. Credentials are write-only: the password never comes back.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure import services_hosts
from infrastructure.models import Host
from infrastructure.selectors_hosts import host_get, host_list, host_search
from infrastructure.selectors_topology import cluster_get
from portal.api import JobSerializer, job_accepted
from portal.authz import can
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import FilterSet
from portal.rest.resources import register_resource
from portal.rest.viewsets import SelectorViewSet

_ACCEPTED = OpenApiResponse(JobSerializer, description=_(
    "Accepted: the job doing the work. Poll its URL (also in the Location header) until it is done."))
_REFUSED = OpenApiResponse(ErrorSerializer, description=_("Not allowed, or the host is in the wrong state."))
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                             description=_("The URL of the job."))


def _job_schema(summary: str, request: Any = None) -> Any:
    return extend_schema(summary=summary, request=request, parameters=[_LOCATION],
                         responses={202: _ACCEPTED, 409: _REFUSED})


class _RefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)


class HostSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:host-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    uri = serializers.CharField(source="url", read_only=True, help_text=_("The libvirt URI."))
    zone = _RefSerializer(read_only=True)
    pod = _RefSerializer(read_only=True)
    cluster = _RefSerializer(read_only=True)
    state = serializers.CharField(source="status", read_only=True)
    host_tags = serializers.ListField(source="tag_list", child=serializers.CharField(), read_only=True)
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = Host
        fields = ["id", "url", "name", "uri", "zone", "pod", "cluster", "state", "resource_state", "host_tags",
                  "domain_type", "hypervisor_version", "cpu_model", "capabilities", "cpu_sockets", "cpu_cores",
                  "cpu_speed", "cpu_allocated", "memory_total", "memory_allocated", "username", "has_password",
                  "last_seen", "disconnected", "created"]
        read_only_fields = fields

    def get_has_password(self, host: Host) -> bool:
        return bool(host.password_encrypted)


class HostCreateSerializer(serializers.Serializer):
    cluster = serializers.UUIDField(help_text=_("The cluster the host joins (its pod and zone follow)."))
    name = serializers.CharField(max_length=255)
    uri = serializers.CharField(max_length=1024, help_text=_(
        "The libvirt URI: qemu+tcp://, qemu+ssh://, qemu+tls://, qemu:///system or test:///..."))
    username = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    password = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                     write_only=True, style={"input_type": "password"})
    host_tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)


class HostUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    host_tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    allocation_state = serializers.ChoiceField(choices=["Enable", "Disable"], required=False, help_text=_(
        "Enable or Disable the host for new VMs (CloudStack's allocationstate)."))


class HostFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only hosts in this zone."))
    pod = django_filters.UUIDFilter(field_name="pod__uuid", help_text=_("Only hosts in this pod."))
    cluster = django_filters.UUIDFilter(field_name="cluster__uuid", help_text=_("Only hosts in this cluster."))
    state = django_filters.ChoiceFilter(field_name="status", choices=Host.Status.choices,
                                        help_text=_("Only hosts in this state."))
    resource_state = django_filters.ChoiceFilter(choices=Host.ResourceState.choices,
                                                 help_text=_("Only hosts in this resource state."))
    host_tag = django_filters.CharFilter(method="filter_host_tag", help_text=_("Only hosts with this tag."))

    class Meta:
        model = Host
        fields = []

    def filter_host_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(pk__in=host_search(caller=self.caller, host_tag=value).values("pk"))


def _host_names(caller: User, ids: set[str]) -> dict[str, str]:
    if not can(caller, "host.list"):
        return {}
    return {str(uuid): name for uuid, name in host_list(caller=caller).filter(uuid__in=ids)
            .values_list("uuid", "name")}


register_resource("host", view_name="rest:host-detail", names=_host_names)

_FORCED = OpenApiParameter("forced", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description=_(
    "Delete a host that is not Up even though VMs are recorded as running there (they are recorded Stopped)."))


class HostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Hypervisor hosts, each a libvirt URI: root admins only."""

    queryset = Host.objects.none()
    serializer_class = HostSerializer
    filterset_class = HostFilterSet
    authz_actions = {"list": "host.list", "retrieve": "host.list", "create": "host.add",
                     "partial_update": "host.update", "destroy": "host.delete", "reconnect": "host.reconnect",
                     "maintenance": "host.maintenance", "cancel_maintenance": "host.maintenance"}
    ordering_fields = ["name", "status", "resource_state", "created", "last_seen"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[Host]:
        return host_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Host:
        return host_get(caller=caller, host_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": HostCreateSerializer, "partial_update": HostUpdateSerializer}.get(
            self.action, HostSerializer)

    @extend_schema(summary=_("List hosts"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a host"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @_job_schema(_("Add a host by its libvirt URI"), HostCreateSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The host is registered Connecting; the job connects to it and brings it Up. The new host's id is the
        job's resource.id."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            cluster = cluster_get(caller=request.user, cluster_id=data["cluster"])
        except NotFound as exc:
            raise serializers.ValidationError({"cluster": [exc.message]}) from exc
        _host, job = services_hosts.host_add(
            caller=request.user, cluster=cluster, name=data["name"], url=data["uri"], username=data["username"],
            password=data["password"], host_tags=data["host_tags"])
        return job_accepted(request, job)

    @extend_schema(summary=_("Rename, retag, enable or disable a host"), request=HostUpdateSerializer,
                   responses={200: HostSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        host = services_hosts.host_update(caller=request.user, host=self.get_object(), name=data.get("name"),
                                          host_tags=data.get("host_tags"),
                                          allocation_state=data.get("allocation_state"))
        return Response(HostSerializer(host_get(caller=request.user, host_id=host.uuid),
                                       context=self.get_serializer_context()).data)

    @extend_schema(summary=_("Delete a host"), parameters=[_FORCED], responses={204: None, 409: _REFUSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        forced = serializers.BooleanField().to_internal_value(request.query_params.get("forced", "false"))
        services_hosts.host_delete(caller=request.user, host=self.get_object(), forced=forced)
        return Response(status=204)

    @_job_schema(_("Reconnect a host"))
    @action(detail=True, methods=["post"])
    def reconnect(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_hosts.host_reconnect(caller=request.user, host=self.get_object()))

    @_job_schema(_("Prepare a host for maintenance"))
    @action(detail=True, methods=["post"])
    def maintenance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_hosts.host_prepare_maintenance(caller=request.user,
                                                                             host=self.get_object()))

    @_job_schema(_("Cancel a host's maintenance"))
    @action(detail=True, methods=["post"], url_path="cancel-maintenance")
    def cancel_maintenance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_hosts.host_cancel_maintenance(caller=request.user,
                                                                            host=self.get_object()))
