"""REST resource of affinity groups (/api/v1/affinity-groups/): reads through compute.selectors_affinity,
writes through compute.services_affinity (changing a VM's groups is updateVMAffinityGroup's, CloudStack only
for now)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from compute import selectors_affinity, services_affinity
from compute.models import AffinityGroup
from portal.rest.viewsets import SelectorViewSet


class AffinityGroupSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    type = serializers.CharField(source="group_type", read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="domain.cloudstack_path", read_only=True)
    virtual_machines = serializers.SerializerMethodField()

    class Meta:
        model = AffinityGroup
        fields = ["id", "name", "description", "type", "account", "domain", "virtual_machines", "created"]
        read_only_fields = fields

    def get_virtual_machines(self, group: AffinityGroup) -> list[str]:
        members = getattr(group, "live_members", None)
        if members is None:
            members = group.virtual_machines.filter(removed__isnull=True)
        return [str(vm.uuid) for vm in members]


class AffinityGroupCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    type = serializers.CharField(max_length=32, help_text=_(
        "\"host anti-affinity\" (VMs on different hosts) or \"host affinity\" (VMs on one host)."))
    description = serializers.CharField(required=False, allow_blank=True, max_length=4096)


class AffinityGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Affinity groups: VMs of a group go to one host (host affinity) or to different hosts (anti-affinity)."""

    queryset = AffinityGroup.objects.none()
    serializer_class = AffinityGroupSerializer
    authz_actions = {"list": "affinity.list", "retrieve": "affinity.list", "create": "affinity.create",
                     "destroy": "affinity.delete"}
    ordering_fields = ["name", "created"]

    def select(self, caller: User) -> QuerySet[AffinityGroup]:
        return selectors_affinity.affinity_group_list(caller=caller, with_members=True)

    def fetch(self, caller: User, object_id: str) -> AffinityGroup:
        return selectors_affinity.affinity_group_get(caller=caller, group_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return AffinityGroupCreateSerializer if self.action == "create" else AffinityGroupSerializer

    @extend_schema(summary=_("Create an affinity group"), request=AffinityGroupCreateSerializer,
                   responses={201: AffinityGroupSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        group, _job = services_affinity.affinity_group_create(
            caller=request.user, name=data["name"], group_type=data["type"],
            description=data.get("description", ""))
        return Response(AffinityGroupSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("Delete an affinity group (its VMs leave it)"), responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_affinity.affinity_group_delete(caller=request.user, group=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
