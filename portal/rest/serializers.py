"""Serializers shared by every resource of the REST API."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request


class ResourceRefSerializer(serializers.Serializer):
    """A reference to another object of the API."""

    type = serializers.CharField(help_text=_('The object type, e.g. "virtualmachine".'))
    id = serializers.UUIDField()
    name = serializers.CharField(allow_null=True,
                                 help_text=_("Null when the object is no longer visible to you."))
    url = serializers.URLField(allow_null=True, help_text=_("Null when the object is no longer visible to you."))


def parse_query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters; invalid ones are a 400 with the offending parameters in `fields`."""
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
