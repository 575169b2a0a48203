"""REST resource of resource tags (/api/v1/tags/): list (filtered like listTags), POST to tag resources,
POST delete/ to remove tags. Reads through portal.selectors_tags, writes through portal.services_tags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from portal import services_tags
from portal.models import ResourceTag
from portal.rest.viewsets import SelectorViewSet
from portal.selectors_tags import TAGGABLE_TYPES, tag_list

FILTERS = {
    "resource_type": _("Only tags on this kind of resource (CloudStack's names: UserVm, Volume, Template, ...)."),
    "resource_id": _("Only tags on the resource with this id."),
    "key": _("Only tags with this key."),
    "value": _("Only tags with this value."),
    "customer": _("Only tags with this customer."),
}


class TagSerializer(serializers.ModelSerializer):
    resource_id = serializers.UUIDField(source="resource_uuid", read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    domain = serializers.CharField(source="domain.cloudstack_path", read_only=True)

    class Meta:
        model = ResourceTag
        fields = ["key", "value", "resource_type", "resource_id", "account", "domain", "customer", "created"]
        read_only_fields = fields


class TagWriteSerializer(serializers.Serializer):
    resource_type = serializers.CharField(max_length=64, help_text=format_lazy(
        "{}: {}", _("CloudStack's resource type"), ", ".join(TAGGABLE_TYPES)))
    resource_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1)
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=255), required=False,
                                 help_text=_("key -> value. Deleting: an empty value matches any value; no "
                                             "tags at all removes every tag of the resources."))
    customer = serializers.CharField(required=False, allow_blank=True, max_length=255)


class TagViewSet(mixins.ListModelMixin, SelectorViewSet):
    """Key/value tags on your resources (VMs, volumes, templates, ISOs, VM snapshots, key pairs, ...)."""

    queryset = ResourceTag.objects.none()
    serializer_class = TagSerializer
    authz_actions = {"list": "tag.list", "create": "tag.create", "remove": "tag.delete"}
    ordering_fields = ["key", "created"]

    def select(self, caller: User) -> QuerySet[ResourceTag]:
        params = self.request.query_params
        return tag_list(caller=caller, **{name: params.get(name) or None for name in FILTERS})

    @property
    def pagination_class(self) -> type | None:  # type: ignore[override]
        """Tagging answers with the tags it made as a plain list: no paging, and none in the schema."""
        return None if getattr(self, "action", None) == "create" else SelectorViewSet.pagination_class

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return TagWriteSerializer if self.action in ("create", "remove") else TagSerializer

    @extend_schema(summary=_("List tags"), parameters=[OpenApiParameter(name, str, required=False, description=text)
                                                       for name, text in FILTERS.items()])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _data(self) -> dict[str, Any]:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return {"resource_type": data["resource_type"], "resource_ids": [str(i) for i in data["resource_ids"]],
                **({"tags": data["tags"]} if data.get("tags") else {}),
                **({"customer": data["customer"]} if data.get("customer") else {})}

    @extend_schema(summary=_("Tag resources"), request=TagWriteSerializer, responses={201: TagSerializer(many=True)},
                   filters=False)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._data()
        created, _job = services_tags.tags_create(caller=request.user, tags=data.pop("tags", {}), **data)
        return Response(TagSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("Remove tags from resources"), request=TagWriteSerializer, responses={204: None})
    @action(detail=False, methods=["post"], url_path="delete", url_name="delete")
    def remove(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._data()
        data.pop("customer", None)
        services_tags.tags_delete(caller=request.user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)
