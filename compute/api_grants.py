"""REST resource of VM sharing: /api/v1/virtual-machines/{id}/grants/ (list, create) and
/api/v1/virtual-machines/{id}/grants/{user_id}/{permission}/ (delete).

A grant is identified by its user and permission, so a client can revoke what it sees listed without a
separate grant id. Reads go through compute.selectors_grants, writes through compute.services_grants.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from compute.models import VirtualMachine, VirtualMachineUserPermission
from compute.selectors import vm_get
from compute.selectors_grants import GRANT_PERMISSIONS, grant_name, vm_grant_list, vm_grantee_find
from compute.services_grants import vm_grant, vm_revoke
from portal.errors import NotFound


class GranteeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    username = serializers.CharField(read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="account.domain.cloudstack_path", read_only=True)


class VmGrantSerializer(serializers.Serializer):
    user = GranteeSerializer(read_only=True)
    permission = serializers.SerializerMethodField()

    def get_permission(self, grant: VirtualMachineUserPermission) -> str:
        return grant_name(grant)


class VmGrantCreateSerializer(serializers.Serializer):
    user_id = serializers.UUIDField(required=False, help_text=gettext_lazy(
        "Id of the user to share with (any enabled user; they can read it on their profile)."))
    username = serializers.CharField(required=False, max_length=150, help_text=gettext_lazy(
        "Instead of user_id: the name of a user you administer."))
    domain = serializers.CharField(required=False, max_length=1024, help_text=gettext_lazy(
        "With username: the user's domain path, e.g. ROOT/Sales."))
    permission = serializers.ChoiceField(choices=list(GRANT_PERMISSIONS), help_text=gettext_lazy(
        "console: open the console only; operate: start, stop and reboot."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("user_id")) == bool(attrs.get("username")):
            raise serializers.ValidationError(_("Give either user_id or username."))
        return attrs


class VmGrantViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who one of your virtual machines is shared with (only its owners see and change this)."""

    queryset = VirtualMachineUserPermission.objects.none()  # for the schema; rows come from the selector
    serializer_class = VmGrantSerializer
    authz_actions = {"list": "vm.grant.list", "create": "vm.grant", "destroy": "vm.revoke"}
    filter_backends: list = []

    def _vm(self) -> VirtualMachine:
        return vm_get(caller=self.request.user, vm_id=str(self.kwargs["id"]))

    def get_queryset(self) -> QuerySet[VirtualMachineUserPermission]:
        return vm_grant_list(caller=self.request.user, vm=self._vm())

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return VmGrantCreateSerializer if self.action == "create" else VmGrantSerializer

    @extend_schema(summary=gettext_lazy("List the grants of a virtual machine"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=gettext_lazy("Share a virtual machine with a user"), request=VmGrantCreateSerializer,
                   responses={201: VmGrantSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Granting what the user already holds answers the existing grant."""
        vm = self._vm()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grantee = vm_grantee_find(caller=request.user, user_id=str(data["user_id"]) if data.get("user_id") else None,
                                  username=data.get("username"), domain_path=data.get("domain"))
        grant = vm_grant(caller=request.user, vm=vm, grantee=grantee, permission=data["permission"])
        return Response(VmGrantSerializer(grant, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("Revoke a grant"), request=None, responses={204: None}, parameters=[
        OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description=gettext_lazy(
            "Id of the user holding the grant.")),
        OpenApiParameter("permission", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(GRANT_PERMISSIONS),
                         description=gettext_lazy("The permission to revoke.")),
    ])
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        vm = self._vm()
        user_id, permission = str(kwargs["user_id"]), str(kwargs["permission"])
        grant = next((g for g in vm_grant_list(caller=request.user, vm=vm)
                      if str(g.user.uuid) == user_id and grant_name(g) == permission), None)
        if grant is None:
            raise NotFound(_("No %(permission)s grant of user %(user)s on this virtual machine.") % {
                "permission": permission, "user": user_id})
        vm_revoke(caller=request.user, vm=vm, grantee=grant.user, permission=permission)
        return Response(status=status.HTTP_204_NO_CONTENT)


_VM_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                          description=gettext_lazy("Id of the virtual machine."))
VmGrantViewSet = extend_schema(parameters=[_VM_ID])(VmGrantViewSet)

# Mounted by portal.rest.urls next to the router's routes.
urlpatterns = [
    path("virtual-machines/<str:id>/grants/", VmGrantViewSet.as_view({"get": "list", "post": "create"}),
         name="virtual-machine-grant-list"),
    path("virtual-machines/<str:id>/grants/<str:user_id>/<str:permission>/",
         VmGrantViewSet.as_view({"delete": "destroy"}), name="virtual-machine-grant-detail"),
]
