"""REST resources of tenancy administration: /api/v1/domains/, /api/v1/accounts/, /api/v1/users/.

Reads go through accounts.selectors(_tenancy), writes through accounts.services_{domains,accounts,users}.
Deleting a domain or an account, and disabling an account (its VMs are stopped), answer 202 with the job.
"""

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

from accounts import services_accounts, services_domains, services_users
from accounts.models import Account, Domain, User
from accounts.selectors import account_list, domain_get, domain_list, user_get, user_list
from accounts.selectors_tenancy import account_get_detailed, account_list_detailed, domain_list_annotated
from portal.api import JobSerializer, job_accepted
from portal.errors import NotFound
from portal.rest.errors import ErrorSerializer
from portal.rest.filters import CaseInsensitiveChoiceFilter, FilterSet
from portal.rest.resources import register_resource
from portal.rest.viewsets import SelectorViewSet

_ACCEPTED = OpenApiResponse(JobSerializer, description=_(
    "Accepted: the job doing the work. Poll its URL (also in the Location header) until it is done."))
_LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202],
                             description=_("The URL of the job."))
_REFUSED = OpenApiResponse(ErrorSerializer, description=_(
    "Not allowed, or the object is in use (errorcode 536) or in the wrong state."))


def _job_schema(summary: str, request: Any = None, parameters: list | None = None) -> Any:
    return extend_schema(summary=summary, request=request, parameters=[_LOCATION, *(parameters or [])],
                         responses={202: _ACCEPTED, 409: _REFUSED})


def _resolve(caller: User, field: str, value: Any, lookup: Any) -> Any:
    try:
        return lookup(caller, str(value))
    except NotFound as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


class _RefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)


# --- domains --------------------------------------------------------------------------------------------

class DomainRefSerializer(_RefSerializer):
    path = serializers.CharField(source="cloudstack_path", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:domain-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class DomainSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:domain-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    path = serializers.CharField(source="cloudstack_path", read_only=True, help_text=_('E.g. "ROOT/Sales".'))
    parent = DomainRefSerializer(read_only=True, allow_null=True)
    has_child = serializers.BooleanField(read_only=True, help_text=_("Whether the domain has subdomains."))

    class Meta:
        model = Domain
        fields = ["id", "url", "name", "path", "level", "parent", "has_child", "network_domain", "created"]
        read_only_fields = fields


class DomainCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    parent = serializers.UUIDField(required=False, help_text=_(
        "The parent domain; without it, your own domain (ROOT for root admins)."))
    network_domain = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        caller = self.context["request"].user
        if "parent" in attrs:
            attrs["parent"] = _resolve(caller, "parent", attrs["parent"],
                                       lambda c, v: domain_get(caller=c, domain_id=v))
        elif caller.account_id:
            attrs["parent"] = caller.account.domain
        else:
            attrs["parent"] = Domain.objects.filter(parent=None).first()
        return attrs


class DomainUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255, help_text=_(
        "A new name; the paths of every domain below follow."))
    network_domain = serializers.CharField(required=False, allow_blank=True, max_length=255)


