"""REST resource for the caller's own API token: POST /api/v1/auth/token/.

An integration needs a token without an administrator running `manage.py drf_create_token`: a user signed
in to the web UI (session + CSRF token), or holding an API key pair, or an old token, asks for a new one
here. The answer carries the key once; the previous token stops working at once.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import user_token_rotate


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_('The new token; send it as "Authorization: Token <token>".'))


class TokenRotateView(APIView):
    """Issue a new API token for yourself."""

    # A token is a credential for the APIs like a key pair, so the same rule says who may have one issued.
    authz_actions = {"post": "user.keys.register"}

    @extend_schema(
        summary=_("Issue a new API token"),
        description=_("Replaces your REST API token: the previous one stops working at once. The key is "
                      "shown only in this answer; store it safely."),
        request=None,
        responses={200: OpenApiResponse(TokenSerializer, description=_("Your new token."))},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        key = user_token_rotate(user=request.user)
        # A secret: no cache, proxy or browser may keep a copy of the answer.
        return Response(TokenSerializer({"token": key}).data, headers={"Cache-Control": "no-store"})
