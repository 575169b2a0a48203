"""REST resources of the LDAP settings (root admins only): /api/v1/ldap-configurations/ (the servers users
log in against) and /api/v1/ldap-links/ (which LDAP group or OU logs in to which account of a domain).

The bind password is write-only: it goes in with a configuration and never comes out, not even to root
admins (the model keeps it encrypted). Reads go through accounts.selectors, writes through accounts.services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import Account, Domain, LdapConfiguration, LdapLink, User
from accounts.selectors import (
    domain_get,
    ldap_configuration_get,
    ldap_configuration_list,
    ldap_directory_user_list,
    ldap_link_list,
)
from portal.errors import NotFound, OperationFailed, ResourceUnavailable
from portal.rest.errors import ErrorSerializer
from portal.rest.viewsets import SelectorViewSet


class LdapDomainRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)
    path = serializers.CharField(source="cloudstack_path", read_only=True)


def _domain(caller: User, value: Any, field: str) -> Domain:
    try:
        return domain_get(caller=caller, domain_id=str(value))
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


class LdapConfigurationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:ldap-configuration-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    domain = LdapDomainRefSerializer(read_only=True, allow_null=True, help_text=_(
        "The domain the server serves; null: every domain without a server of its own."))

    class Meta:
        model = LdapConfiguration
        fields = ["id", "url", "hostname", "port", "domain", "base_dn", "bind_dn", "username_attribute",
                  "start_tls", "created"]
        read_only_fields = fields


class LdapConfigurationCreateSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535, default=389)
    domain = serializers.UUIDField(required=False, allow_null=True, help_text=_(
        "Id of the domain the server serves; omit for every domain without a server of its own."))
    base_dn = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="")
    bind_dn = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="")
    bind_password = serializers.CharField(required=False, allow_blank=True, default="", write_only=True,
                                          style={"input_type": "password"},
                                          help_text=_("Stored encrypted; never shown again."))
    username_attribute = serializers.CharField(max_length=64, required=False, default="uid")
    start_tls = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        caller = self.context["request"].user
        domain = attrs.get("domain")
        return {**attrs, "domain": _domain(caller, domain, "domain") if domain else None}


class DirectoryUserSerializer(serializers.Serializer):
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    dn = serializers.CharField(help_text=_("The user's distinguished name."))


class LdapConfigurationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """The LDAP servers users authenticate against, per domain or for every domain."""

    queryset = LdapConfiguration.objects.none()  # for the schema; rows come from accounts.selectors
    serializer_class = LdapConfigurationSerializer
    authz_actions = {"list": "ldap.list", "retrieve": "ldap.list", "create": "ldap.configure",
                     "destroy": "ldap.configure", "users": "ldap.list"}
    ordering_fields = ["hostname", "port", "created"]

    def select(self, caller: User) -> QuerySet[LdapConfiguration]:
        return ldap_configuration_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> LdapConfiguration:
        return ldap_configuration_get(caller=caller, configuration_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "users":
            return DirectoryUserSerializer
        return LdapConfigurationCreateSerializer if self.action == "create" else LdapConfigurationSerializer

    @extend_schema(summary=_("List LDAP servers"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show an LDAP server"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary=_("Add an LDAP server"), request=LdapConfigurationCreateSerializer,
                   responses={201: LdapConfigurationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        configuration = services.ldap_configuration_add(
            caller=request.user, hostname=data["hostname"].strip(), port=data["port"], domain=data["domain"],
            bind_dn=data["bind_dn"], bind_password=data["bind_password"], base_dn=data["base_dn"],
            username_attribute=data["username_attribute"], start_tls=data["start_tls"])
        body = LdapConfigurationSerializer(configuration, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("Remove an LDAP server"), request=None, responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Users the server created stay; they cannot log in until another server serves their domain."""
        services.ldap_configuration_delete(caller=request.user, configuration=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


    @extend_schema(summary=_("List the directory's users (tests the server)"),
                   responses={200: DirectoryUserSerializer(many=True),
                              503: OpenApiResponse(ErrorSerializer, description=_(
                                  "The server could not be reached or searched (errorcode 534)."))})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def users(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Read live from the server that serves the configuration's domain (the global one for all domains),
        as logins do."""
        configuration = self.get_object()
        try:
            people = ldap_directory_user_list(caller=request.user, domain=configuration.domain)
        except OperationFailed as exc:
            # An unreachable directory is unavailable, not a fault of the portal: 503, not 500.
            raise ResourceUnavailable(exc.message) from exc
        return Response(DirectoryUserSerializer(people, many=True).data)


class LdapLinkSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    domain = LdapDomainRefSerializer(read_only=True)
    dn = serializers.CharField(source="name", read_only=True, help_text=_("The group's or OU's DN."))
    account_type = serializers.ChoiceField(choices=Account.Type.choices, read_only=True)

    class Meta:
        model = LdapLink
        fields = ["id", "domain", "type", "dn", "account_name", "account_type", "created"]
        read_only_fields = fields


class LdapLinkCreateSerializer(serializers.Serializer):
    domain = serializers.UUIDField(help_text=_("Id of the domain to link."))
    type = serializers.ChoiceField(choices=LdapLink.Type.choices)
    dn = serializers.CharField(max_length=1024, help_text=_("Distinguished name of the group or OU."))
    account_name = serializers.CharField(max_length=255, help_text=_(
        "The account its users log in to; created at the first login."))
    account_type = serializers.ChoiceField(choices=Account.Type.choices, default=Account.Type.USER,
                                           help_text=_("0 user or 2 domain admin."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**attrs, "domain": _domain(self.context["request"].user, attrs["domain"], "domain")}


class LdapLinkViewSet(mixins.ListModelMixin, SelectorViewSet):
    """Which LDAP group or OU logs in to which account of a domain."""

    queryset = LdapLink.objects.none()
    serializer_class = LdapLinkSerializer
    authz_actions = {"list": "ldap.list", "create": "ldap.configure"}
    ordering_fields = ["created"]

    def select(self, caller: User) -> QuerySet[LdapLink]:
        return ldap_link_list(caller=caller)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return LdapLinkCreateSerializer if self.action == "create" else LdapLinkSerializer

    @extend_schema(summary=_("List LDAP links"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Link a domain to an LDAP group or OU"), request=LdapLinkCreateSerializer,
                   responses={201: LdapLinkSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Linking the same group or OU of a domain again changes its account."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        link = services.ldap_domain_link(caller=request.user, domain=data["domain"], type=data["type"],
                                         name=data["dn"].strip(), account_type=int(data["account_type"]),
                                         account_name=data["account_name"].strip())
        return Response(LdapLinkSerializer(link, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)
