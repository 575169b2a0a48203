"""CloudStack API declarations of the VM operations: updateVirtualMachine, changeServiceForVirtualMachine,
scaleVirtualMachine, attachIso, detachIso, resetSSHKeyForVirtualMachine, migrateVirtualMachine and
findHostsForMigration. Parsing and rendering only; compute.services_vm_ops and compute.services_migration
decide."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compute import services_migration, services_vm_ops
from compute.cloudinit import USER_DATA_PARAM_MAX_LENGTH, decode_user_data
from compute.cloudstack import VM_ID, render_vm
from compute.models import VirtualMachine
from compute.selectors import offering_get, vm_get
from infrastructure.cloudstack_hosts import HOST_FIELDS, render_host
from infrastructure.selectors_hosts import host_get
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.errors import InvalidParameter, Unsupported
from portal.models import AsyncJob
from storage.selectors_isos import iso_get

T = ParamType

VIRTUAL_MACHINE_ID = Param("virtualmachineid", T.UUID, required=True,
                           description=gettext_lazy("The ID of the virtual machine."))
DETAILS = Param("details", T.MAP, description=gettext_lazy(
    "Custom offering size: details[0].cpuNumber, details[0].cpuSpeed (MHz) and details[0].memory (MiB)."))


def _vm(call: Call, name: str = "id") -> VirtualMachine:
    return vm_get(caller=call.caller, vm_id=call.get(name))


def custom_size(call: Call) -> dict[str, int | None]:
    """details[0].cpuNumber=...: the size a custom offering leaves to the caller (wire names are lower-cased)."""
    merged: dict[str, str] = {}
    for entry in call.get("details") or []:
        merged.update(entry)
    size: dict[str, int | None] = {}
    for key, field in (("cpunumber", "cpu_number"), ("cpuspeed", "cpu_speed"), ("memory", "memory")):
        value = merged.get(key)
        try:
            size[field] = int(value) if value not in (None, "") else None
        except ValueError:
            raise InvalidParameter(_("details[0].%(key)s must be a whole number, not %(value)s.") % {
                "key": key, "value": value}) from None
        if size[field] is not None and size[field] < 1:
            raise InvalidParameter(_("details[0].%(key)s must be positive.") % {"key": key})
    return size


def update_virtual_machine(call: Call) -> dict[str, Any]:
    user_data = call.get("userdata")
    vm = services_vm_ops.vm_update(
        caller=call.caller, vm=_vm(call), name=call.get("name"), display_name=call.get("displayname"),
        group=call.get("group"), os_type=call.get("ostypeid"), ha_enabled=call.get("haenable"),
        user_data=decode_user_data(user_data) if user_data is not None else None)
    return {"virtualmachine": render_vm(call, vm)}


register(Command(
    name="updateVirtualMachine",
    description=gettext_lazy("Updates properties of a virtual machine. A new name or user data reaches the guest "
                             "at its next start."),
    action="vm.update",
    handler=update_virtual_machine,
    response_object="virtualmachine",
    params=(
        VM_ID,
        Param("name", max_length=63, description=gettext_lazy("New host name of the VM.")),
        Param("displayname", description=gettext_lazy("User-friendly name of the VM.")),
        Param("group", description=gettext_lazy("Group of the VM.")),
        Param("haenable", T.BOOLEAN, description=gettext_lazy(
            "true enables high availability (the offering must offer HA).")),
        Param("ostypeid", description=gettext_lazy("The OS type of the VM (kept as given).")),
        Param("userdata", max_length=USER_DATA_PARAM_MAX_LENGTH, description=gettext_lazy(
            "Base64-encoded cloud-init user data, up to 32 KB (send it with POST).")),
    ),
))


def change_service_for_virtual_machine(call: Call) -> dict[str, Any]:
    vm = _vm(call)
    offering = offering_get(caller=call.caller, offering_id=call.get("serviceofferingid"))
    vm = services_vm_ops.vm_change_offering(caller=call.caller, vm=vm, service_offering=offering,
                                            **custom_size(call))
    return {"virtualmachine": render_vm(call, vm)}


def scale_virtual_machine(call: Call) -> AsyncJob:
    vm = _vm(call)
    offering = offering_get(caller=call.caller, offering_id=call.get("serviceofferingid"))
    return services_vm_ops.vm_scale(caller=call.caller, vm=vm, service_offering=offering, **custom_size(call))


OFFERING_ID = Param("serviceofferingid", T.UUID, required=True,
                    description=gettext_lazy("The new service offering of the VM."))

register(Command(
    name="changeServiceForVirtualMachine",
    description=gettext_lazy("Changes the service offering of a stopped virtual machine."),
    action="vm.change_offering",
    handler=change_service_for_virtual_machine,
    response_object="virtualmachine",
    params=(VM_ID, OFFERING_ID, DETAILS),
))

register(Command(
    name="scaleVirtualMachine",
    description=gettext_lazy("Scales a virtual machine to a new service offering: live (up only) when it runs."),
    action="vm.scale",
    handler=scale_virtual_machine,
    is_async=True,
    response_object="virtualmachine",
    params=(VM_ID, OFFERING_ID, DETAILS),
))


def attach_iso(call: Call) -> AsyncJob:
    vm = _vm(call, "virtualmachineid")
    iso = iso_get(caller=call.caller, iso_id=call.get("id"), zone=vm.zone)
    return services_vm_ops.vm_attach_iso(caller=call.caller, vm=vm, iso=iso)


def detach_iso(call: Call) -> AsyncJob:
    return services_vm_ops.vm_detach_iso(caller=call.caller, vm=_vm(call, "virtualmachineid"))


register(Command(
    name="attachIso",
    description=gettext_lazy("Attaches an ISO to a virtual machine."),
    action="vm.iso",
    handler=attach_iso,
    is_async=True,
    response_object="virtualmachine",
    params=(Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the ISO.")), VIRTUAL_MACHINE_ID),
))

register(Command(
    name="detachIso",
    description=gettext_lazy("Detaches the ISO from a virtual machine."),
    action="vm.iso",
    handler=detach_iso,
    is_async=True,
    response_object="virtualmachine",
    params=(VIRTUAL_MACHINE_ID,),
))


def reset_ssh_key(call: Call) -> AsyncJob:
    names = list(call.get("keypairs") or [])
    if call.get("keypair"):
        names.insert(0, call.get("keypair"))
    if not names:
        raise InvalidParameter(_("Give keypair or keypairs."))
    return services_vm_ops.vm_reset_ssh_key(caller=call.caller, vm=_vm(call), key_pairs=names)


register(Command(
    name="resetSSHKeyForVirtualMachine",
    description=gettext_lazy("Resets the SSH key pairs of a stopped virtual machine; the guest gets them at its "
                             "next start."),
    action="vm.reset_ssh_key",
    handler=reset_ssh_key,
    is_async=True,
    response_object="virtualmachine",
    params=(
        VM_ID,
        Param("keypair", description=gettext_lazy("Name of the SSH key pair.")),
        Param("keypairs", T.LIST, description=gettext_lazy("Names of the SSH key pairs (comma list).")),
    ),
))


def migrate_virtual_machine(call: Call) -> AsyncJob:
    if call.get("storageid"):
        raise Unsupported(_("Migrating a VM's storage is not supported; migrate it to another host instead."))
    vm = _vm(call, "virtualmachineid")
    host = host_get(caller=call.caller, host_id=call.get("hostid")) if call.get("hostid") else None
    if host is None and call.get("autoselect") is False:
        raise InvalidParameter(_("Give hostid, or leave autoselect true to let the planner choose a host."))
    return services_migration.vm_migrate(caller=call.caller, vm=vm, host=host)


register(Command(
    name="migrateVirtualMachine",
    description=gettext_lazy("Live-migrates a running virtual machine to another host."),
    action="vm.migrate",
    handler=migrate_virtual_machine,
    is_async=True,
    response_object="virtualmachine",
    params=(
        VIRTUAL_MACHINE_ID,
        Param("hostid", T.UUID, description=gettext_lazy("Destination host; empty lets the planner choose.")),
        Param("autoselect", T.BOOLEAN, default=True, description=gettext_lazy(
            "Without hostid, let the planner choose a suitable host (the default).")),
        Param("storageid", T.UUID, description=gettext_lazy("Destination storage pool (not supported).")),
    ),
))

MIGRATION_FIELDS = (*HOST_FIELDS, "hasenoughcapacity", "suitableformigration", "requiresStorageMotion")


def render_migration_host(call: Call, candidate: services_migration.MigrationCandidate) -> dict[str, Any]:
    return {**render_host(call, candidate.host), "hasenoughcapacity": candidate.has_enough_capacity,
            "suitableformigration": candidate.suitable, "requiresStorageMotion": candidate.requires_storage_motion}


def find_hosts_for_migration(call: Call) -> list[services_migration.MigrationCandidate]:
    candidates = services_migration.hosts_for_migration(caller=call.caller, vm=_vm(call, "virtualmachineid"))
    keyword = (call.get("keyword") or "").lower()
    return [c for c in candidates if keyword in c.host.name.lower()]


register(Command(
    name="findHostsForMigration",
    description=gettext_lazy("Finds hosts a running virtual machine could migrate to, flagging suitable ones."),
    action="vm.migrate",
    handler=find_hosts_for_migration,
    response_object="host",
    response_fields=MIGRATION_FIELDS,
    params=(VIRTUAL_MACHINE_ID,),
    listing=Listing(object_name="host", render=render_migration_host, id_field=None, name_field=None,
                    keyword_fields=()),
))
