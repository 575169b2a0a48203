"""Serializers shared by every resource of the REST API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ResourceRefSerializer(serializers.Serializer):
    """A reference to another object of the API."""

    type = serializers.CharField(help_text=_('The object type, e.g. "virtualmachine".'))
    id = serializers.UUIDField()
    name = serializers.CharField(allow_null=True,
                                 help_text=_("Null when the object is no longer visible to you."))
    url = serializers.URLField(allow_null=True, help_text=_("Null when the object is no longer visible to you."))

