"""CloudStack API declarations of compute: virtual machines and service offerings."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.cloudstack import owner_params
from accounts.models import Account
from compute import services
from compute.models import ServiceOffering, VirtualMachine
from compute.selectors import VmFilters, offering_get, offering_list, vm_get, vm_list
from infrastructure.selectors import zone_get
from portal.authz import can, owns
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.cloudstack.responses import owner_fields
from portal.errors import InvalidParameter, Unsupported
from portal.models import AsyncJob
from storage.selectors import template_get_executable

T = ParamType

# --- virtual machines -----------------------------------------------------------------------------------

VM_FIELDS = (
    "id", "name", "displayname", "account", "domainid", "domain", "userid", "username", "created", "state",
    "haenable", "zoneid", "zonename", "templateid", "templatename", "templatedisplaytext", "passwordenabled",
    "serviceofferingid", "serviceofferingname", "cpunumber", "cpuspeed", "memory", "rootdeviceid",
    "rootdevicetype", "hypervisor", "isdynamicallyscalable", "nic", "securitygroup", "affinitygroup", "tags",
    "hostid", "hostname", "instancename", "jobid", "jobstatus",
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
        "haenable": False,
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
        "isdynamicallyscalable": False,
        "nic": [],
        "securitygroup": [],
        "affinitygroup": [],
        "tags": [],
    }
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


def deploy_virtual_machine(call: Call) -> tuple[VirtualMachine, AsyncJob]:
    zone = zone_get(caller=call.caller, zone_id=call.get("zoneid"))
    offering = offering_get(caller=call.caller, offering_id=call.get("serviceofferingid"))
    template = template_get_executable(caller=call.caller, template_id=call.get("templateid"), zone=zone)
    return services.vm_deploy(
        caller=call.caller, zone=zone, service_offering=offering, template=template,
        name=call.get("name"), display_name=call.get("displayname", ""), start_vm=call.get("startvm"),
        account=_owner_account(call),
    )


register(Command(
    name="deployVirtualMachine",
    description=gettext_lazy("Creates and automatically starts a virtual machine based on a service offering "
                             "and a template."),
    action="vm.deploy",
    handler=deploy_virtual_machine,
    is_async=True,
    creates=True,
    response_object="virtualmachine",
    params=(
        Param("zoneid", T.UUID, required=True, description=gettext_lazy("The zone to deploy the VM in.")),
        Param("serviceofferingid", T.UUID, required=True,
              description=gettext_lazy("The service offering (CPU and memory) of the VM.")),
        Param("templateid", T.UUID, required=True, description=gettext_lazy("The template to deploy from.")),
        Param("name", max_length=63,
              description=gettext_lazy("Host name of the VM: letters, digits and hyphens, starting with a "
                                       "letter.")),
        Param("displayname", description=gettext_lazy("An optional user-friendly name for the VM.")),
        Param("startvm", T.BOOLEAN, default=True,
              description=gettext_lazy("true (the default) starts the VM after creating it.")),
        Param("account", description=gettext_lazy("The account that will own the VM (with domainid).")),
        Param("domainid", T.UUID, description=gettext_lazy("The domain of the owning account.")),
    ),
))


def list_virtual_machines(call: Call) -> QuerySet[VirtualMachine]:
    # `id` goes to the selector too: asked for by id, a Destroyed VM is still listed, as in CloudStack.
    return vm_list(caller=call.caller, filters=VmFilters(
        id=call.get("id"), state=call.get("state"), zone_id=call.get("zoneid")))


register(Command(
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
                    keyword_fields=("name", "display_name"), tenant=True, pending_jobs=True),
))


def start_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_start(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))


def stop_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_stop(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")),
                            forced=call.get("forced"))


def reboot_virtual_machine(call: Call) -> AsyncJob:
    return services.vm_reboot(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))


def destroy_virtual_machine(call: Call) -> AsyncJob:
    if call.get("expunge"):
        raise Unsupported(_("Expunging a VM while destroying it is not supported; destroy it without expunge."))
    return services.vm_destroy(caller=call.caller, vm=vm_get(caller=call.caller, vm_id=call.get("id")))


for _name, _handler, _text, _action, _extra in (
    ("startVirtualMachine", start_virtual_machine, gettext_lazy("Starts a virtual machine."), "vm.start", ()),
    ("stopVirtualMachine", stop_virtual_machine, gettext_lazy("Stops a virtual machine."), "vm.stop",
     (Param("forced", T.BOOLEAN, default=False,
            description=gettext_lazy("Power the VM off at once instead of asking the guest to shut down.")),)),
    ("rebootVirtualMachine", reboot_virtual_machine, gettext_lazy("Reboots a virtual machine."), "vm.reboot", ()),
    ("destroyVirtualMachine", destroy_virtual_machine, gettext_lazy("Destroys a virtual machine."), "vm.destroy",
     (Param("expunge", T.BOOLEAN, default=False,
            description=gettext_lazy("Expunge at once (not supported yet).")),)),
):
    register(Command(name=_name, description=_text, action=_action, handler=_handler, is_async=True,
                     response_object="virtualmachine", params=(VM_ID, *_extra)))


# --- service offerings ----------------------------------------------------------------------------------

OFFERING_FIELDS = (
    "id", "name", "displaytext", "cpunumber", "cpuspeed", "memory", "created", "storagetype", "offerha",
    "limitcpuuse", "isvolatile", "iscustomized", "issystem", "defaultuse", "domainid", "domain",
    "hosttags", "storagetags", "deploymentplanner",
)


def render_offering(call: Call, offering: ServiceOffering) -> dict[str, Any]:
    return {
        "id": str(offering.uuid),
        "name": offering.name,
        "displaytext": offering.display_text or offering.name,
        "cpunumber": offering.cpu_number,
        "cpuspeed": offering.cpu_speed,
        "memory": offering.memory,
        "created": offering.created,
        "storagetype": "local",
        "offerha": False,
        "limitcpuuse": False,
        "isvolatile": False,
        "iscustomized": False,
        "issystem": False,
        "defaultuse": False,
        # CloudStack lists an offering's domains as comma lists of ids and names.
        "domainid": ",".join(str(d.uuid) for d in offering.domains.all()) or None,
        "domain": ",".join(d.name for d in offering.domains.all()) or None,
        # Placement: CloudStack's host tags, storage tags ("tags") and planner; empty ones are left out.
        "hosttags": offering.host_tags or None,
        "storagetags": offering.storage_tags or None,
        "deploymentplanner": offering.deployment_planner or None,
    }


register_object(ObjectType(
    model="serviceoffering", name="serviceoffering", instance_type="ServiceOffering",
    lookup=lambda caller, offering_id: offering_get(caller=caller, offering_id=offering_id),
    render=render_offering, fields=OFFERING_FIELDS,
))


def list_service_offerings(call: Call) -> QuerySet[ServiceOffering]:
    offerings = offering_list(caller=call.caller).prefetch_related("domains")
    # There are no system offerings (for system VMs) yet.
    return offerings.none() if call.get("issystem") else offerings


register(Command(
    name="listServiceOfferings",
    description=gettext_lazy("Lists the service offerings the caller may deploy with."),
    action="offering.list",
    handler=list_service_offerings,
    response_object="serviceoffering",
    params=(Param("issystem", T.BOOLEAN, description=gettext_lazy("true lists system VM offerings.")),),
    listing=Listing(object_name="serviceoffering", render=render_offering,
                    keyword_fields=("name", "display_text")),
))
