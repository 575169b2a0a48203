"""REST resource of SSH key pairs (/api/v1/ssh-key-pairs/): reads through compute.selectors_keypairs, writes
through compute.services_keypairs. A generated key pair's private key is in the 201 answer of its creation
only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from compute import selectors_keypairs, services_keypairs
from compute.models import SSHKeyPair
from portal.rest.viewsets import SelectorViewSet


class SSHKeyPairSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="domain.cloudstack_path", read_only=True)

    class Meta:
        model = SSHKeyPair
        fields = ["id", "name", "fingerprint", "public_key", "account", "domain", "created"]
        read_only_fields = fields


class SSHKeyPairCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    public_key = serializers.CharField(required=False, allow_blank=True, max_length=8192, help_text=_(
        "An OpenSSH public key to register; leave it out to have a new RSA key pair generated."))


class SSHKeyPairCreatedSerializer(SSHKeyPairSerializer):
    private_key = serializers.CharField(read_only=True, allow_null=True, help_text=_(
        "The generated private key (PEM): shown in this answer only, never stored."))

    class Meta(SSHKeyPairSerializer.Meta):
        fields = [*SSHKeyPairSerializer.Meta.fields, "private_key"]
        read_only_fields = fields


class SSHKeyPairViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """SSH key pairs of your account (administrators: of the accounts they manage)."""

    queryset = SSHKeyPair.objects.none()
    serializer_class = SSHKeyPairSerializer
    authz_actions = {"list": "keypair.list", "retrieve": "keypair.list", "create": "keypair.create",
                     "destroy": "keypair.delete"}
    ordering_fields = ["name", "created"]

    def select(self, caller: User) -> QuerySet[SSHKeyPair]:
        return selectors_keypairs.keypair_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> SSHKeyPair:
        return selectors_keypairs.keypair_get(caller=caller, keypair_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return SSHKeyPairCreateSerializer if self.action == "create" else SSHKeyPairSerializer

    @extend_schema(summary=_("Register or generate an SSH key pair"), request=SSHKeyPairCreateSerializer,
                   responses={201: SSHKeyPairCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        private_key = None
        if data.get("public_key"):
            pair = services_keypairs.keypair_register(caller=request.user, name=data["name"],
                                                      public_key=data["public_key"])
        else:
            pair, private_key = services_keypairs.keypair_create(caller=request.user, name=data["name"])
        pair.private_key = private_key
        return Response(SSHKeyPairCreatedSerializer(pair).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("Delete an SSH key pair"), responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_keypairs.keypair_delete(caller=request.user, keypair=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
