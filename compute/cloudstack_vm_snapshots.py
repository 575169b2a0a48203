"""CloudStack API declarations of VM snapshots: createVMSnapshot, listVMSnapshot, revertToVMSnapshot and
deleteVMSnapshot. Parsing and rendering only; compute.services_vm_snapshots decides.

`quiescevm` is accepted and has no effect: only running VMs with their memory are snapshotted live, and QEMU
pauses the guest while it saves memory and disks together, so the snapshot is consistent without a guest agent.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from compute import services_vm_snapshots
from compute.models import VMSnapshot
from compute.selectors import vm_get
from compute.selectors_vm_snapshots import vm_snapshot_get, vm_snapshot_list
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.cloudstack.responses import owner_fields
from portal.models import AsyncJob

T = ParamType

VM_SNAPSHOT_FIELDS = (
    "id", "name", "displayname", "description", "state", "type", "current", "parent", "parentName", "created",
    "virtualmachineid", "virtualmachinename", "zoneid", "zonename", "hypervisor", "account", "domainid",
    "domain", "tags",
)


def render_vm_snapshot(call: Call, snapshot: VMSnapshot) -> dict[str, Any]:
    vm = snapshot.virtual_machine
    return {
        "id": str(snapshot.uuid),
        "name": snapshot.name,
        "displayname": snapshot.display_name or snapshot.name,
        "description": snapshot.description or None,
        "state": snapshot.state,
        "type": snapshot.snapshot_type,
        "current": snapshot.current,
        "parent": str(snapshot.parent.uuid) if snapshot.parent_id else None,
        "parentName": (snapshot.parent.display_name or snapshot.parent.name) if snapshot.parent_id else None,
        "created": snapshot.created,
        "virtualmachineid": str(vm.uuid),
        "virtualmachinename": vm.name,
        "zoneid": str(vm.zone.uuid),
        "zonename": vm.zone.name,
        "hypervisor": "KVM",
        **owner_fields(snapshot),
        "tags": [],
    }


register_object(ObjectType(
    model="vmsnapshot", name="vmsnapshot", instance_type="VMSnapshot",
    lookup=lambda caller, snapshot_id: vm_snapshot_get(caller=caller, snapshot_id=snapshot_id),
    render=render_vm_snapshot, fields=VM_SNAPSHOT_FIELDS,
))

VM_SNAPSHOT_ID = Param("vmsnapshotid", T.UUID, required=True,
                       description=gettext_lazy("The ID of the VM snapshot."))


def create_vm_snapshot(call: Call) -> tuple[VMSnapshot, AsyncJob]:
    vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid"))
    return services_vm_snapshots.vm_snapshot_create(
        caller=call.caller, vm=vm, name=call.get("name") or "", description=call.get("description") or "",
        memory=bool(call.get("snapshotmemory")))


register(Command(
    name="createVMSnapshot",
    description=gettext_lazy("Creates a snapshot of a virtual machine's disks, with its memory when it runs "
                             "(qcow2 disks only)."),
    action="vm.snapshot.create",
    handler=create_vm_snapshot,
    is_async=True,
    creates=True,
    response_object="vmsnapshot",
    params=(
        Param("virtualmachineid", T.UUID, required=True, description=gettext_lazy("The ID of the VM.")),
        Param("name", description=gettext_lazy("The display name of the snapshot (default: its name).")),
        Param("description", max_length=4096, description=gettext_lazy("The description of the snapshot.")),
        Param("snapshotmemory", T.BOOLEAN, default=False, description=gettext_lazy(
            "true includes the memory of the running VM; a running VM can only be snapshotted with its memory.")),
        Param("quiescevm", T.BOOLEAN, default=False, description=gettext_lazy(
            "Accepted for compatibility; a memory snapshot is consistent without quiescing.")),
    ),
))


def list_vm_snapshots(call: Call) -> QuerySet[VMSnapshot]:
    vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid")) if call.get("virtualmachineid") else None
    snapshots = vm_snapshot_list(caller=call.caller, vm=vm, state=call.get("state"), name=call.get("name"))
    if call.get("vmsnapshotid"):
        snapshots = snapshots.filter(uuid=call.get("vmsnapshotid"))
    if call.get("vmsnapshotids"):
        snapshots = snapshots.filter(uuid__in=call.get("vmsnapshotids"))
    return snapshots


register(Command(
    name="listVMSnapshot",
    description=gettext_lazy("Lists VM snapshots."),
    action="vm.snapshot.list",
    handler=list_vm_snapshots,
    response_object="vmsnapshot",
    params=(
        Param("vmsnapshotid", T.UUID, description=gettext_lazy("The ID of the VM snapshot.")),
        Param("vmsnapshotids", T.LIST, item_type=T.UUID, description=gettext_lazy(
            "The IDs of the VM snapshots (comma list).")),
        Param("virtualmachineid", T.UUID, description=gettext_lazy("The ID of the VM.")),
        Param("state", description=gettext_lazy("The state of the VM snapshot (e.g. Ready).")),
        Param("name", description=gettext_lazy("Lists snapshots by name or display name.")),
    ),
    listing=Listing(object_name="vmSnapshot", render=render_vm_snapshot, id_field=None, name_field=None,
                    keyword_fields=("name", "display_name", "description"), tenant=True, tags="VMSnapshot"),
))


def _snapshot(call: Call) -> VMSnapshot:
    return vm_snapshot_get(caller=call.caller, snapshot_id=call.get("vmsnapshotid"))


def revert_to_vm_snapshot(call: Call) -> AsyncJob:
    return services_vm_snapshots.vm_snapshot_revert(caller=call.caller, snapshot=_snapshot(call))


def delete_vm_snapshot(call: Call) -> AsyncJob:
    return services_vm_snapshots.vm_snapshot_delete(caller=call.caller, snapshot=_snapshot(call))


register(Command(
    name="revertToVMSnapshot",
    description=gettext_lazy("Reverts a virtual machine to a VM snapshot: its disks, its memory (a running VM, "
                             "snapshot with memory) and its service offering."),
    action="vm.snapshot.revert",
    handler=revert_to_vm_snapshot,
    is_async=True,
    response_object="virtualmachine",
    params=(VM_SNAPSHOT_ID,),
))

register(Command(
    name="deleteVMSnapshot",
    description=gettext_lazy("Deletes a VM snapshot."),
    action="vm.snapshot.delete",
    handler=delete_vm_snapshot,
    is_async=True,
    params=(VM_SNAPSHOT_ID,),
))
