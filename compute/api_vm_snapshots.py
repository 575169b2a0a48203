"""REST resource of VM snapshots (/api/v1/vm-snapshots/): list and retrieve through
compute.selectors_vm_snapshots; create (POST), DELETE and POST {id}/revert/ through compute.services_vm_snapshots,
each answering 202 with the job that does the host work."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from compute import services_vm_snapshots
from compute.api import _action_schema
from compute.models import VMSnapshot
from compute.selectors import vm_get
from compute.selectors_vm_snapshots import vm_snapshot_get, vm_snapshot_list
from compute.states import VmSnapshotState
from portal.api import job_accepted
from portal.rest.filters import CaseInsensitiveChoiceFilter, FilterSet
from portal.rest.resources import register_resource
from portal.rest.viewsets import SelectorViewSet


class _VmRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:virtual-machine-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class VMSnapshotSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:vm-snapshot-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    virtual_machine = _VmRefSerializer(read_only=True)
    type = serializers.CharField(source="snapshot_type", read_only=True, help_text=_(
        "Disk, or DiskAndMemory (taken of a running VM with its memory)."))
    parent = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    service_offering = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True, help_text=_(
        "The offering the VM had when the snapshot was taken; reverting gives it back."))
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="domain.cloudstack_path", read_only=True)

    class Meta:
        model = VMSnapshot
        fields = ["id", "url", "name", "display_name", "description", "state", "type", "current", "parent",
                  "virtual_machine", "service_offering", "cpu_number", "cpu_speed", "memory", "account", "domain",
                  "created"]
        read_only_fields = fields


class VMSnapshotCreateSerializer(serializers.Serializer):
    virtual_machine = serializers.UUIDField(help_text=_("Id of the VM to snapshot."))
    name = serializers.CharField(required=False, allow_blank=True, max_length=255, help_text=_(
        "Display name, unique among the VM's snapshots; generated when omitted."))
    description = serializers.CharField(required=False, allow_blank=True, max_length=4096)
    memory = serializers.BooleanField(required=False, default=False, help_text=_(
        "Include the memory of the running VM. A running VM is snapshotted only with its memory, a stopped one "
        "only without."))


class VMSnapshotFilterSet(FilterSet):
    virtual_machine = django_filters.UUIDFilter(field_name="virtual_machine__uuid", help_text=_(
        "Only the snapshots of this VM (its id)."))
    state = CaseInsensitiveChoiceFilter(choices=VmSnapshotState.choices, help_text=_(
        "Only snapshots in this state."))
    name = django_filters.CharFilter(method="filter_name", help_text=_("Only snapshots with this name or display "
                                                                       "name."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only snapshots whose name, display name or description contains this."))

    class Meta:
        model = VMSnapshot
        fields = []

    def filter_name(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name=value) | Q(display_name=value))

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(display_name__icontains=value)
                               | Q(description__icontains=value))


class VMSnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Snapshots of virtual machines: all their qcow2 disks, and the memory of a running VM."""

    queryset = VMSnapshot.objects.none()  # the model, for the schema; rows come from the selectors
    serializer_class = VMSnapshotSerializer
    filterset_class = VMSnapshotFilterSet
    authz_actions = {"list": "vm.snapshot.list", "retrieve": "vm.snapshot.list", "create": "vm.snapshot.create",
                     "destroy": "vm.snapshot.delete", "revert": "vm.snapshot.revert"}
    ordering_fields = ["created", "display_name", "state"]

    def select(self, caller: User) -> QuerySet[VMSnapshot]:
        return vm_snapshot_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> VMSnapshot:
        return vm_snapshot_get(caller=caller, snapshot_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return VMSnapshotCreateSerializer if self.action == "create" else VMSnapshotSerializer

    @_action_schema(_("Take a snapshot of a virtual machine"), VMSnapshotCreateSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        vm = vm_get(caller=request.user, vm_id=str(data["virtual_machine"]))
        _snapshot, job = services_vm_snapshots.vm_snapshot_create(
            caller=request.user, vm=vm, name=data.get("name", ""), description=data.get("description", ""),
            memory=data["memory"])
        return job_accepted(request, job)

    @_action_schema(_("Delete a VM snapshot"))
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_vm_snapshots.vm_snapshot_delete(caller=request.user,
                                                                              snapshot=self.get_object()))

    @_action_schema(_("Revert a virtual machine to this snapshot"))
    @action(detail=True, methods=["post"])
    def revert(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Disks (and memory) as they were, and the offering and size the VM had then. A running VM reverts to
        a snapshot with memory and keeps running; a stopped VM to one without and stays stopped."""
        return job_accepted(request, services_vm_snapshots.vm_snapshot_revert(caller=request.user,
                                                                              snapshot=self.get_object()))


def _snapshot_names(caller: User, ids: set[str]) -> dict[str, str]:
    rows = vm_snapshot_list(caller=caller).filter(uuid__in=ids).values_list("uuid", "display_name", "name")
    return {str(uuid): display or name for uuid, display, name in rows}


register_resource("vmsnapshot", view_name="rest:vm-snapshot-detail", names=_snapshot_names)
