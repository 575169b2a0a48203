"""CloudStack API declarations of compute: virtual machines (service offerings: compute.cloudstack_offerings)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.cloudstack import owner_params
from accounts.models import Account
from compute import services
from compute.models import VirtualMachine
from compute.selectors import VmFilters, vm_get, vm_list
from portal.authz import can, owns
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.cloudstack.responses import owner_fields
from portal.errors import InvalidParameter
from portal.models import AsyncJob

T = ParamType

# --- virtual machines -----------------------------------------------------------------------------------

VM_FIELDS = (
    "id", "name", "displayname", "account", "domainid", "domain", "userid", "username", "created", "state",
    "haenable", "zoneid", "zonename", "templateid", "templatename", "templatedisplaytext", "passwordenabled",
    "serviceofferingid", "serviceofferingname", "cpunumber", "cpuspeed", "memory", "rootdeviceid",
    "rootdevicetype", "hypervisor", "isdynamicallyscalable", "nic", "securitygroup", "affinitygroup", "tags",
    "hostid", "hostname", "instancename", "jobid", "jobstatus", "group", "osdisplayname", "isoid", "isoname",
    "isodisplaytext", "keypairs", "keypair",
)


def render_vm(call: Call, vm: VirtualMachine) -> dict[str, Any]:
    offering, template = vm.service_offering, vm.template
    # Where a VM runs is infrastructure detail: shown to whoever may list hosts (root admins).
    show_host = can(call.caller, "host.list")
    # Who in the owning account created it is that tenant's business: a user who sees the VM only through a
    # grant on it learns the owning account (the VM names it in every door), not its users.
    show_creator = vm.user_id is not None and owns(call.caller, vm)
    body: dict[str, Any] = {
        "id": str(vm.uuid),
        "name": vm.name,
        "displayname": vm.display_name or vm.name,
        **owner_fields(vm),
        "userid": str(vm.user.uuid) if show_creator else None,
        "username": vm.user.username if show_creator else None,
        "created": vm.created,
        "state": vm.state,
        "haenable": vm.ha_enabled,
        "zoneid": str(vm.zone.uuid),
        "zonename": vm.zone.name,
        "templateid": str(template.uuid),
        "templatename": template.name,
        "templatedisplaytext": template.display_text or template.name,
        "passwordenabled": False,
        "serviceofferingid": str(offering.uuid),
        "serviceofferingname": offering.name,
        "cpunumber": vm.cpu_number,
        "cpuspeed": vm.cpu_speed,
        "memory": vm.memory,
        "rootdeviceid": 0,
        "rootdevicetype": "ROOT",
        "hypervisor": template.hypervisor,
        "isdynamicallyscalable": vm.dynamically_scalable and offering.dynamic_scaling_enabled,
        "nic": [],
        "securitygroup": [],
        "affinitygroup": [{"id": str(group.uuid), "name": group.name, "type": group.group_type,
                           "description": group.description} for group in vm.affinity_groups.all()],
        "tags": [],
    }
    if vm.group:
        body["group"] = vm.group
    body["osdisplayname"] = vm.effective_os_type
    if vm.iso_id is not None:
        body.update(isoid=str(vm.iso.uuid), isoname=vm.iso.name, isodisplaytext=vm.iso.display_text or vm.iso.name)
    if vm.key_pair_names:
        # `keypairs` since CloudStack 4.17; clients written earlier (libcloud's key_name) read `keypair`.
        body["keypairs"] = body["keypair"] = vm.key_pair_names
    if show_host:
        body["instancename"] = vm.instance_name
        if vm.host_id:
            body["hostid"] = str(vm.host.uuid)
            body["hostname"] = vm.host.name
    return body


register_object(ObjectType(
    model="virtualmachine", name="virtualmachine", instance_type="VirtualMachine",
    lookup=lambda caller, vm_id: vm_get(caller=caller, vm_id=vm_id),
    render=render_vm, fields=VM_FIELDS,
))

VM_ID = Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the virtual machine."))


def _owner_account(call: Call) -> Account | None:
    """deployVirtualMachine's account + domainid: deploy on behalf of another account (admins). A VM belongs
    to an account, so a domain alone names no owner."""
    account, domain = owner_params(call)
    if account is None and domain is not None:
        raise InvalidParameter(_("domainid must be used together with account."))
    return account


def list_virtual_machines(call: Call) -> QuerySet[VirtualMachine]:
    # `id` goes to the selector too: asked for by id, a Destroyed VM is still listed, as in CloudStack.
    return vm_list(caller=call.caller, filters=VmFilters(
        id=call.get("id"), state=call.get("state"), zone_id=call.get("zoneid"))).select_related(
        "iso").prefetch_related("affinity_groups")


LIST_VIRTUAL_MACHINES = register(Command(
    name="listVirtualMachines",
    description=gettext_lazy("Lists virtual machines."),
    action="vm.list",
    handler=list_virtual_machines,
    response_object="virtualmachine",
    params=(
        Param("state", description=gettext_lazy("List VMs in this state (e.g. Running, Stopped).")),
        Param("zoneid", T.UUID, description=gettext_lazy("List VMs in this zone.")),
    ),
    listing=Listing(object_name="virtualmachine", render=render_vm, name_substring=True,
                    keyword_fields=("name", "display_name"), tenant=True, pending_jobs=True,
                    tags="UserVm", extend_page=lambda call, page, rendered: cloudstack_metrics.add_vm_stats(
                        call, page, rendered)),  # cpuused, networkkbsread, ... (compute.cloudstack_metrics)
))


def start_virtual_machine(call: Call) -> AsyncJob:
    from compute.cloudstack_lifecycle import host_get

    return services.vm_start(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")),
                             host=host_get(call, call.get("hostid")))


def stop_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_stop(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")),
                            forced=call.get("forced"))


def reboot_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_reboot(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))


def destroy_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_destroy(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")),
                               expunge=bool(call.get("expunge")))


for _name, _handler, _text, _action, _extra in (
    ("startVirtualMachine", start_virtual_machine, gettext_lazy("Starts a virtual machine."), "vm.start",
     (Param("hostid", T.UUID, description=gettext_lazy("Start the VM on this host (root administrators).")),)),
    ("stopVirtualMachine", stop_virtual_machine, gettext_lazy("Stops a virtual machine."), "vm.stop",
     (Param("forced", T.BOOLEAN, default=False,
            description=gettext_lazy("Power the VM off at once instead of asking the guest to shut down.")),)),
    ("rebootVirtualMachine", reboot_virtual_machine, gettext_lazy("Reboots a virtual machine."), "vm.reboot", ()),
    ("destroyVirtualMachine", destroy_virtual_machine, gettext_lazy("Destroys a virtual machine."), "vm.destroy",
     (Param("expunge", T.BOOLEAN, default=False,
            description=gettext_lazy("Expunge at once instead of after the expunge delay (administrators, or "
                                     "users when allow.user.expunge.recover.vm is true).")),)),
):
    register(Command(name=_name, description=_text, action=_action, handler=_handler, is_async=True,
                     response_object="virtualmachine", params=(VM_ID, *_extra)))


import compute.cloudstack_affinity  # noqa: E402  (affinity groups)
import compute.cloudstack_console  # noqa: E402  (createConsoleEndpoint)
import compute.cloudstack_keypairs  # noqa: E402  (SSH key pairs)
import compute.cloudstack_lifecycle  # noqa: E402  (deploy options, recover, expunge, restore)
import compute.cloudstack_metrics as cloudstack_metrics  # noqa: E402  (stats fields, listVirtualMachinesMetrics)
import compute.cloudstack_offerings as cloudstack_offerings  # noqa: E402, F401  (service offerings)
import compute.cloudstack_vm_snapshots  # noqa: E402, F401  (createVMSnapshot, listVMSnapshot, revert, delete)
from compute import cloudstack_vm_ops  # noqa: E402, F401  (update, scale, ISO, SSH keys, migration)
