"""REST resources of the caller's own identity: /api/v1/profile/ (who am I), /api/v1/profile/keys/ (the API
key pair) and /api/v1/profile/password/.

As in the web UI, the secret key is in the answer to the POST that generates it and nowhere else: GET on the
keys shows the API key only. (CloudStack's getUserKeys still returns the secret, for the clients that
bootstrap with it.)
"""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import User
from accounts.selectors import user_keys_get
from accounts.services_security import user_password_change

NO_STORE = {"Cache-Control": "no-store"}


class ProfileSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    account = serializers.CharField(source="account.name", allow_null=True, default=None)
    account_id = serializers.UUIDField(source="account.uuid", allow_null=True, default=None)
    account_type = serializers.IntegerField(source="account.account_type", allow_null=True, default=None)
    domain = serializers.CharField(source="account.domain.cloudstack_path", allow_null=True, default=None)
    domain_id = serializers.UUIDField(source="account.domain.uuid", allow_null=True, default=None)
    role_type = serializers.SerializerMethodField(help_text=_("Admin, DomainAdmin or User."))
    source = serializers.CharField(help_text=_('"native" (portal password) or "ldap" (directory password).'))

    def get_role_type(self, user: User) -> str | None:
        return user.account.role.role_type if user.account_id else None


class ApiKeySerializer(serializers.Serializer):
    api_key = serializers.CharField(allow_null=True, help_text=_("Your API key; null until keys are generated."))


class KeyPairSerializer(serializers.Serializer):
    api_key = serializers.CharField()
    secret_key = serializers.CharField(help_text=_("Shown only in this answer; store it safely."))


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(write_only=True, trim_whitespace=False)
    password = serializers.CharField(write_only=True, trim_whitespace=False,
                                     help_text=_("The new password; it must pass the password rules."))


class ProfileView(APIView):
    """Your own user: name, account, domain, role type."""

    authz_actions = {"get": "profile.view"}

    @extend_schema(summary=_("Show your profile"), responses={200: ProfileSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(request.user).data)


class ProfileKeysView(APIView):
    """Your API key pair, for the CloudStack API and the ApiKey scheme of this API."""

    authz_actions = {"get": "user.keys.get", "post": "user.keys.register"}

    @extend_schema(summary=_("Show your API key"), description=_("The secret key is never shown again."),
                   responses={200: ApiKeySerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        api_key, _secret = user_keys_get(caller=request.user, user=request.user)
        return Response(ApiKeySerializer({"api_key": api_key}).data)

    @extend_schema(
        summary=_("Generate a new API key pair"),
        description=_("Replaces your key pair: the previous keys stop working at once. The secret key is shown "
                      "only in this answer."),
        request=None,
        responses={201: OpenApiResponse(KeyPairSerializer, description=_("Your new key pair."))},
        tags=["profile"],
    )
    def post(self, request: Request) -> Response:
        api_key, secret_key = services.user_keys_issue(caller=request.user, user=request.user)
        return Response(KeyPairSerializer({"api_key": api_key, "secret_key": secret_key}).data,
                        status=status.HTTP_201_CREATED, headers=NO_STORE)


class ProfilePasswordView(APIView):
    """Change your own portal password (not for LDAP users: their directory keeps it)."""

    authz_actions = {"post": "user.password"}

    @extend_schema(
        summary=_("Change your password"),
        description=_("Needs your current password. Your other sessions end; this one stays valid."),
        request=PasswordChangeSerializer,
        responses={204: OpenApiResponse(description=_("The password was changed."))},
        tags=["profile"],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_password_change(caller=request.user, user=request.user, password=serializer.validated_data["password"],
                             current_password=serializer.validated_data["current_password"])
        if isinstance(request.successful_authenticator, SessionAuthentication):
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