class SubtreeFilter(django_filters.UUIDFilter):
    """A domain id meaning "this domain and everything below it" (CloudStack's isrecursive); a domain out of
    the caller's reach matches nothing."""

    def __init__(self, *args: Any, path_field: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path_field = path_field

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in (None, ""):
            return qs
        domain = domain_list(caller=self.parent.caller).filter(uuid=value).first()
        return qs.filter(**{f"{self.path_field}__startswith": domain.path}) if domain is not None else qs.none()


class DomainFilterSet(FilterSet):
    name = django_filters.CharFilter(help_text=_("Only domains with exactly this name."))
    level = django_filters.NumberFilter(help_text=_("Only domains at this depth (ROOT is 0)."))
    parent = django_filters.UUIDFilter(field_name="parent__uuid", help_text=_("Only the children of this domain."))
    subtree = SubtreeFilter(path_field="path", help_text=_(
        "Only this domain and every domain below it (CloudStack's isrecursive)."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only domains whose name contains this (in any letter case)."))

    class Meta:
        model = Domain
        fields = []

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(name__icontains=value)


def _domain_names(caller: User, ids: set[str]) -> dict[str, str]:
    domains = domain_list_annotated(caller=caller).filter(uuid__in=ids)
    return {str(uuid): name for uuid, name in domains.values_list("uuid", "name")}


register_resource("domain", view_name="rest:domain-detail", names=_domain_names)

_CLEANUP = OpenApiParameter("cleanup", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description=_(
    "true also deletes the subdomains and their accounts with everything they own; false (the default) "
    "refuses a domain that is not empty."))


class DomainViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """The domain tree: root admins see all of it, domain admins their subtree, users their own domain."""

    queryset = Domain.objects.none()
    serializer_class = DomainSerializer
    filterset_class = DomainFilterSet
    authz_actions = {"list": "domain.list", "retrieve": "domain.list", "create": "domain.create",
                     "partial_update": "domain.update", "destroy": "domain.delete"}
    ordering_fields = ["name", "path", "level", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[Domain]:
        return domain_list_annotated(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Domain:
        domain = domain_get(caller=caller, domain_id=object_id)
        return domain_list_annotated(caller=caller).get(pk=domain.pk)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": DomainCreateSerializer, "partial_update": DomainUpdateSerializer}.get(
            self.action, DomainSerializer)

    def _show(self, request: Request, domain: Domain, status: int = 200) -> Response:
        domain = self.fetch(request.user, str(domain.uuid))
        return Response(DomainSerializer(domain, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("Create a domain"), request=DomainCreateSerializer, responses={201: DomainSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        domain = services_domains.domain_create(caller=request.user, name=data["name"], parent=data["parent"],
                                                network_domain=data.get("network_domain", ""))
        return self._show(request, domain, status=201)

    @extend_schema(summary=_("Rename a domain or change its network domain"), request=DomainUpdateSerializer,
                   responses={200: DomainSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        domain = services_domains.domain_update(caller=request.user, domain=self.get_object(),
                                                name=data.get("name"), network_domain=data.get("network_domain"))
        return self._show(request, domain)

    @_job_schema(_("Delete a domain"), parameters=[_CLEANUP])
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cleanup = serializers.BooleanField().to_internal_value(request.query_params.get("cleanup", "false"))
        return job_accepted(request, services_domains.domain_delete(caller=request.user, domain=self.get_object(),
                                                                    cleanup=cleanup))


# --- accounts -------------------------------------------------------------------------------------------

class UserRefSerializer(_RefSerializer):
    name = serializers.CharField(source="username", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:user-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class RoleRefSerializer(_RefSerializer):
    role_type = serializers.CharField(read_only=True)


class AccountSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:account-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    domain = DomainRefSerializer(read_only=True)
    role = RoleRefSerializer(read_only=True)
    users = UserRefSerializer(many=True, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "url", "name", "account_type", "role", "state", "domain", "users", "created"]
        read_only_fields = fields


class AccountCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255, help_text=_("Default: the user name."))
    account_type = serializers.ChoiceField(choices=Account.Type.choices)
    domain = serializers.UUIDField(required=False, help_text=_("Default: your own domain."))
    role = serializers.UUIDField(required=False, help_text=_("A role of the account's type."))
    username = serializers.CharField(max_length=150, help_text=_("The account's first user."))
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        caller = self.context["request"].user
        if "domain" in attrs:
            attrs["domain"] = _resolve(caller, "domain", attrs["domain"], lambda c, v: domain_get(caller=c,
                                                                                               domain_id=v))
        else:
            attrs["domain"] = caller.account.domain if caller.account_id else Domain.objects.get(parent=None)
        if "role" in attrs:
            attrs["role"] = _resolve(caller, "role", attrs["role"], _role_get)
        return attrs


def _role_get(caller: User, role_id: str) -> Any:
    from accounts.selectors_roles import role_get

    return role_get(caller=caller, role_id=role_id)


class AccountUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255)
    role = serializers.UUIDField(required=False, help_text=_("A role of the account's type."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "role" in attrs:
            attrs["role"] = _resolve(self.context["request"].user, "role", attrs["role"], _role_get)
        return attrs


@extend_schema_field({"type": "integer", "enum": Account.Type.values,
                      "description": "Only accounts of this type: 0 user, 1 root admin, 2 domain admin."})
class AccountTypeFilter(django_filters.TypedChoiceFilter):
    """CloudStack's account type numbers: 0 user, 1 root admin, 2 domain admin."""


class AccountFilterSet(FilterSet):
    name = django_filters.CharFilter(help_text=_("Only accounts with exactly this name."))
    domain = django_filters.UUIDFilter(field_name="domain__uuid", help_text=_("Only accounts of this domain."))
    subtree = SubtreeFilter(path_field="domain__path", help_text=_(
        "Only accounts of this domain and every domain below it (CloudStack's isrecursive)."))
    account_type = AccountTypeFilter(choices=[(str(value), label) for value, label in Account.Type.choices],
                                     coerce=int)
    state = CaseInsensitiveChoiceFilter(choices=Account.State.choices, help_text=_("Only accounts in this state."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only accounts whose name contains this (in any letter case)."))

    class Meta:
        model = Account
        fields = []

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(name__icontains=value)


def _account_names(caller: User, ids: set[str]) -> dict[str, str]:
    accounts = account_list(caller=caller).filter(uuid__in=ids)
    return {str(uuid): name for uuid, name in accounts.values_list("uuid", "name")}


register_resource("account", view_name="rest:account-detail", names=_account_names)


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Accounts with their users: root admins see all, domain admins those of their subtree, users their own."""

    queryset = Account.objects.none()
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    authz_actions = {"list": "account.list", "retrieve": "account.list", "create": "account.create",
                     "partial_update": "account.update", "destroy": "account.delete",
                     "disable": "account.disable", "enable": "account.enable", "lock": "account.lock"}
    ordering_fields = ["name", "account_type", "state", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[Account]:
        return account_list_detailed(caller=caller)

    def fetch(self, caller: User, object_id: str) -> Account:
        return account_get_detailed(caller=caller, account_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": AccountCreateSerializer, "partial_update": AccountUpdateSerializer}.get(
            self.action, AccountSerializer)

    def _show(self, request: Request, account: Account, status: int = 200) -> Response:
        account = self.fetch(request.user, str(account.uuid))
        return Response(AccountSerializer(account, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("Create an account with its first user"), request=AccountCreateSerializer,
                   responses={201: AccountSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = services_accounts.account_create(
            caller=request.user, domain=data["domain"], name=data.get("name") or data["username"],
            account_type=data["account_type"], role=data.get("role"), username=data["username"],
            password=data["password"], email=data["email"], first_name=data["first_name"],
            last_name=data["last_name"])
        return self._show(request, account, status=201)

    @extend_schema(summary=_("Rename an account or change its role"), request=AccountUpdateSerializer,
                   responses={200: AccountSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = services_accounts.account_update(caller=request.user, account=self.get_object(),
                                                   name=data.get("name"), role=data.get("role"))
        return self._show(request, account)

    @_job_schema(_("Delete an account and everything it owns"))
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_accounts.account_delete(caller=request.user,
                                                                      account=self.get_object()))

    @_job_schema(_("Disable an account and stop its VMs"), request=None)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return job_accepted(request, services_accounts.account_disable(caller=request.user,
                                                                       account=self.get_object()))

    @extend_schema(summary=_("Enable an account"), request=None, responses={200: AccountSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(request, services_accounts.account_enable(caller=request.user, account=self.get_object()))

    @extend_schema(summary=_("Lock an account (no logins; its VMs keep running)"), request=None,
                   responses={200: AccountSerializer})
    @action(detail=True, methods=["post"])
    def lock(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(request, services_accounts.account_lock(caller=request.user, account=self.get_object()))


# --- users ----------------------------------------------------------------------------------------------

class AccountRefSerializer(_RefSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="rest:account-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class UserSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:user-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    account = AccountRefSerializer(read_only=True)
    domain = serializers.CharField(source="account.domain.cloudstack_path", read_only=True)
    state = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["id", "url", "username", "email", "first_name", "last_name", "state", "account", "domain",
                  "source", "created"]
        read_only_fields = fields

    def get_state(self, user: User) -> str:
        return "enabled" if user.is_active else "disabled"


class UserCreateSerializer(serializers.Serializer):
    account = serializers.UUIDField(help_text=_("The account the user joins."))
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["account"] = _resolve(self.context["request"].user, "account", attrs["account"],
                                    lambda c, v: account_get_detailed(caller=c, account_id=v))
        return attrs


class UserUpdateSerializer(serializers.Serializer):
    username = serializers.CharField(required=False, max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class UserFilterSet(FilterSet):
    username = django_filters.CharFilter(help_text=_("Only the user with exactly this name."))
    account = django_filters.UUIDFilter(field_name="account__uuid", help_text=_("Only users of this account."))
    state = django_filters.ChoiceFilter(choices=[("enabled", _("Enabled")), ("disabled", _("Disabled"))],
                                        method="filter_state", help_text=_("Only enabled or disabled users."))
    keyword = django_filters.CharFilter(method="filter_keyword", help_text=_(
        "Only users whose user name, name or email contains this (in any letter case)."))

    class Meta:
        model = User
        fields = []

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(is_active=value == "enabled")

    def filter_keyword(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(username__icontains=value) | Q(first_name__icontains=value)
                               | Q(last_name__icontains=value) | Q(email__icontains=value))


def _user_names(caller: User, ids: set[str]) -> dict[str, str]:
    users = user_list(caller=caller).filter(uuid__in=ids)
    return {str(uuid): name for uuid, name in users.values_list("uuid", "username")}


register_resource("user", view_name="rest:user-detail", names=_user_names)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Users of the accounts you reach (an end user: those of their own account)."""

    queryset = User.objects.none()
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    authz_actions = {"list": "user.list", "retrieve": "user.list", "create": "user.create",
                     "partial_update": "user.update", "destroy": "user.delete", "disable": "user.disable",
                     "enable": "user.enable"}
    ordering_fields = ["username", "email", "date_joined"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def select(self, caller: User) -> QuerySet[User]:
        return user_list(caller=caller)

    def fetch(self, caller: User, object_id: str) -> User:
        return user_get(caller=caller, user_id=object_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": UserCreateSerializer, "partial_update": UserUpdateSerializer}.get(
            self.action, UserSerializer)

    def _show(self, request: Request, user: User, status: int = 200) -> Response:
        user = self.fetch(request.user, str(user.uuid))
        return Response(UserSerializer(user, context=self.get_serializer_context()).data, status=status)

    @extend_schema(summary=_("Create a user in an account"), request=UserCreateSerializer,
                   responses={201: UserSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services_users.user_create(caller=request.user, account=data["account"], username=data["username"],
                                          password=data["password"], email=data["email"],
                                          first_name=data["first_name"], last_name=data["last_name"])
        return self._show(request, user, status=201)

    @extend_schema(summary=_("Update a user"), request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services_users.user_update(caller=request.user, user=self.get_object(), **serializer.validated_data)
        return self._show(request, user)

    @extend_schema(summary=_("Delete a user"), responses={204: None, 409: _REFUSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services_users.user_delete(caller=request.user, user=self.get_object())
        return Response(status=204)

    @extend_schema(summary=_("Disable a user"), request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(request, services_users.user_disable(caller=request.user, user=self.get_object()))

    @extend_schema(summary=_("Enable a user"), request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._show(request, services_users.user_enable(caller=request.user, user=self.get_object()))
