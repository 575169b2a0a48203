"""Writes on resource tags (CloudStack's createTags / deleteTags).

A tag belongs to its resource's owner (account and domain), so it is listed, scoped and cleaned up with the
resource. Tagging needs ownership of the resource (a user who only holds a grant on a VM may see it, not
label it). CloudStack runs both commands as async jobs; the work is database-only, so it is done in the
request's transaction and the job records the outcome for pollers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from accounts.models import User
from portal.authz import authorize
from portal.errors import InvalidParameter
from portal.jobs import JobOutcome, job_submit
from portal.models import AsyncJob, ResourceTag
from portal.selectors_tags import tag_resources, taggable_type

KEY_MAX_LENGTH = VALUE_MAX_LENGTH = 255


def run_recorded(job: AsyncJob) -> JobOutcome:
    return JobOutcome(text=job.params.get("text", ""))


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if not tags:
        raise InvalidParameter(_("At least one tag (tags[0].key and tags[0].value) is required."))
    for key, value in tags.items():
        if not key or not key.strip():
            raise InvalidParameter(_("A tag key cannot be empty."))
        if value is None or value == "":
            raise InvalidParameter(_("Value for the key %(key)s is either empty or null.") % {"key": key})
        if len(key) > KEY_MAX_LENGTH or len(value) > VALUE_MAX_LENGTH:
            raise InvalidParameter(_("Tag keys and values are at most 255 characters."))
    return tags


def _record(caller: User, resources: Sequence[Model], cmd: str, event_type: str, description: str) -> AsyncJob:
    first = resources[0]
    return job_submit(caller=caller, account=first.account, cmd=cmd, handler="portal.services_tags.run_recorded",
                      instance=first, event_type=event_type, description=description,
                      params={"text": description})


@transaction.atomic
def tags_create(*, caller: User, resource_type: str, resource_ids: list[str], tags: dict[str, str],
                customer: str = "") -> tuple[list[ResourceTag], AsyncJob]:
    """Tag each resource with every key=value; a key a resource already has is refused (nothing changes)."""
    authorize(caller, "tag.create")
    kind = taggable_type(resource_type)
    tags = _check_tags(tags)
    resources = tag_resources(caller=caller, resource_type=kind.name, resource_ids=resource_ids)
    created = []
    for resource in resources:
        authorize(caller, "tag.create", resource)
        existing = ResourceTag.objects.filter(resource_type=kind.name, resource_uuid=resource.uuid,
                                              key__in=list(tags)).values_list("key", flat=True).first()
        if existing is not None:
            raise InvalidParameter(_("A tag with key %(key)s already exists on %(type)s %(id)s.") % {
                "key": existing, "type": kind.name, "id": resource.uuid})
        for key, value in tags.items():
            created.append(ResourceTag.objects.create(
                key=key, value=value, resource_type=kind.name, resource_uuid=resource.uuid,
                resource_id=resource.pk, customer=customer or "", account_id=resource.account_id,
                domain_id=resource.domain_id))
    job = _record(caller, resources, "createTags", "CREATE_TAGS",
                  _("Created tags %(tags)s on %(type)s") % {"tags": ", ".join(tags), "type": kind.name})
    return created, job


@transaction.atomic
def tags_delete(*, caller: User, resource_type: str, resource_ids: list[str],
                tags: dict[str, str] | None = None) -> AsyncJob:
    """Remove the given keys (only where the value matches, when one is given) or, with no tags, every tag
    of the resources. Matching nothing is refused, as in CloudStack."""
    authorize(caller, "tag.delete")
    kind = taggable_type(resource_type)
    resources = tag_resources(caller=caller, resource_type=kind.name, resource_ids=resource_ids)
    deleted = 0
    for resource in resources:
        authorize(caller, "tag.delete", resource)
        rows = ResourceTag.objects.filter(resource_type=kind.name, resource_uuid=resource.uuid)
        if tags:
            for key, value in tags.items():
                matching = rows.filter(key=key)
                if value:
                    matching = matching.filter(value=value)
                deleted += matching.delete()[0]
        else:
            deleted += rows.delete()[0]
    if not deleted:
        raise InvalidParameter(_("Unable to find any tags which conform to specified delete parameters."))
    return _record(caller, resources, "deleteTags", "DELETE_TAGS",
                   _("Deleted tags of %(type)s") % {"type": kind.name})


def tags_remove_for(*, resource_type: str, resource_ids: Iterable[int]) -> None:
    """Drop the tags of resources being removed (called by the services that remove them, after their own
    authorization)."""
    ResourceTag.objects.filter(resource_type=resource_type, resource_id__in=list(resource_ids)).delete()
