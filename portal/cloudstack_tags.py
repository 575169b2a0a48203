"""CloudStack API declarations of resource tags: createTags, deleteTags and listTags (CloudStack 4.19 names,
parameters and response fields). Imported at the end of portal.cloudstack.commands."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import services_tags
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.cloudstack.responses import owner_fields
from portal.errors import InvalidParameter
from portal.models import AsyncJob, ResourceTag
from portal.selectors_tags import TAGGABLE_TYPES, tag_list

T = ParamType
TAG_FIELDS = ("key", "value", "resourcetype", "resourceid", "account", "domainid", "domain", "customer")


def render_tag(call: Call, tag: ResourceTag) -> dict[str, Any]:
    """CloudStack's ResourceTagResponse (also the items of every taggable object's "tags" list)."""
    return {
        "key": tag.key,
        "value": tag.value,
        "resourcetype": tag.resource_type,
        "resourceid": str(tag.resource_uuid),
        **owner_fields(tag),
        "customer": tag.customer or None,
    }


def tag_map(call: Call, *, values_required: bool) -> dict[str, str]:
    """tags[0].key=k&tags[0].value=v... as {k: v}; a repeated key is refused rather than silently merged."""
    tags: dict[str, str] = {}
    for entry in call.get("tags") or []:
        key = (entry.get("key") or "").strip()
        if not key:
            raise InvalidParameter(_("Every tags[n] entry needs a key (tags[n].key)."))
        if key in tags:
            raise InvalidParameter(_("Tag key %(key)s is given twice.") % {"key": key})
        value = entry.get("value", "")
        if values_required and not value:
            raise InvalidParameter(_("Value for the key %(key)s is either empty or null.") % {"key": key})
        tags[key] = value
    return tags


RESOURCE_PARAMS = (
    Param("resourceids", T.LIST, required=True, max_length=8192,
          description=gettext_lazy("The ids of the resources, comma-separated.")),
    Param("resourcetype", required=True, description=format_lazy(
        "{}: {}.", gettext_lazy("The type of the resources"), ", ".join(TAGGABLE_TYPES))),
)


def create_tags(call: Call) -> AsyncJob:
    _tags, job = services_tags.tags_create(
        caller=call.caller, resource_type=call.get("resourcetype"), resource_ids=call.get("resourceids"),
        tags=tag_map(call, values_required=True), customer=call.get("customer") or "")
    return job


register(Command(
    name="createTags",
    description=gettext_lazy("Creates resource tags (key=value labels) on resources you own."),
    action="tag.create",
    handler=create_tags,
    is_async=True,
    params=(
        *RESOURCE_PARAMS,
        Param("tags", T.MAP, required=True, description=gettext_lazy(
            "The tags: tags[0].key=region&tags[0].value=eu ...")),
        Param("customer", description=gettext_lazy("An optional customer name stored with the tags.")),
    ),
))


def delete_tags(call: Call) -> AsyncJob:
    return services_tags.tags_delete(
        caller=call.caller, resource_type=call.get("resourcetype"), resource_ids=call.get("resourceids"),
        tags=tag_map(call, values_required=False) or None)


register(Command(
    name="deleteTags",
    description=gettext_lazy("Deletes resource tags: the given keys (where the value matches, when given), or "
                             "every tag of the resources."),
    action="tag.delete",
    handler=delete_tags,
    is_async=True,
    params=(
        *RESOURCE_PARAMS,
        Param("tags", T.MAP, description=gettext_lazy(
            "The tags to delete: tags[0].key=region (and optionally tags[0].value=eu).")),
    ),
))


def list_tags(call: Call) -> QuerySet[ResourceTag]:
    return tag_list(caller=call.caller, resource_type=call.get("resourcetype"),
                    resource_id=call.get("resourceid"), key=call.get("key"), value=call.get("value"),
                    customer=call.get("customer"))


register(Command(
    name="listTags",
    description=gettext_lazy("Lists resource tags."),
    action="tag.list",
    handler=list_tags,
    response_object="tag",
    response_fields=TAG_FIELDS,
    params=(
        Param("resourcetype", description=gettext_lazy("List tags of this resource type.")),
        Param("resourceid", description=gettext_lazy("List tags of this resource.")),
        Param("key", description=gettext_lazy("List tags with this key.")),
        Param("value", description=gettext_lazy("List tags with this value.")),
        Param("customer", description=gettext_lazy("List tags of this customer.")),
    ),
    listing=Listing(object_name="tag", render=render_tag, id_field=None, name_field=None,
                    keyword_fields=("key", "value"), tenant=True),
))
