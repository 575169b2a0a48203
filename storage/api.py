"""REST resource for templates (/api/v1/templates/): read-only, through storage.selectors."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from infrastructure.models import Zone
from infrastructure.selectors import zone_list
from portal.lookup import get_by_uuid
from portal.rest.filters import FilterSet
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


def _zones_of(request: Request | None) -> QuerySet[Zone]:
    """The zones a `zone` parameter may name: those the caller can see."""
    if request is None:
        return Zone.objects.none()
    return zone_list(caller=request.user)


_ZONE_HELP = _("Only templates usable in this zone (its id).")


class TemplateFilterSet(FilterSet):
    """Both filters mean what storage.selectors.template_list says they mean; the list keeps the templates
    that selector returns for them."""

    template_filter = django_filters.ChoiceFilter(
        choices=[(name, name) for name in TEMPLATE_FILTERS], method="filter_template_filter", help_text=_(
            "CloudStack's templatefilter; \"executable\" (the default) is what you may deploy."))
    # Typed by hand: drf-spectacular types a filter with a method from the method's hint, here a Zone.
    zone = extend_schema_field(serializers.UUIDField(help_text=_ZONE_HELP))(django_filters.ModelChoiceFilter(
        queryset=_zones_of, to_field_name="uuid", method="filter_zone", help_text=_ZONE_HELP))

    defaults = {"template_filter": "executable"}

    class Meta:
        model = Template
        fields = []

    def filter_template_filter(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        chosen = template_list(caller=self.caller, template_filter=value)
        return queryset.filter(pk__in=chosen.values("pk"))

    def filter_zone(self, queryset: QuerySet, name: str, value: Zone) -> QuerySet:
        usable = template_list(caller=self.caller, template_filter="all", zone=value)
        return queryset.filter(pk__in=usable.values("pk"))


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SelectorViewSet):
    """Templates: the disk images virtual machines are created from."""

    queryset = Template.objects.none()  # the model, for the schema; rows come from storage.selectors
    serializer_class = TemplateSerializer
    filterset_class = TemplateFilterSet
    authz_actions = {"*": "template.list"}
    ordering_fields = ["name", "size", "created"]

    def select(self, caller: User) -> QuerySet[Template]:
        # "all" is every template the caller may see (root admins: all of them); TemplateFilterSet narrows.
        return template_list(caller=caller, template_filter="all")

    def fetch(self, caller: User, object_id: str) -> Template:
        return get_by_uuid(template_list(caller=caller, template_filter="all"), object_id,
                           gettext_now("a template"))

    @extend_schema(summary=_("List templates"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary=_("Show a template"))
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)
