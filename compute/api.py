"""REST resources for compute: virtual machines (/api/v1/virtual-machines/); service offerings are in
compute.api_offerings. Reads go through compute.selectors, writes through compute.services;
every write that touches a host answers 202 with the job that does it."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from compute import selectors, services
from compute.models import VirtualMachine
from compute.selectors import VmFilters
from compute.states import VmState
from infrastructure.selectors import zone_get
from portal.api import JobSerializer, job_accepted
from portal.authz import can
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import CaseInsensitiveChoiceFilter, FilterSet, StrictBooleanFilter
from portal.rest.resources import register_resource
from portal.rest.viewsets import SelectorViewSet
from storage.selectors import template_get_executable

# --- virtual machines -----------------------------------------------------------------------------------


class _RefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)


class ZoneRefSerializer(_RefSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="rest:zone-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class ServiceOfferingRefSerializer(_RefSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="rest:service-offering-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class TemplateRefSerializer(_RefSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="rest:template-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class HostRefSerializer(_RefSerializer):
    pass


class IsoRefSerializer(_RefSerializer):
    pass


class AffinityGroupRefSerializer(_RefSerializer):
    pass


class VirtualMachineSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:virtual-machine-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    zone = ZoneRefSerializer(read_only=True)
    service_offering = ServiceOfferingRefSerializer(read_only=True)
    template = TemplateRefSerializer(read_only=True)
    cpu_number = serializers.IntegerField(read_only=True)
    cpu_speed = serializers.IntegerField(read_only=True, help_text=_("MHz per core."))
    memory = serializers.IntegerField(read_only=True, help_text=_("MiB."))
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="domain.cloudstack_path", read_only=True)
    host = serializers.SerializerMethodField()
    instance_name = serializers.SerializerMethodField()
    iso = IsoRefSerializer(read_only=True, allow_null=True, help_text=_("The ISO in the VM's CD drive."))
    key_pairs = serializers.SerializerMethodField()
    affinity_groups = AffinityGroupRefSerializer(many=True, read_only=True)

    class Meta:
        model = VirtualMachine
        fields = ["id", "url", "name", "display_name", "state", "zone", "service_offering", "template",
                  "cpu_number", "cpu_speed", "memory", "account", "domain", "host", "instance_name", "group",
                  "ha_enabled", "dynamically_scalable", "iso", "key_pairs", "affinity_groups", "destroyed_at",
                  "created"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text=_(
        "Names of the SSH key pairs the VM was given.")))
    def get_key_pairs(self, vm: VirtualMachine) -> list[str]:
        return [name for name in vm.key_pair_names.split(",") if name]

    def _shows_hosts(self) -> bool:
        """Hosts and hypervisor names are for those who may see hosts (root admins), as in CloudStack."""
        if "shows_hosts" not in self.context:
            self.context["shows_hosts"] = can(self.context["request"].user, "host.list")
        return self.context["shows_hosts"]

    @extend_schema_field(HostRefSerializer(allow_null=True, help_text=_(
        "The host the VM runs on; only shown to administrators who may see hosts.")))
    def get_host(self, vm: VirtualMachine) -> dict[str, Any] | None:
        if vm.host is None or not self._shows_hosts():
            return None
        return HostRefSerializer(vm.host).data

    @extend_schema_field(serializers.CharField(allow_null=True, help_text=_(
        "The hypervisor's name of the VM; only shown to administrators who may see hosts.")))
    def get_instance_name(self, vm: VirtualMachine) -> str | None:
        return vm.instance_name if self._shows_hosts() else None


class VirtualMachineFilterSet(FilterSet):
    state = CaseInsensitiveChoiceFilter(choices=VmState.choices, help_text=_(
        "Only VMs in this state (CloudStack's state names, in any letter case). Shows Destroyed and "
        "Expunging VMs too when asked for them."))
    zone = django_filters.UUIDFilter(field_name="zone__uuid", help_text=_("Only VMs in this zone (its id)."))
    name = django_filters.CharFilter(help_text=_("Only VMs with exactly this name."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only VMs whose name or display name contains this (in any letter case)."))
    include_destroyed = StrictBooleanFilter(method="filter_include_destroyed", help_text=_(
        "Also list Destroyed and Expunging VMs (default false)."))

    # Destroyed VMs stay out of the list unless asked for, as in CloudStack.
    defaults = {"include_destroyed": "false"}

    class Meta:
        model = VirtualMachine
        fields = []

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(display_name__icontains=value))

    def filter_include_destroyed(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value or self.form.cleaned_data.get("state"):
            return queryset
        return selectors.vm_hide_destroyed(queryset)


class VirtualMachineDeploySerializer(serializers.Serializer):
    zone = serializers.UUIDField(help_text=_("Id of the zone to deploy in."))
    service_offering = serializers.UUIDField(help_text=_("Id of the service offering."))
    template = serializers.UUIDField(help_text=_("Id of an executable template."))
    name = serializers.CharField(required=False, allow_blank=True, max_length=63, help_text=_(
        "Host name: letters, digits and hyphens, starting with a letter. Generated when omitted."))
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    start = serializers.BooleanField(required=False, default=True,
                                     help_text=_("Start the VM once created (default true)."))
    group = serializers.CharField(required=False, allow_blank=True, max_length=255)
    disk_offering = serializers.UUIDField(required=False, help_text=_(
        "From a template: a data disk of this disk offering. From an ISO: the root disk's offering (required)."))
    size_gb = serializers.IntegerField(required=False, min_value=1, help_text=_(
        "Disk size in GiB for a custom-size disk offering."))
    root_disk_size_gb = serializers.IntegerField(required=False, min_value=1, help_text=_(
        "Root disk size in GiB (at least the template's)."))
    cpu_number = serializers.IntegerField(required=False, min_value=1, help_text=_("For custom offerings."))
    cpu_speed = serializers.IntegerField(required=False, min_value=1, help_text=_("MHz, for custom offerings."))
    memory = serializers.IntegerField(required=False, min_value=1, help_text=_("MiB, for custom offerings."))
    key_pairs = serializers.ListField(child=serializers.CharField(max_length=255), required=False, help_text=_(
        "Names of SSH key pairs of the owning account."))
    user_data = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, help_text=_(
        "cloud-init user-data as plain text (not base64), at most 32 KiB."))
    affinity_groups = serializers.ListField(child=serializers.UUIDField(), required=False, help_text=_(
        "Ids of affinity groups of the owning account."))
    host = serializers.UUIDField(required=False, help_text=_("Deploy on this host (root administrators)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Resolve the ids through the selectors as the caller; an unknown id is an error of its field."""
        caller = self.context["request"].user
        errors: dict[str, list[str]] = {}
        resolved: dict[str, Any] = {}
        try:
            resolved["zone"] = zone_get(caller=caller, zone_id=str(attrs["zone"]))
        except NotFound as exc:
            errors["zone"] = [exc.message]
        try:
            resolved["service_offering"] = selectors.offering_get(caller=caller,
                                                                  offering_id=str(attrs["service_offering"]))
        except NotFound as exc:
            errors["service_offering"] = [exc.message]
        if "zone" in resolved:
            try:
                resolved["template"] = template_get_executable(caller=caller, template_id=str(attrs["template"]),
                                                               zone=resolved["zone"])
            except NotFound as exc:
                errors["template"] = [exc.message]
        from compute.api_lifecycle import resolve_deploy_references

        resolve_deploy_references(caller, attrs, resolved, errors)
        if errors:
            raise serializers.ValidationError(errors)
        return {**attrs, **resolved}


