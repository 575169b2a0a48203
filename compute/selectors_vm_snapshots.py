"""Reads of VM snapshots, scoped to the caller: the snapshots of the VMs the caller may see.

Scoping goes through the VM (portal.authz.scope on VirtualMachine), so a user someone shared one VM with sees
that VM's snapshots as they see the VM; whether they may take, revert or delete one is the services' decision
(OBJECT_PERMISSIONS maps those actions to the VM's "change" grant).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from compute.models import VirtualMachine, VMSnapshot
from portal.authz import authorize, scope
from portal.lookup import get_by_uuid

SNAPSHOT_RELATED = ("virtual_machine", "virtual_machine__zone", "parent", "service_offering", "account", "domain")


def vm_snapshot_list(*, caller: User, vm: VirtualMachine | None = None, state: str | None = None,
                     name: str | None = None, keyword: str | None = None) -> QuerySet[VMSnapshot]:
    """Existing (not Removed) snapshots, newest first. `name` matches the name or the display name exactly, as
    CloudStack's listVMSnapshot does."""
    authorize(caller, "vm.snapshot.list")
    visible_vms = scope(caller, VirtualMachine.objects.filter(removed__isnull=True)).values("pk")
    snapshots = VMSnapshot.objects.select_related(*SNAPSHOT_RELATED).filter(
        removed__isnull=True, virtual_machine__in=visible_vms)
    if vm is not None:
        snapshots = snapshots.filter(virtual_machine=vm)
    if state:
        snapshots = snapshots.filter(state__iexact=state)
    if name:
        snapshots = snapshots.filter(Q(name=name) | Q(display_name=name))
    if keyword:
        snapshots = snapshots.filter(Q(name__icontains=keyword) | Q(display_name__icontains=keyword)
                                     | Q(description__icontains=keyword))
    return snapshots


def vm_snapshot_get(*, caller: User, snapshot_id: str) -> VMSnapshot:
    """One snapshot by uuid; another tenant's, a removed or a malformed id is NotFound."""
    return get_by_uuid(vm_snapshot_list(caller=caller), snapshot_id, _("a VM snapshot"))
