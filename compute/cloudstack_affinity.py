"""CloudStack API declarations of affinity groups: createAffinityGroup, deleteAffinityGroup,
listAffinityGroups, listAffinityGroupTypes and updateVMAffinityGroup (CloudStack 4.19 names, parameters and
response fields, including the mixed-case `virtualmachineIds` and `affinityGroupType` CloudStack answers
with). Parsing and rendering only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compute import services_affinity
from compute.cloudstack_keypairs import OWNER_PARAMS, owner_account
from compute.models import AffinityGroup, VirtualMachine
from compute.selectors import vm_get
from compute.selectors_affinity import affinity_group_get, affinity_group_list
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.cloudstack.responses import owner_fields
from portal.errors import InvalidParameter
from portal.models import AsyncJob

T = ParamType
AFFINITY_GROUP_FIELDS = ("id", "name", "description", "type", "account", "domainid", "domain",
                         "virtualmachineIds")


def render_affinity_group(call: Call, group: AffinityGroup) -> dict[str, Any]:
    members = getattr(group, "live_members", None)
    if members is None:
        members = group.virtual_machines.filter(removed__isnull=True).only("uuid")
    return {
        "id": str(group.uuid),
        "name": group.name,
        "description": group.description or None,
        "type": group.group_type,
        **owner_fields(group),
        "virtualmachineIds": [str(vm.uuid) for vm in members],
    }


register_object(ObjectType(
    model="affinitygroup", name="affinitygroup", instance_type="AffinityGroup",
    lookup=lambda caller, group_id: affinity_group_get(caller=caller, group_id=group_id),
    render=render_affinity_group, fields=AFFINITY_GROUP_FIELDS,
))


def create_affinity_group(call: Call) -> tuple[AffinityGroup, AsyncJob]:
    return services_affinity.affinity_group_create(
        caller=call.caller, name=call.get("name"), group_type=call.get("type"),
        description=call.get("description") or "", account=owner_account(call))


register(Command(
    name="createAffinityGroup",
    description=gettext_lazy("Creates an affinity group: its VMs go to one host (host affinity) or to "
                             "different hosts (host anti-affinity)."),
    action="affinity.create",
    handler=create_affinity_group,
    is_async=True,
    creates=True,
    response_object="affinitygroup",
    params=(
        Param("name", required=True, description=gettext_lazy("Name of the affinity group.")),
        Param("type", required=True, description=gettext_lazy(
            "Type of the group: \"host anti-affinity\" or \"host affinity\".")),
        Param("description", max_length=4096, description=gettext_lazy("Description of the group.")),
        *OWNER_PARAMS,
    ),
))


def delete_affinity_group(call: Call) -> AsyncJob:
    group = affinity_group_get(caller=call.caller, group_id=call.get("id"), name=call.get("name"),
                               account=owner_account(call))
    return services_affinity.affinity_group_delete(caller=call.caller, group=group)


register(Command(
    name="deleteAffinityGroup",
    description=gettext_lazy("Deletes an affinity group; its VMs leave it."),
    action="affinity.delete",
    handler=delete_affinity_group,
    is_async=True,
    params=(
        Param("id", T.UUID, description=gettext_lazy("The ID of the group (or give name).")),
        Param("name", description=gettext_lazy("The name of the group (or give id).")),
        *OWNER_PARAMS,
    ),
))


def list_affinity_groups(call: Call) -> QuerySet[AffinityGroup]:
    groups = affinity_group_list(caller=call.caller, with_members=True)
    if call.get("type"):
        groups = groups.filter(group_type=call.get("type"))
    if call.get("virtualmachineid"):
        vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid"))
        groups = groups.filter(virtual_machines=vm)
    return groups


register(Command(
    name="listAffinityGroups",
    description=gettext_lazy("Lists affinity groups."),
    action="affinity.list",
    handler=list_affinity_groups,
    response_object="affinitygroup",
    params=(
        Param("type", description=gettext_lazy("List groups of this type.")),
        Param("virtualmachineid", T.UUID, description=gettext_lazy("List the groups of this VM.")),
    ),
    listing=Listing(object_name="affinitygroup", render=render_affinity_group,
                    keyword_fields=("name", "description"), tenant=True),
))


def list_affinity_group_types(call: Call) -> list[dict[str, str]]:
    return [{"type": group_type} for group_type in services_affinity.GROUP_TYPES]


register(Command(
    name="listAffinityGroupTypes",
    description=gettext_lazy("Lists the types of affinity groups."),
    action="affinity.list",
    handler=list_affinity_group_types,
    response_fields=("type",),
    listing=Listing(object_name="affinityGroupType", render=lambda call, item: dict(item), id_field=None,
                    name_field=None, keyword_fields=()),
))


def update_vm_affinity_group(call: Call) -> AsyncJob:
    vm: VirtualMachine = vm_get(caller=call.caller, vm_id=call.get("id"))
    ids, names = call.get("affinitygroupids"), call.get("affinitygroupnames")
    if ids is not None and names is not None:
        raise InvalidParameter(_("affinitygroupids and affinitygroupnames are mutually exclusive."))
    if ids is None and names is None:
        raise InvalidParameter(_("Either affinitygroupids or affinitygroupnames is required."))
    if ids is not None:
        groups = [affinity_group_get(caller=call.caller, group_id=group_id) for group_id in ids]
    else:
        groups = [affinity_group_get(caller=call.caller, name=name, account=vm.account) for name in names]
    return services_affinity.vm_update_affinity_groups(caller=call.caller, vm=vm, groups=groups)


register(Command(
    name="updateVMAffinityGroup",
    description=gettext_lazy("Replaces the affinity groups of a stopped VM; they apply from its next start."),
    action="affinity.update_vm",
    handler=update_vm_affinity_group,
    is_async=True,
    response_object="virtualmachine",
    params=(
        Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the virtual machine.")),
        Param("affinitygroupids", T.LIST, item_type=T.UUID, max_length=8192, description=gettext_lazy(
            "The VM's new groups by id, comma-separated (mutually exclusive with affinitygroupnames).")),
        Param("affinitygroupnames", T.LIST, max_length=8192, description=gettext_lazy(
            "The VM's new groups by name, comma-separated.")),
    ),
))
