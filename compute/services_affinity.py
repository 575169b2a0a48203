"""Writes on affinity groups, and what they mean for placement.

A `host anti-affinity` group keeps its VMs on different hosts; a `host affinity` group keeps them on one host.
Placement asks `affinity_constraints(vm)` for the hosts to avoid and the hosts allowed, and the planners'
SQL filter applies them (infrastructure.placement.Request), so an impossible combination fails like any other
lack of room (533). Membership changes only while a VM is stopped (CloudStack's updateVMAffinityGroup), so a
running VM never violates its groups. Deleting a group in use removes the memberships, as CloudStack does.

CloudStack runs createAffinityGroup, deleteAffinityGroup and updateVMAffinityGroup as async jobs; the work
here is database-only, so it is done in the request's transaction and the job only records the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, User
from compute.models import AffinityGroup, VirtualMachine
from compute.services_keypairs import resolve_owner
from compute.states import VmState
from portal.authz import authorize
from portal.errors import InvalidParameter, InvalidState
from portal.jobs import JobOutcome, job_submit
from portal.models import AsyncJob

GROUP_TYPES = tuple(AffinityGroup.Type.values)
# VMs holding a host: those count for their groups' constraints.
PLACED_STATES = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.MIGRATING)
JOB_MODULE = "compute.services_affinity"


def affinity_constraints(vm: VirtualMachine, groups: Sequence[AffinityGroup] | None = None,
                         ) -> tuple[frozenset[int], frozenset[int] | None]:
    """(hosts to avoid, hosts allowed or None for any) for placing `vm`, from the hosts its fellow group
    members hold now. `groups` overrides the VM's memberships (a deploy places before it saves them)."""
    if groups is None:
        groups = list(vm.affinity_groups.all()) if vm.pk else []
    if not groups:
        return frozenset(), None
    kinds = {group.pk: group.group_type for group in groups}
    through = AffinityGroup.virtual_machines.through
    rows = (through.objects.filter(affinitygroup_id__in=kinds, virtualmachine__host__isnull=False,
                                   virtualmachine__removed__isnull=True,
                                   virtualmachine__state__in=PLACED_STATES)
            .exclude(virtualmachine_id=vm.pk).values_list("affinitygroup_id", "virtualmachine__host_id"))
    avoid: set[int] = set()
    together: dict[int, set[int]] = {}
    for group_id, host_id in rows:
        if kinds[group_id] == AffinityGroup.Type.HOST_ANTI_AFFINITY:
            avoid.add(host_id)
        else:
            together.setdefault(group_id, set()).add(host_id)
    only: set[int] | None = None
    for hosts in together.values():
        only = set(hosts) if only is None else only & hosts
    return frozenset(avoid), frozenset(only) if only is not None else None


def run_recorded(job: AsyncJob) -> JobOutcome:
    """The job of a change already made in the request: it reports the object (or success) to the poller."""
    if job.params.get("object"):
        return JobOutcome(object_type=job.params["object"], object_id=job.instance_id)
    return JobOutcome(text=job.params.get("text", ""))


def _record(caller: User, account: Account, cmd: str, instance: AffinityGroup | VirtualMachine, event_type: str,
            description: str, *, report_object: bool) -> AsyncJob:
    params = {"object": instance._meta.model_name} if report_object else {"text": description}
    return job_submit(caller=caller, account=account, cmd=cmd, handler=f"{JOB_MODULE}.run_recorded",
                      instance=instance, event_type=event_type, description=description, params=params)


@transaction.atomic
def affinity_group_create(*, caller: User, name: str, group_type: str, description: str = "",
                          account: Account | None = None) -> tuple[AffinityGroup, AsyncJob]:
    owner = resolve_owner(caller=caller, action="affinity.create", account=account)
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("An affinity group needs a name."))
    if group_type not in GROUP_TYPES:
        raise InvalidParameter(_("Unable to create affinity group, invalid affinity group type %(type)s; use one "
                                 "of: %(types)s.") % {"type": group_type, "types": ", ".join(GROUP_TYPES)})
    if AffinityGroup.objects.filter(account=owner, name=name).exists():
        raise InvalidParameter(_("Unable to create affinity group, a group with name %(name)s already exists.")
                               % {"name": name})
    group = AffinityGroup.objects.create(name=name, group_type=group_type, description=description or "",
                                         account=owner, domain_id=owner.domain_id)
    job = _record(caller, owner, "createAffinityGroup", group, "AG.CREATE",
                  _("Created affinity group %(name)s") % {"name": name}, report_object=True)
    return group, job


@transaction.atomic
def affinity_group_delete(*, caller: User, group: AffinityGroup) -> AsyncJob:
    """Deletes the group; VMs in it simply leave it (CloudStack removes the memberships too)."""
    authorize(caller, "affinity.delete", group)
    from portal.services_tags import tags_remove_for

    tags_remove_for(resource_type="AffinityGroup", resource_ids=[group.pk])
    group.virtual_machines.clear()
    job = _record(caller, group.account, "deleteAffinityGroup", group, "AG.DELETE",
                  _("Deleted affinity group %(name)s") % {"name": group.name}, report_object=False)
    AffinityGroup.objects.filter(pk=group.pk).delete()
    return job


def _check_members(vm: VirtualMachine, groups: Iterable[AffinityGroup]) -> list[AffinityGroup]:
    groups = list(dict.fromkeys(groups))
    for group in groups:
        if group.account_id != vm.account_id:
            raise InvalidParameter(_("Affinity group %(group)s belongs to another account than VM %(vm)s.")
                                   % {"group": group.name, "vm": vm.name})
    return groups


def affinity_groups_join(*, vm: VirtualMachine, groups: Iterable[AffinityGroup]) -> None:
    """Put a new VM into its groups (deploy): the groups must be the VM's account's."""
    vm.affinity_groups.add(*_check_members(vm, groups))


@transaction.atomic
def vm_update_affinity_groups(*, caller: User, vm: VirtualMachine, groups: Iterable[AffinityGroup]
                              ) -> AsyncJob:
    """Replace a stopped VM's groups; they take effect at its next start."""
    authorize(caller, "affinity.update_vm", vm)
    vm = VirtualMachine.objects.select_for_update().get(pk=vm.pk)
    if vm.state != VmState.STOPPED:
        raise InvalidState(_("VM %(name)s must be Stopped to update its affinity groups (it is %(state)s).")
                           % {"name": vm.name, "state": vm.state})
    groups = _check_members(vm, groups)
    vm.affinity_groups.set(groups)
    return _record(caller, vm.account, "updateVMAffinityGroup", vm, "VM.AG.UPDATE",
                   _("Updated the affinity groups of VM %(name)s") % {"name": vm.name}, report_object=True)
