"""The generic part of every list command: id/name/keyword, CloudStack's tenancy parameters, paging.

The handler's selector has already scoped the rows to the caller (portal.authz.scope); everything here
only narrows that set further, so no parameter can widen what a caller sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.cloudstack import owner_params
from portal.cloudstack.registry import Call, Listing
from portal.cloudstack.render import list_body
from portal.errors import InvalidParameter
from portal.models import AsyncJob
from portal.selectors import job_list


def default_page_size() -> int:
    return settings.CIRROSTACK_API_DEFAULT_PAGE_SIZE


def page_bounds(call: Call) -> tuple[int, int | None]:
    """(offset, limit) from page/pagesize; limit None means everything (pagesize=-1)."""
    page, page_size = call.get("page"), call.get("pagesize")
    if page is not None and page_size is None:
        raise InvalidParameter(_('"pagesize" parameter is required when "page" is specified.'))
    if page_size is not None and page is None:
        raise InvalidParameter(_('"page" parameter is required when "pagesize" is specified.'))
    maximum = default_page_size()
    if page_size is None:
        return 0, maximum
    if page_size == -1:
        return 0, None
    if page_size < 1:
        raise InvalidParameter(_("Page size must be a positive number or -1."))
    if page_size > maximum:
        raise InvalidParameter(_("Page size can't exceed max allowed page size value: %(max)d.") % {"max": maximum})
    if page < 1:
        raise InvalidParameter(_("Page must be 1 or more."))
    return (page - 1) * page_size, page_size


def narrow(call: Call, listing: Listing, rows: QuerySet) -> QuerySet:
    """Apply id, name, keyword and the tenancy parameters to a selector's queryset."""
    if listing.id_field and call.get("id"):
        rows = rows.filter(**{listing.id_field: call.get("id")})
    if listing.name_field and call.get("name"):
        lookup = "icontains" if listing.name_substring else "exact"
        rows = rows.filter(**{f"{listing.name_field}__{lookup}": call.get("name")})
    if listing.keyword_fields and call.get("keyword"):
        keyword = Q()
        for field in listing.keyword_fields:
            keyword |= Q(**{f"{field}__icontains": call.get("keyword")})
        rows = rows.filter(keyword)
    if listing.tenant:
        rows = _narrow_tenancy(call, listing, rows)
    if listing.tags and call.get("tags"):
        from portal.selectors_tags import filter_by_tags

        wanted = {entry.get("key", ""): entry.get("value", "") for entry in call.get("tags") if entry.get("key")}
        rows = filter_by_tags(rows, listing.tags, wanted)
    return rows


def _narrow_tenancy(call: Call, listing: Listing, rows: QuerySet) -> QuerySet:
    """CloudStack's rules: `account` (in `domainid`, else the caller's domain) lists that account;
    `domainid` that domain (with `isrecursive`, its subtree); otherwise admins see only their own account
    unless `listall=true` (or an `id` is asked for) — what they may see at all the selector decided."""
    caller = call.caller
    account_field, domain_field = listing.account_field, listing.domain_field
    account, domain = owner_params(call)
    if account is not None:
        return rows.filter(**{account_field: account})
    if domain is not None:
        if call.get("isrecursive"):
            return rows.filter(**{f"{domain_field}__path__startswith": domain.path})
        return rows.filter(**{domain_field: domain})
    if call.get("listall") or call.get("id"):
        return rows
    if caller.account_id:
        return rows.filter(**{f"{account_field}_id": caller.account_id})
    return rows


def run_listing(call: Call, listing: Listing, result: Any) -> dict:
    """Narrow, count, page and render what a list handler returned; the body of the answer."""
    offset, limit = page_bounds(call)
    if isinstance(result, QuerySet):
        rows = narrow(call, listing, result)
        ordering = list(rows.query.order_by or rows.model._meta.ordering or [])
        rows = rows.order_by(*ordering, "pk")  # a stable order, or pages overlap
        if listing.expand is not None:
            items: Sequence[Any] = list(listing.expand(call, rows))
            count = len(items)
            page = list(items[offset:offset + limit] if limit is not None else items[offset:])
        else:
            count = rows.count()
            page = list(rows[offset:offset + limit] if limit is not None else rows[offset:])
    else:
        items = list(listing.expand(call, result) if listing.expand is not None else result)
        count = len(items)
        page = items[offset:offset + limit] if limit is not None else items[offset:]
    rendered = [listing.render(call, item) for item in page]
    if listing.pending_jobs and page:
        _add_pending_jobs(call, page, rendered)
    if listing.tags and page:
        _add_tags(call, listing.tags, page, rendered)
    if listing.extend_page is not None and page:
        listing.extend_page(call, page, rendered)
    return list_body(listing.object_name, count, rendered)


def _add_pending_jobs(call: Call, page: list[Any], rendered: list[dict]) -> None:
    """CloudStack marks objects that have a job in progress with its `jobid` and `jobstatus` 0."""
    model_name = page[0]._meta.model_name
    ids = [str(item.uuid) for item in page]
    pending = (job_list(caller=call.caller, pending_only=True)
               .filter(instance_type=model_name, instance_id__in=ids).order_by("created"))
    latest = {job.instance_id: job for job in pending}
    for item, body in zip(page, rendered, strict=True):
        job = latest.get(str(item.uuid))
        if job is not None:
            body["jobid"] = str(job.uuid)
            body["jobstatus"] = AsyncJob.Status.PENDING.value


def _add_tags(call: Call, resource_type: str, page: list[Any], rendered: list[dict]) -> None:
    """Each listed object's "tags" (CloudStack's ResourceTagResponse list), one query for the page."""
    from portal.cloudstack_tags import render_tag
    from portal.selectors_tags import tags_for

    found = tags_for(resource_type, page)
    for item, body in zip(page, rendered, strict=True):
        body["tags"] = [render_tag(call, tag) for tag in found.get(item.pk, [])]
