"""REST resource for templates (/api/v1/templates/): read-only, through storage.selectors."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure.selectors import zone_get
from portal.errors import NotFound
from portal.lookup import get_by_uuid
from portal.rest.viewsets import SelectorViewSet
from storage.models import Template
from storage.selectors import TEMPLATE_FILTERS, template_list


class TemplateZoneSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:zone-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")


class TemplateSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="rest:template-detail", lookup_field="uuid",
                                               lookup_url_kwarg="id")
    zone = TemplateZoneSerializer(read_only=True, allow_null=True,
                                  help_text=_("The zone the template is in; null means every zone."))
    account = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = Template
        fields = ["id", "url", "name", "display_text", "format", "hypervisor", "os_type", "size", "zone",
                  "is_public", "is_featured", "is_ready", "account", "created"]
        read_only_fields = fields


class TemplateQuerySerializer(serializers.Serializer):
    template_filter = serializers.ChoiceField(
        choices=TEMPLATE_FILTERS, required=False, default="executable",
        help_text=_("CloudStack's templatefilter; \"executable\" (the default) is what you may deploy."))
    zone = serializers.UUIDField(required=False, help_text=_("Only templates usable in this zone (its id)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("zone"):
            try:
                attrs["zone"] = zone_get(caller=self.context["request"].user, zone_id=str(attrs["zone"]))
            except NotFound as exc:
                raise serializers.ValidationError({"zone": [exc.message]}) from exc
        return attrs


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Templates: the disk images virtual machines are created from."""

    queryset = Template.objects.none()  # the model, for the schema; rows come from storage.selectors
    serializer_class = TemplateSerializer
    query_serializer_class = TemplateQuerySerializer

    def select(self, caller: User, query: dict[str, Any]) -> Any:
        return template_list(caller=caller, template_filter=query.get("template_filter", "executable"),
                             zone=query.get("zone"))

    def fetch(self, caller: User, object_id: str) -> Template:
        # "all" is every template the caller may see (root admins: all of them).
        return get_by_uuid(template_list(caller=caller, template_filter="all"), object_id,
                           gettext_now("a template"))

    @extend_schema(summary=_("List templates"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a template"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)
