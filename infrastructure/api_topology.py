"""REST resources for the cloud's topology below zones: /api/v1/pods/, /api/v1/clusters/,
/api/v1/physical-networks/ and /api/v1/traffic-types/. Root admins only.

Reads through infrastructure.selectors_topology, writes through infrastructure.services_topology, so the
REST API refuses exactly what the CloudStack API and the UI refuse: invalid input is a 400, deleting what
still contains something a 409 (errorcode 536), and in both cases nothing changed. Everything here answers
at once: no hypervisor is involved.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure import services_topology
from infrastructure.api_hosts import _RefSerializer
from infrastructure.models import AllocationState, Cluster, PhysicalNetwork, Pod, TrafficType
from infrastructure.selectors import zone_get
from infrastructure.selectors_topology import (
    cluster_get,
    cluster_list,
    physical_network_get,
    physical_network_list,
    pod_get,
    pod_list,
    traffic_type_get,
    traffic_type_list,
)
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import FilterSet
from portal.rest.viewsets import SelectorViewSet

_IN_USE = OpenApiResponse(ErrorSerializer, description=_("Refused: it still contains something; nothing changed."))
_WRITE_METHODS = ["get", "post", "patch", "delete", "head", "options"]


def _found(field: str, lookup: Any) -> Any:
    """An unknown id in the body is a 400 on that field, not a 404 of the URL the client did reach."""
    try:
        return lookup()
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


def _valid(view: SelectorViewSet, request: Request) -> dict[str, Any]:
    serializer = view.get_serializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _StateActions:
    """POST …/enable/ and …/disable/ for a resource whose update service takes the new state."""

    enabled_value = AllocationState.ENABLED
    disabled_value = AllocationState.DISABLED

    def set_state(self, request: Request, obj: Any, state: str) -> Any:
        raise NotImplementedError

    def _state(self, request: Request, state: str) -> Response:
        obj = self.set_state(request, self.get_object(), state)  # type: ignore[attr-defined]
        return self._render(request, obj)  # type: ignore[attr-defined]


# --- pods -----------------------------------------------------------------------------------------------

class PodSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:pod-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    zone = _RefSerializer(read_only=True)

    class Meta:
        model = Pod
        fields = ["id", "url", "name", "zone", "gateway", "netmask", "start_ip", "end_ip", "allocation_state",
                  "created"]
        read_only_fields = fields


class PodCreateSerializer(serializers.Serializer):
    zone = serializers.UUIDField()
    name = serializers.CharField(max_length=255)
    gateway = serializers.CharField(max_length=64)
    netmask = serializers.CharField(max_length=64)
    start_ip = serializers.CharField(max_length=64, help_text=_("The first address of the pod's range."))
    end_ip = serializers.CharField(max_length=64, required=False, allow_blank=True, default="", help_text=_(
        "The last address of the range; empty: the subnet's last usable address."))
    allocation_state = serializers.ChoiceField(choices=AllocationState.values, default=AllocationState.ENABLED)


class PodUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    gateway = serializers.CharField(max_length=64, required=False)
    netmask = serializers.CharField(max_length=64, required=False)
    start_ip = serializers.CharField(max_length=64, required=False)
    end_ip = serializers.CharField(max_length=64, required=False, allow_blank=True)
    allocation_state = serializers.ChoiceField(choices=AllocationState.values, required=False)


class PodFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only pods in this zone."))
    allocation_state = django_filters.ChoiceFilter(choices=AllocationState.choices,
                                                   help_text=_("Only pods in this allocation state."))

    class Meta:
        model = Pod
        fields = []


class PodViewSet(_StateActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Pods: a zone's racks, each with its own management IP range. Root admins only."""

    queryset = Pod.objects.none()
    serializer_class = PodSerializer
    filterset_class = PodFilterSet
    authz_actions = {"list": "pod.list", "retrieve": "pod.list", "create": "pod.create",
                     "partial_update": "pod.update", "destroy": "pod.delete", "enable": "pod.update",
                     "disable": "pod.update"}
    ordering_fields = ["name", "created"]
    http_method_names = _WRITE_METHODS

    def select(self, caller: User) -> QuerySet[Pod]:
        return pod_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Pod:
        return pod_get(caller=caller, pod_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": PodCreateSerializer, "partial_update": PodUpdateSerializer}.get(self.action,
                                                                                          PodSerializer)

    def _render(self, request: Request, pod: Pod, status: int = 200) -> Response:
        pod = pod_get(caller=request.user, pod_id=pod.uuid)
        return Response(PodSerializer(pod, context=self.get_serializer_context()).data, status=status)

    def set_state(self, request: Request, obj: Pod, state: str) -> Pod:
        return services_topology.pod_update(caller=request.user, pod=obj, allocation_state=state)

    @extend_schema(summary=_("List pods"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a pod"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a pod"), request=PodCreateSerializer, responses={201: PodSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The range must lie in the gateway's subnet, leave out the gateway and overlap no other pod's."""
        data = _valid(self, request)
        zone = _found("zone", lambda: zone_get(caller=request.user, zone_id=data.pop("zone")))
        return self._render(request, services_topology.pod_create(caller=request.user, zone=zone, **data), 201)

    @extend_schema(summary=_("Update a pod"), request=PodUpdateSerializer, responses={200: PodSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(self, request)
        return self._render(request, services_topology.pod_update(caller=request.user, pod=self.get_object(),
                                                                  **data))

    @extend_schema(summary=_("Delete a pod"), responses={204: None, 409: _IN_USE})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Refused (409) while the pod still has clusters or hosts."""
        services_topology.pod_delete(caller=request.user, pod=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Enable a pod"), request=None, responses={200: PodSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._state(request, self.enabled_value)

    @extend_schema(summary=_("Disable a pod"), request=None, responses={200: PodSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """No new VMs are placed in a disabled pod."""
        return self._state(request, self.disabled_value)


# --- clusters -------------------------------------------------------------------------------------------

class ClusterSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:cluster-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    zone = _RefSerializer(read_only=True)
    pod = _RefSerializer(read_only=True)

    class Meta:
        model = Cluster
        fields = ["id", "url", "name", "zone", "pod", "hypervisor_type", "allocation_state",
                  "cpu_overprovisioning", "memory_overprovisioning", "created"]
        read_only_fields = fields


class ClusterCreateSerializer(serializers.Serializer):
    pod = serializers.UUIDField(help_text=_("The pod the cluster belongs to (its zone follows)."))
    name = serializers.CharField(max_length=255)
    hypervisor_type = serializers.ChoiceField(choices=services_topology.HYPERVISOR_TYPES, default="KVM")
    allocation_state = serializers.ChoiceField(choices=AllocationState.values, default=AllocationState.ENABLED)
    cpu_overprovisioning = serializers.FloatField(required=False, allow_null=True, default=None, help_text=_(
        "Default: the global cpu.overprovisioning.factor."))
    memory_overprovisioning = serializers.FloatField(required=False, allow_null=True, default=None, help_text=_(
        "Default: the global mem.overprovisioning.factor."))


class ClusterUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    hypervisor_type = serializers.ChoiceField(choices=services_topology.HYPERVISOR_TYPES, required=False,
                                              help_text=_("Only while the cluster has no hosts."))
    allocation_state = serializers.ChoiceField(choices=AllocationState.values, required=False)
    cpu_overprovisioning = serializers.FloatField(required=False)
    memory_overprovisioning = serializers.FloatField(required=False)


class ClusterFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only clusters in this zone."))
    pod = django_filters.UUIDFilter(field_name="pod__uuid", help_text=_("Only clusters in this pod."))
    hypervisor_type = django_filters.ChoiceFilter(
        choices=[(name, name) for name in services_topology.HYPERVISOR_TYPES],
        help_text=_("Only clusters of this hypervisor."))
    allocation_state = django_filters.ChoiceFilter(choices=AllocationState.choices,
                                                   help_text=_("Only clusters in this allocation state."))

    class Meta:
        model = Cluster
        fields = []


class ClusterViewSet(_StateActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Clusters: hosts of one hypervisor in a pod, sharing overprovisioning factors. Root admins only."""

    queryset = Cluster.objects.none()
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilterSet
    authz_actions = {"list": "cluster.list", "retrieve": "cluster.list", "create": "cluster.add",
                     "partial_update": "cluster.update", "destroy": "cluster.delete", "enable": "cluster.update",
                     "disable": "cluster.update"}
    ordering_fields = ["name", "created"]
    http_method_names = _WRITE_METHODS

    def select(self, caller: User) -> QuerySet[Cluster]:
        return cluster_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Cluster:
        return cluster_get(caller=caller, cluster_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": ClusterCreateSerializer, "partial_update": ClusterUpdateSerializer}.get(
            self.action, ClusterSerializer)

    def _render(self, request: Request, cluster: Cluster, status: int = 200) -> Response:
        cluster = cluster_get(caller=request.user, cluster_id=cluster.uuid)
        return Response(ClusterSerializer(cluster, context=self.get_serializer_context()).data, status=status)

    def set_state(self, request: Request, obj: Cluster, state: str) -> Cluster:
        return services_topology.cluster_update(caller=request.user, cluster=obj, allocation_state=state)

    @extend_schema(summary=_("List clusters"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a cluster"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Add a cluster"), request=ClusterCreateSerializer, responses={201: ClusterSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(self, request)
        pod = _found("pod", lambda: pod_get(caller=request.user, pod_id=data.pop("pod")))
        return self._render(request, services_topology.cluster_add(caller=request.user, pod=pod, **data), 201)

    @extend_schema(summary=_("Update a cluster"), request=ClusterUpdateSerializer,
                   responses={200: ClusterSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(self, request)
        return self._render(request, services_topology.cluster_update(
            caller=request.user, cluster=self.get_object(), **data))

    @extend_schema(summary=_("Delete a cluster"), responses={204: None, 409: _IN_USE})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Refused (409) while the cluster still has hosts or storage pools."""
        services_topology.cluster_delete(caller=request.user, cluster=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Enable a cluster"), request=None, responses={200: ClusterSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._state(request, self.enabled_value)

    @extend_schema(summary=_("Disable a cluster"), request=None, responses={200: ClusterSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """No new VMs are placed in a disabled cluster."""
        return self._state(request, self.disabled_value)


# --- physical networks ----------------------------------------------------------------------------------

class _TrafficSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = TrafficType
        fields = ["id", "traffic_type", "kvm_network_label"]
        read_only_fields = fields


def _csv(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


class PhysicalNetworkSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:physical-network-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    zone = _RefSerializer(read_only=True)
    isolation_methods = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    traffic_types = _TrafficSummarySerializer(many=True, read_only=True)

    class Meta:
        model = PhysicalNetwork
        fields = ["id", "url", "name", "zone", "state", "vlan", "isolation_methods", "broadcast_domain_range",
                  "tags", "network_speed", "traffic_types", "created"]
        read_only_fields = fields

    def get_isolation_methods(self, network: PhysicalNetwork) -> list[str]:
        return _csv(network.isolation_methods)

    def get_tags(self, network: PhysicalNetwork) -> list[str]:
        return _csv(network.tags)


class PhysicalNetworkCreateSerializer(serializers.Serializer):
    zone = serializers.UUIDField()
    name = serializers.CharField(max_length=255)
    vlan = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                 help_text=_("VLAN ranges, e.g. 100-199,300-399."))
    isolation_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=services_topology.ISOLATION_METHODS), required=False, default=list)
    broadcast_domain_range = serializers.ChoiceField(
        choices=services_topology.BROADCAST_DOMAIN_RANGES, required=False, allow_blank=True, default="",
        help_text=_("Default: POD in a Basic zone, ZONE in an Advanced one."))
    tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)
    network_speed = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class PhysicalNetworkUpdateSerializer(serializers.Serializer):
    vlan = serializers.CharField(max_length=255, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    network_speed = serializers.CharField(max_length=32, required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=PhysicalNetwork.State.values, required=False)


class PhysicalNetworkFilterSet(FilterSet):
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only physical networks in this zone."))
    state = django_filters.ChoiceFilter(choices=PhysicalNetwork.State.choices,
                                        help_text=_("Only physical networks in this state."))

    class Meta:
        model = PhysicalNetwork
        fields = []


class PhysicalNetworkViewSet(_StateActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Physical networks of the zones and the traffic they carry. Root admins only."""

    queryset = PhysicalNetwork.objects.none()
    serializer_class = PhysicalNetworkSerializer
    filterset_class = PhysicalNetworkFilterSet
    authz_actions = {"list": "physicalnetwork.list", "retrieve": "physicalnetwork.list",
                     "create": "physicalnetwork.create", "partial_update": "physicalnetwork.update",
                     "destroy": "physicalnetwork.delete", "enable": "physicalnetwork.update",
                     "disable": "physicalnetwork.update"}
    ordering_fields = ["name", "created"]
    http_method_names = _WRITE_METHODS
    enabled_value = PhysicalNetwork.State.ENABLED
    disabled_value = PhysicalNetwork.State.DISABLED

    def select(self, caller: User) -> QuerySet[PhysicalNetwork]:
        return physical_network_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> PhysicalNetwork:
        return physical_network_get(caller=caller, physical_network_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": PhysicalNetworkCreateSerializer, "partial_update": PhysicalNetworkUpdateSerializer}.get(
            self.action, PhysicalNetworkSerializer)

    def _render(self, request: Request, network: PhysicalNetwork, status: int = 200) -> Response:
        network = physical_network_get(caller=request.user, physical_network_id=network.uuid)
        return Response(PhysicalNetworkSerializer(network, context=self.get_serializer_context()).data,
                        status=status)

    def set_state(self, request: Request, obj: PhysicalNetwork, state: str) -> PhysicalNetwork:
        return services_topology.physical_network_update(caller=request.user, physical_network=obj, state=state)

    @extend_schema(summary=_("List physical networks"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a physical network"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Create a physical network"), request=PhysicalNetworkCreateSerializer,
                   responses={201: PhysicalNetworkSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """It starts Disabled; a Basic zone has exactly one."""
        data = _valid(self, request)
        zone = _found("zone", lambda: zone_get(caller=request.user, zone_id=data.pop("zone")))
        network = services_topology.physical_network_create(caller=request.user, zone=zone, **data)
        return self._render(request, network, 201)

    @extend_schema(summary=_("Update a physical network"), request=PhysicalNetworkUpdateSerializer,
                   responses={200: PhysicalNetworkSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(self, request)
        return self._render(request, services_topology.physical_network_update(
            caller=request.user, physical_network=self.get_object(), **data))

    @extend_schema(summary=_("Delete a physical network"), responses={204: None, 409: _IN_USE})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Its traffic types go with it; anything else still using it refuses the delete (409)."""
        services_topology.physical_network_delete(caller=request.user, physical_network=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Enable a physical network"), request=None,
                   responses={200: PhysicalNetworkSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._state(request, self.enabled_value)

    @extend_schema(summary=_("Disable a physical network"), request=None,
                   responses={200: PhysicalNetworkSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._state(request, self.disabled_value)


# --- traffic types --------------------------------------------------------------------------------------

class TrafficTypeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:traffic-type-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    physical_network = _RefSerializer(read_only=True)

    class Meta:
        model = TrafficType
        fields = ["id", "url", "physical_network", "traffic_type", "kvm_network_label", "created"]
        read_only_fields = fields


class TrafficTypeCreateSerializer(serializers.Serializer):
    physical_network = serializers.UUIDField()
    traffic_type = serializers.ChoiceField(choices=TrafficType.Kind.values)
    kvm_network_label = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                              help_text=_("The bridge on the KVM hosts, e.g. cloudbr0."))


class TrafficTypeUpdateSerializer(serializers.Serializer):
    kvm_network_label = serializers.CharField(max_length=255, allow_blank=True)


class TrafficTypeFilterSet(FilterSet):
    physical_network = django_filters.UUIDFilter(field_name="physical_network__uuid",
                                                 help_text=_("Only traffic of this physical network."))

    class Meta:
        model = TrafficType
        fields = []


class TrafficTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """The kinds of traffic (Guest, Management, Public, Storage) each physical network carries. Root admins
    only."""

    queryset = TrafficType.objects.none()
    serializer_class = TrafficTypeSerializer
    filterset_class = TrafficTypeFilterSet
    authz_actions = {"list": "traffictype.list", "retrieve": "traffictype.list", "create": "traffictype.add",
                     "partial_update": "traffictype.update", "destroy": "traffictype.delete"}
    ordering_fields = ["traffic_type", "created"]
    http_method_names = _WRITE_METHODS

    def select(self, caller: User) -> QuerySet[TrafficType]:
        return traffic_type_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> TrafficType:
        return traffic_type_get(caller=caller, traffic_type_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": TrafficTypeCreateSerializer, "partial_update": TrafficTypeUpdateSerializer}.get(
            self.action, TrafficTypeSerializer)

    def _render(self, request: Request, traffic: TrafficType, status: int = 200) -> Response:
        traffic = traffic_type_get(caller=request.user, traffic_type_id=traffic.uuid)
        return Response(TrafficTypeSerializer(traffic, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("List traffic types"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a traffic type"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Add a traffic type to a physical network"), request=TrafficTypeCreateSerializer,
                   responses={201: TrafficTypeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Public, Management and Storage traffic each runs on one physical network of a zone; Guest may span
        several."""
        data = _valid(self, request)
        network = _found("physical_network", lambda: physical_network_get(
            caller=request.user, physical_network_id=data["physical_network"]))
        traffic = services_topology.traffic_type_add(caller=request.user, physical_network=network,
                                                     traffic_type=data["traffic_type"],
                                                     kvm_network_label=data["kvm_network_label"])
        return self._render(request, traffic, 201)

    @extend_schema(summary=_("Change a traffic type's KVM network label"), request=TrafficTypeUpdateSerializer,
                   responses={200: TrafficTypeSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(self, request)
        return self._render(request, services_topology.traffic_type_update(
            caller=request.user, traffic_type=self.get_object(), kvm_network_label=data["kvm_network_label"]))

    @extend_schema(summary=_("Remove a traffic type"), responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_topology.traffic_type_delete(caller=request.user, traffic_type=self.get_object())
        return Response(status=204)
