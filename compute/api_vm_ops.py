"""REST resources of the VM operations, under /api/v1/virtual-machines/{id}/:

- PATCH settings/ (name, display name, group, OS type, HA, user-data; answers the VM at once)
- POST change-offering/ (stopped VM; answers the VM at once), POST scale/ (202 with the job)
- POST attach-iso/, detach-iso/, reset-ssh-key/ (202 with the job)
- POST migrate/ and GET hosts-for-migration/ (root admins)
- POST console/ (201: a single-use console URL and WebSocket ticket, compute.console_links)

Writes go through compute.services_vm_ops and compute.services_migration; the request bodies take the same
choices as the CloudStack commands (user_data as text, not base64: JSON carries it as it is).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from compute import services_migration, services_vm_ops
from compute.api import VirtualMachineSerializer, _action_schema
from compute.cloudinit import USER_DATA_MAX_BYTES
from compute.console_links import console_endpoint
from compute.models import VirtualMachine
from compute.selectors import offering_get, vm_get
from infrastructure.selectors_hosts import host_get
from portal.api import job_accepted
from storage.selectors_isos import iso_get


class VmSettingsSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=63, help_text=_("New host name (next start)."))
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    group = serializers.CharField(required=False, allow_blank=True, max_length=255)
    os_type = serializers.CharField(required=False, allow_blank=True, max_length=255)
    ha_enabled = serializers.BooleanField(required=False, help_text=_("Only when the offering offers HA."))
    user_data = serializers.CharField(required=False, allow_blank=True, max_length=USER_DATA_MAX_BYTES,
                                      trim_whitespace=False, help_text=_(
                                          "cloud-init user data as text; the guest gets it at its next start."))


class VmSizeSerializer(serializers.Serializer):
    service_offering = serializers.UUIDField(help_text=_("Id of the new service offering."))
    cpu_number = serializers.IntegerField(required=False, min_value=1, help_text=_("Custom offerings only."))
    cpu_speed = serializers.IntegerField(required=False, min_value=1, help_text=_("MHz; custom offerings only."))
    memory = serializers.IntegerField(required=False, min_value=1, help_text=_("MiB; custom offerings only."))


class VmIsoSerializer(serializers.Serializer):
    iso = serializers.UUIDField(help_text=_("Id of the ISO to insert into the VM's CD drive."))


class VmSshKeySerializer(serializers.Serializer):
    key_pairs = serializers.ListField(child=serializers.CharField(max_length=255), min_length=1,
                                      help_text=_("Names of SSH key pairs of the VM's account."))


class VmMigrateSerializer(serializers.Serializer):
    host = serializers.UUIDField(required=False, allow_null=True,
                                 help_text=_("Destination host; empty lets the planner choose."))


class MigrationHostSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="host.uuid", read_only=True)
    name = serializers.CharField(source="host.name", read_only=True)
    cluster = serializers.CharField(source="host.cluster.name", read_only=True)
    suitable = serializers.BooleanField(read_only=True)
    requires_storage_motion = serializers.BooleanField(read_only=True)
    has_enough_capacity = serializers.BooleanField(read_only=True)
    reason = serializers.CharField(read_only=True)


class ConsoleWebsocketSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("The single-use ticket (also in url)."))
    host = serializers.CharField()
    port = serializers.CharField()
    path = serializers.CharField(help_text=_("The WebSocket path; connect to it with ?token=<token>."))
    scheme = serializers.CharField(help_text=_("ws or wss."))
    extra = serializers.CharField(allow_blank=True)


class ConsoleEndpointSerializer(serializers.Serializer):
    url = serializers.URLField(help_text=_(
        "Opens the console in a browser logged in as you: once, before `expires`."))
    expires = serializers.DateTimeField()
    websocket = ConsoleWebsocketSerializer()


class VmOperationsViewSet(viewsets.GenericViewSet):
    """Operations on one virtual machine beyond start/stop (see the module docstring)."""

    queryset = VirtualMachine.objects.none()  # for the schema; the VM comes from compute.selectors
    serializer_class = VmSettingsSerializer
    authz_actions = {"update_settings": "vm.update", "change_offering": "vm.change_offering", "scale": "vm.scale",
                     "attach_iso": "vm.iso", "detach_iso": "vm.iso", "reset_ssh_key": "vm.reset_ssh_key",
                     "migrate": "vm.migrate", "hosts_for_migration": "vm.migrate", "console": "vm.console"}
    filter_backends: list = []
    pagination_class = None  # hosts-for-migration answers every other host of the zone at once

    def _vm(self) -> VirtualMachine:
        return vm_get(caller=self.request.user, vm_id=str(self.kwargs["id"]))

    def _valid(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _vm_response(self, vm: VirtualMachine) -> Response:
        return Response(VirtualMachineSerializer(vm, context=self.get_serializer_context()).data)

    @extend_schema(summary=_("Change the settings of a virtual machine"), request=VmSettingsSerializer,
                   responses={200: VirtualMachineSerializer})
    def update_settings(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(VmSettingsSerializer)
        vm = services_vm_ops.vm_update(caller=request.user, vm=self._vm(), name=data.get("name"),
                                       display_name=data.get("display_name"), group=data.get("group"),
                                       os_type=data.get("os_type"), ha_enabled=data.get("ha_enabled"),
                                       user_data=data.get("user_data"))
        return self._vm_response(vm)

    def _size(self) -> tuple[VirtualMachine, dict[str, Any]]:
        data = self._valid(VmSizeSerializer)
        vm = self._vm()
        offering = offering_get(caller=self.request.user, offering_id=str(data["service_offering"]))
        return vm, {"service_offering": offering, "cpu_number": data.get("cpu_number"),
                    "cpu_speed": data.get("cpu_speed"), "memory": data.get("memory")}

    @extend_schema(summary=_("Change the offering of a stopped virtual machine"), request=VmSizeSerializer,
                   responses={200: VirtualMachineSerializer})
    def change_offering(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        vm, size = self._size()
        return self._vm_response(services_vm_ops.vm_change_offering(caller=request.user, vm=vm, **size))

    @_action_schema(_("Scale a virtual machine (live, up only, when it runs)"), VmSizeSerializer)
    def scale(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        vm, size = self._size()
        return job_accepted(request, services_vm_ops.vm_scale(caller=request.user, vm=vm, **size))

    @_action_schema(_("Insert an ISO into the CD drive of a virtual machine"), VmIsoSerializer)
    def attach_iso(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(VmIsoSerializer)
        vm = self._vm()
        iso = iso_get(caller=request.user, iso_id=str(data["iso"]), zone=vm.zone)
        return job_accepted(request, services_vm_ops.vm_attach_iso(caller=request.user, vm=vm, iso=iso))

    @_action_schema(_("Eject the ISO of a virtual machine"))
    def detach_iso(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_vm_ops.vm_detach_iso(caller=request.user, vm=self._vm()))

    @_action_schema(_("Replace the SSH keys of a stopped virtual machine"), VmSshKeySerializer)
    def reset_ssh_key(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(VmSshKeySerializer)
        return job_accepted(request, services_vm_ops.vm_reset_ssh_key(caller=request.user, vm=self._vm(),
                                                                      key_pairs=data["key_pairs"]))

    @_action_schema(_("Live-migrate a running virtual machine"), VmMigrateSerializer)
    def migrate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._valid(VmMigrateSerializer)
        vm = self._vm()
        host = host_get(caller=request.user, host_id=str(data["host"])) if data.get("host") else None
        return job_accepted(request, services_migration.vm_migrate(caller=request.user, vm=vm, host=host))

    @extend_schema(summary=_("Hosts a running virtual machine could migrate to"), request=None,
                   responses={200: MigrationHostSerializer(many=True)})
    def hosts_for_migration(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        candidates = services_migration.hosts_for_migration(caller=request.user, vm=self._vm())
        return Response(MigrationHostSerializer(candidates, many=True).data)


    @extend_schema(summary=_("Open the console of a running virtual machine"), request=None,
                   responses={201: ConsoleEndpointSerializer})
    def console(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = console_endpoint(request, caller=request.user, vm=self._vm())
        return Response(ConsoleEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


_VM_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                          description=_("Id of the virtual machine."))
VmOperationsViewSet = extend_schema(parameters=[_VM_ID])(VmOperationsViewSet)


def _route(suffix: str, method: str, action: str) -> Any:
    return path(f"virtual-machines/<str:id>/{suffix}/", VmOperationsViewSet.as_view({method: action}),
                name=f"virtual-machine-{suffix}")


# Mounted by portal.rest.urls next to the router's routes.
urlpatterns = [
    _route("settings", "patch", "update_settings"),
    _route("change-offering", "post", "change_offering"),
    _route("scale", "post", "scale"),
    _route("attach-iso", "post", "attach_iso"),
    _route("detach-iso", "post", "detach_iso"),
    _route("reset-ssh-key", "post", "reset_ssh_key"),
    _route("migrate", "post", "migrate"),
    _route("hosts-for-migration", "get", "hosts_for_migration"),
    _route("console", "post", "console"),
]
