"""CloudStack API declarations of the VM lifecycle: deployVirtualMachine with all its options, and
recoverVirtualMachine, expungeVirtualMachine, restoreVirtualMachine. Start, stop, reboot and destroy stay in
compute.cloudstack."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from compute import services
from compute.cloudinit import USER_DATA_PARAM_MAX_LENGTH, decode_user_data
from compute.cloudstack import VM_ID, render_vm
from compute.models import AffinityGroup, VirtualMachine
from compute.selectors import offering_get, vm_get
from infrastructure.models import Host
from infrastructure.selectors import host_list, zone_get
from portal.cloudstack.registry import Call, Command, Param, ParamType, register
from portal.errors import InvalidParameter
from portal.lookup import get_by_uuid
from portal.models import AsyncJob
from storage.models import DiskOffering, Template

T = ParamType


def host_get(call: Call, host_id: str | None) -> Host | None:
    """hostid: a host the caller may see (root admins; others see none and get 'not found')."""
    if not host_id:
        return None
    return get_by_uuid(host_list(caller=call.caller), host_id, _("a host"))


def _image(call: Call, zone: object) -> Template:
    """templateid names a template, or a bootable ISO to install from (then diskofferingid sizes the root)."""
    try:
        from storage.selectors_isos import image_get_executable
    except ImportError:
        from storage.selectors import template_get_executable

        return template_get_executable(caller=call.caller, template_id=call.get("templateid"), zone=zone)
    return image_get_executable(caller=call.caller, image_id=call.get("templateid"), zone=zone)


def _disk_offering(call: Call) -> DiskOffering | None:
    offering_id = call.get("diskofferingid")
    if not offering_id:
        return None
    from storage.selectors_disk_offerings import disk_offering_get

    return disk_offering_get(caller=call.caller, offering_id=offering_id)


def _details(call: Call) -> dict[str, int]:
    """details[0].cpuNumber / cpuSpeed / memory (custom offerings), as whole numbers."""
    found: dict[str, int] = {}
    for entry in call.get("details") or []:
        for key, value in entry.items():
            name = {"cpunumber": "cpu_number", "cpuspeed": "cpu_speed", "memory": "memory"}.get(key.lower())
            if name is None:
                continue
            try:
                found[name] = int(value)
            except ValueError as exc:
                raise InvalidParameter(_("details[].%(key)s must be a whole number.") % {"key": key}) from exc
    return found


def _affinity(call: Call, owner: Account | None) -> list[AffinityGroup]:
    from compute.selectors_affinity import affinity_group_get

    groups = [affinity_group_get(caller=call.caller, group_id=group_id)
              for group_id in call.get("affinitygroupids") or []]
    groups += [affinity_group_get(caller=call.caller, name=name, account=owner)
               for name in call.get("affinitygroupnames") or []]
    return groups


def _owner_account(call: Call) -> Account | None:
    from compute.cloudstack import _owner_account as owner

    return owner(call)


def deploy_virtual_machine(call: Call) -> tuple[VirtualMachine, AsyncJob]:
    zone = zone_get(caller=call.caller, zone_id=call.get("zoneid"))
    offering = offering_get(caller=call.caller, offering_id=call.get("serviceofferingid"))
    template = _image(call, zone)
    owner = _owner_account(call)
    if call.get("affinitygroupids") and call.get("affinitygroupnames"):
        raise InvalidParameter(_("Give either affinitygroupids or affinitygroupnames, not both."))
    key_pairs = list(call.get("keypairs") or [])
    if call.get("keypair"):
        key_pairs.insert(0, call.get("keypair"))
    size = call.get("size")
    root_size = call.get("rootdisksize")
    return services.vm_deploy(
        caller=call.caller, zone=zone, service_offering=offering, template=template,
        name=call.get("name"), display_name=call.get("displayname", ""), start_vm=call.get("startvm"),
        account=owner, disk_offering=_disk_offering(call), size_gb=size, root_disk_size_gb=root_size,
        key_pairs=key_pairs, user_data=decode_user_data(call.get("userdata")),
        affinity_groups=_affinity(call, owner), host=host_get(call, call.get("hostid")),
        group=call.get("group", ""), **_details(call),
    )


register(Command(
    name="deployVirtualMachine",
    description=gettext_lazy("Creates and automatically starts a virtual machine based on a service offering, "
                             "disk offering, and template."),
    action="vm.deploy",
    handler=deploy_virtual_machine,
    is_async=True,
    creates=True,
    response_object="virtualmachine",
    params=(
        Param("zoneid", T.UUID, required=True, description=gettext_lazy("The zone to deploy the VM in.")),
        Param("serviceofferingid", T.UUID, required=True,
              description=gettext_lazy("The service offering (CPU and memory) of the VM.")),
        Param("templateid", T.UUID, required=True, description=gettext_lazy(
            "The template to deploy from, or a bootable ISO to install from (then diskofferingid is required).")),
        Param("name", max_length=63,
              description=gettext_lazy("Host name of the VM: letters, digits and hyphens, starting with a "
                                       "letter.")),
        Param("displayname", description=gettext_lazy("An optional user-friendly name for the VM.")),
        Param("group", description=gettext_lazy("An optional group for the VM.")),
        Param("startvm", T.BOOLEAN, default=True,
              description=gettext_lazy("true (the default) starts the VM after creating it.")),
        Param("diskofferingid", T.UUID, description=gettext_lazy(
            "From a template: a data disk of this disk offering. From an ISO: the root disk's offering.")),
        Param("size", T.LONG, description=gettext_lazy("The disk size in GiB, for a custom-size disk offering.")),
        Param("rootdisksize", T.LONG, description=gettext_lazy(
            "The root disk size in GiB (at least the template's size).")),
        Param("details", T.MAP, description=gettext_lazy(
            "For a custom service offering: details[0].cpuNumber, details[0].cpuSpeed, details[0].memory.")),
        Param("keypair", description=gettext_lazy("The name of an SSH key pair of the owning account.")),
        Param("keypairs", T.LIST, description=gettext_lazy("Names of SSH key pairs of the owning account.")),
        Param("userdata", max_length=USER_DATA_PARAM_MAX_LENGTH, description=gettext_lazy(
            "cloud-init user-data, base64-encoded (at most 32768 base64 characters, vm.userdata.max.length); "
            "served by a config drive.")),
        Param("affinitygroupids", T.LIST, item_type=T.UUID,
              description=gettext_lazy("Ids of affinity groups to put the VM in.")),
        Param("affinitygroupnames", T.LIST,
              description=gettext_lazy("Names of affinity groups to put the VM in (not with affinitygroupids).")),
        Param("hostid", T.UUID, description=gettext_lazy("Deploy on this host (root administrators).")),
        Param("account", description=gettext_lazy("The account that will own the VM (with domainid).")),
        Param("domainid", T.UUID, description=gettext_lazy("The domain of the owning account.")),
    ),
))


def recover_virtual_machine(call: Call) -> dict[str, Any]:
    vm = services.vm_recover(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))
    return {"virtualmachine": render_vm(call, vm_get(caller=call.caller, vm_id=str(vm.uuid)))}


def expunge_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_expunge(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))


def restore_virtual_machine(call: Call) -> AsyncJob:
    vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid"))
    template = None
    if call.get("templateid"):
        from storage.selectors import template_get_executable

        template = template_get_executable(caller=call.caller, template_id=call.get("templateid"), zone=vm.zone)
    return services.vm_restore(caller=call.caller, vm=vm, template=template)


register(Command(
    name="recoverVirtualMachine",
    description=gettext_lazy("Recovers a virtual machine."),
    action="vm.recover",
    handler=recover_virtual_machine,
    response_object="virtualmachine",
    params=(VM_ID,),
))

register(Command(
    name="expungeVirtualMachine",
    description=gettext_lazy("Expunge a virtual machine. Once expunged, it cannot be recoverd."),
    action="vm.expunge",
    handler=expunge_virtual_machine,
    is_async=True,
    params=(VM_ID,),
))

register(Command(
    name="restoreVirtualMachine",
    description=gettext_lazy("Restore a VM to original template/ISO or new template/ISO"),
    action="vm.restore",
    handler=restore_virtual_machine,
    is_async=True,
    response_object="virtualmachine",
    params=(
        Param("virtualmachineid", T.UUID, required=True, description=gettext_lazy("Virtual Machine ID")),
        Param("templateid", T.UUID, description=gettext_lazy(
            "An optional template ID to restore the VM from; the VM's own template when omitted.")),
    ),
))
