"""Reads of affinity groups, scoped to the caller's tenancy."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, User
from compute.models import AffinityGroup, VirtualMachine
from portal.authz import authorize, scope
from portal.errors import InvalidParameter, NotFound
from portal.lookup import get_by_uuid


def affinity_group_list(*, caller: User, with_members: bool = False) -> QuerySet[AffinityGroup]:
    """With with_members, each group's live VMs come prefetched (one query for a page: virtualmachineIds)."""
    authorize(caller, "affinity.list")
    groups = scope(caller, AffinityGroup.objects.select_related("account", "domain"))
    if with_members:
        groups = groups.prefetch_related(Prefetch(
            "virtual_machines", queryset=VirtualMachine.objects.filter(removed__isnull=True).only("pk", "uuid",
                                                                                                  "name"),
            to_attr="live_members"))
    return groups


def affinity_group_get(*, caller: User, group_id: str | None = None, name: str | None = None,
                       account: Account | None = None) -> AffinityGroup:
    """By id, or by name within an account (the caller's unless an admin names another): CloudStack lets
    deleteAffinityGroup and deploy name groups either way."""
    groups = affinity_group_list(caller=caller)
    if group_id:
        return get_by_uuid(groups, group_id, _("an affinity group"))
    if not name:
        raise InvalidParameter(_("Either id or name of the affinity group is required."))
    owner = account or caller.account
    group = groups.filter(account=owner, name=name).first() if owner is not None else None
    if group is None:
        raise NotFound(_("Unable to find affinity group %(name)s.") % {"name": name})
    return group
