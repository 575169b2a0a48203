"""CloudStack API declarations of resource limits and counts: listResourceLimits, updateResourceLimit,
updateResourceCount. Imported by accounts.cloudstack (the module the registry autodiscovers).

CloudStack shows storage limits in GiB while it counts bytes; this door converts, the services keep bytes.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.cloudstack import owner_params
from accounts.limits import GIB, STORAGE_TYPES, UNLIMITED, ResourceCount, ResourceType
from accounts.models import Account, Domain
from accounts.selectors_limits import LimitView, resource_limit_list
from accounts.services_limits import resource_count_recalculate, resource_limit_update
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.errors import InvalidParameter

LIMIT_FIELDS = ("account", "domainid", "domain", "resourcetype", "resourcetypename", "max")
COUNT_FIELDS = ("account", "domainid", "domain", "resourcetype", "resourcetypename", "resourcecount")


def _resource_type(call: Call, *, required: bool = False) -> int | None:
    """`resourcetype` (CloudStack's number) or `resourcetypename`; an unknown one is a 431."""
    number, name = call.get("resourcetype"), call.get("resourcetypename")
    if number is None and name:
        by_name = {label: value for value, label in ResourceType.choices}
        if name not in by_name:
            raise InvalidParameter(_("Invalid resource type name %(name)s.") % {"name": name})
        return by_name[name]
    if number is None:
        if required:
            raise InvalidParameter(_("Either resourcetype or resourcetypename is required."))
        return None
    if number not in ResourceType.values:
        raise InvalidParameter(_("Invalid resource type %(type)s; valid types are %(valid)s.") % {
            "type": number, "valid": ", ".join(str(v) for v in ResourceType.values)})
    return number


def _owner_fields(account: Account | None, domain: Domain) -> dict[str, Any]:
    body: dict[str, Any] = {"domainid": str(domain.uuid), "domain": domain.name}
    if account is not None:
        body = {"account": account.name, **body}
    return body


def render_limit(call: Call, limit: LimitView) -> dict[str, Any]:
    value = limit.max
    if limit.resource_type in STORAGE_TYPES and value != UNLIMITED:
        value = value // GIB
    return {**_owner_fields(limit.account, limit.domain), "resourcetype": str(limit.resource_type),
            "resourcetypename": limit.type_name, "max": value}


def render_count(call: Call, counter: ResourceCount) -> dict[str, Any]:
    account = counter.account
    domain = account.domain if account is not None else counter.domain
    return {**_owner_fields(account, domain), "resourcetype": str(counter.resource_type),
            "resourcetypename": ResourceType(counter.resource_type).label, "resourcecount": counter.count}


OWNER_PARAMS = (
    Param("account", description=_("The account's name; use with domainid (default: the caller's domain).")),
    Param("domainid", ParamType.UUID, description=_("The domain; without account, the domain's own limits.")),
)
TYPE_PARAM = Param("resourcetype", ParamType.INTEGER, description=_(
    "Type of resource: 0 instances, 1 public IPs, 2 volumes, 3 snapshots, 4 templates, 6 networks, 8 CPU cores, "
    "9 memory (MiB), 10 primary storage (GiB), 11 secondary storage (GiB)."))


def list_resource_limits(call: Call) -> list[LimitView]:
    account, domain = owner_params(call)
    return resource_limit_list(caller=call.caller, account=account, domain=domain,
                               resource_type=_resource_type(call))


register(Command(
    name="listResourceLimits",
    description=_("Lists the resource limits of an account or a domain (the caller's account by default)."),
    action="limit.list",
    handler=list_resource_limits,
    params=(
        *OWNER_PARAMS,
        TYPE_PARAM,
        Param("resourcetypename", description=_("Type of resource by name, e.g. user_vm, cpu, memory.")),
    ),
    response_object="resourcelimit",
    response_fields=LIMIT_FIELDS,
    listing=Listing(object_name="resourcelimit", render=render_limit, id_field=None, name_field=None,
                    keyword_fields=()),
))


def update_resource_limit(call: Call) -> dict:
    account, domain = owner_params(call)
    if account is None and domain is None:
        domain = call.caller.account.domain
    resource_type = _resource_type(call, required=True)
    value = call.get("max")
    if value is not None and value != UNLIMITED and resource_type in STORAGE_TYPES:
        value *= GIB
    limit = resource_limit_update(caller=call.caller, account=account, domain=domain,
                                  resource_type=resource_type, max=value)
    view = LimitView(account=account, domain=account.domain if account is not None else domain,
                     resource_type=limit.resource_type, max=limit.max)
    return {"resourcelimit": render_limit(call, view)}


register(Command(
    name="updateResourceLimit",
    description=_("Sets the limit of one resource type for an account or a domain; -1 means unlimited."),
    action="limit.update",
    handler=update_resource_limit,
    params=(
        *OWNER_PARAMS,
        Param("resourcetype", ParamType.INTEGER, required=True, description=TYPE_PARAM.description),
        Param("max", ParamType.LONG, description=_("The maximum; -1 or nothing means unlimited.")),
    ),
    response_object="resourcelimit",
    response_fields=LIMIT_FIELDS,
))


def update_resource_count(call: Call) -> list[ResourceCount]:
    account, domain = owner_params(call)
    counters = resource_count_recalculate(caller=call.caller, account=account, domain=domain,
                                          resource_type=_resource_type(call))
    # Only the named owner's counters are answered; its subtree was recomputed too.
    if account is not None:
        return [c for c in counters if c.account_id == account.pk]
    return [c for c in counters if c.domain_id == domain.pk]


register(Command(
    name="updateResourceCount",
    description=_("Recomputes the resource counts of an account or a domain (and its subtree) from what "
                  "they really use."),
    action="count.update",
    handler=update_resource_count,
    params=(
        Param("domainid", ParamType.UUID, required=True, description=_("The domain, or the account's domain.")),
        Param("account", description=_("The account's name in that domain.")),
        TYPE_PARAM,
    ),
    response_object="resourcecount",
    response_fields=COUNT_FIELDS,
    listing=Listing(object_name="resourcecount", render=render_count, id_field=None, name_field=None,
                    keyword_fields=()),
))