class VirtualMachineStopSerializer(serializers.Serializer):
    forced = serializers.BooleanField(required=False, default=False, help_text=_(
        "Power the VM off at once instead of asking the guest to shut down."))


def _vm_names(caller: User, ids: set[str]) -> dict[str, str]:
    vms = selectors.vm_list(caller=caller, filters=VmFilters(include_destroyed=True)).filter(uuid__in=ids)
    return {str(uuid): name for uuid, name in vms.values_list("uuid", "name")}


register_resource("virtualmachine", view_name="rest:virtual-machine-detail", names=_vm_names)

_ACCEPTED = OpenApiResponse(JobSerializer, description=_(
    "Accepted: the job doing the work. Poll its URL (also in the Location header) until it is done."))
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                             description=_("The URL of the job."))
_CONFLICT = OpenApiResponse(ErrorSerializer, description=_(
    "The VM's state does not allow this (errorcode 431), or there is no capacity (errorcode 533)."))
_UNAVAILABLE = OpenApiResponse(ErrorSerializer, description=_("A resource is unavailable."))


def _action_schema(summary: str, request: Any = None) -> Any:
    return extend_schema(summary=summary, request=request, parameters=[_LOCATION],
                         responses={202: _ACCEPTED, 409: _CONFLICT, 503: _UNAVAILABLE})


class VirtualMachineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Virtual machines of your account (administrators: of the accounts they manage)."""

    queryset = VirtualMachine.objects.none()  # the model, for the schema; rows come from compute.selectors
    serializer_class = VirtualMachineSerializer
    filterset_class = VirtualMachineFilterSet
    authz_actions = {"list": "vm.list", "retrieve": "vm.view", "create": "vm.deploy", "start": "vm.start",
                     "stop": "vm.stop", "reboot": "vm.reboot", "destroy_vm": "vm.destroy", "recover": "vm.recover",
                     "expunge": "vm.expunge", "restore": "vm.restore"}
    ordering_fields = ["name", "display_name", "state", "created"]

    def select(self, caller: User) -> QuerySet[VirtualMachine]:
        # Every VM of the caller's; VirtualMachineFilterSet leaves out the destroyed ones unless asked.
        return selectors.vm_list(caller=caller, filters=VmFilters(include_destroyed=True)).select_related(
            "iso").prefetch_related("affinity_groups")

    def fetch(self, caller: User, object_id: str) -> VirtualMachine:
        return selectors.vm_get(caller=caller, vm_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return VirtualMachineDeploySerializer
        if self.action == "stop":
            return VirtualMachineStopSerializer
        from compute import api_lifecycle

        extra = {"start": api_lifecycle.VirtualMachineStartSerializer,
                 "destroy_vm": api_lifecycle.VirtualMachineDestroySerializer,
                 "restore": api_lifecycle.VirtualMachineRestoreSerializer}
        return extra.get(self.action, VirtualMachineSerializer)

    @extend_schema(summary=_("List virtual machines"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a virtual machine"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @_action_schema(_("Deploy a virtual machine"), VirtualMachineDeploySerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Creates the VM and its root volume at once; starting it on a host is the job's work.
        The new VM's id is the job's resource.id."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from compute.api_lifecycle import deploy_options

        _vm, job = services.vm_deploy(
            caller=request.user, zone=data["zone"], service_offering=data["service_offering"],
            template=data["template"], name=data.get("name") or None, display_name=data.get("display_name", ""),
            start_vm=data["start"], **deploy_options(data),
        )
        return job_accepted(request, job)

    @extend_schema(summary=_("Start a virtual machine"), parameters=[_LOCATION],
                   responses={202: _ACCEPTED, 409: _CONFLICT, 503: _UNAVAILABLE})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Root administrators may name the host to start on (`host`)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return job_accepted(request, services.vm_start(caller=request.user, vm=self.get_object(),
                                                       host=serializer.validated_data.get("host")))

    @_action_schema(_("Stop a virtual machine"), VirtualMachineStopSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vm = self.get_object()
        return job_accepted(request, services.vm_stop(caller=request.user, vm=vm,
                                                      forced=serializer.validated_data["forced"]))

    @_action_schema(_("Reboot a virtual machine"))
    @action(detail=True, methods=["post"])
    def reboot(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services.vm_reboot(caller=request.user, vm=self.get_object()))

    @_action_schema(_("Destroy a virtual machine"))
    # Named destroy_vm: `destroy` is the router's name for DELETE, which this API does not offer.
    @action(detail=True, methods=["post"], url_path="destroy", url_name="destroy")
    def destroy_vm(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A running VM is powered off first. The VM stays listed as Destroyed (with include_destroyed) and can
        be recovered until it is expunged: at once with `expunge`, else after the expunge delay."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return job_accepted(request, services.vm_destroy(caller=request.user, vm=self.get_object(),
                                                         expunge=serializer.validated_data["expunge"]))

    @extend_schema(summary=_("Recover a destroyed virtual machine"), request=None,
                   responses={200: VirtualMachineSerializer, 409: _CONFLICT})
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Destroyed → Stopped, before it is expunged. Immediate: no job."""
        vm = services.vm_recover(caller=request.user, vm=self.get_object())
        return Response(VirtualMachineSerializer(selectors.vm_get(caller=request.user, vm_id=str(vm.uuid)),
                                                 context=self.get_serializer_context()).data)

    @_action_schema(_("Expunge a destroyed virtual machine"))
    @action(detail=True, methods=["post"])
    def expunge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services.vm_expunge(caller=request.user, vm=self.get_object()))

    @_action_schema(_("Restore a virtual machine's root disk"))
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A fresh root disk from the VM's template, or from `template`; a running VM is restarted."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return job_accepted(request, services.vm_restore(caller=request.user, vm=self.get_object(),
                                                         template=serializer.validated_data.get("template")))
