"""CloudStack API declarations of compute offerings: listServiceOfferings, createServiceOffering,
updateServiceOffering, deleteServiceOffering. Imported at the end of compute.cloudstack.

The serviceoffering object carries CloudStack's ServiceOfferingResponse names. A custom offering leaves out
what the deployer chooses (cpunumber, memory, and cpuspeed when unconstrained), as CloudStack does, and a
constrained one reports its bounds in `serviceofferingdetails` (mincpunumber, maxcpunumber, minmemory,
maxmemory), where CloudStack keeps them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from accounts.cloudstack import domain_list_param
from accounts.models import Domain
from accounts.selectors import domain_get
from compute import services_offerings
from compute.models import ServiceOffering
from compute.selectors import offering_get, offering_list, vm_get
from portal.authz import Role, role_of
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from storage.selectors_disk_offerings import offering_domains_text

T = ParamType
GIB = 2**30

OFFERING_FIELDS = (
    "id", "name", "displaytext", "cpunumber", "cpuspeed", "memory", "created", "storagetype", "offerha",
    "limitcpuuse", "isvolatile", "iscustomized", "issystem", "systemvmtype", "defaultuse", "domainid", "domain",
    "hosttags", "storagetags", "deploymentplanner", "rootdisksize", "dynamicscalingenabled",
    "serviceofferingdetails",
)


def render_offering(call: Call, offering: ServiceOffering) -> dict[str, Any]:
    domain_ids, domain_names = offering_domains_text(offering)
    body: dict[str, Any] = {
        "id": str(offering.uuid),
        "name": offering.name,
        "displaytext": offering.display_text or offering.name,
        # None (left out) in a custom offering: the deployer chooses.
        "cpunumber": offering.cpu_number,
        "cpuspeed": offering.cpu_speed,
        "memory": offering.memory,
        "created": offering.created,
        "storagetype": offering.storage_type,
        "offerha": offering.offer_ha,
        "limitcpuuse": offering.limit_cpu_use,
        "isvolatile": offering.is_volatile,
        "iscustomized": offering.is_customized,
        "issystem": offering.is_system,
        "systemvmtype": offering.system_vm_type or None,
        "defaultuse": False,
        # CloudStack lists an offering's domains as comma lists of ids and names.
        "domainid": domain_ids,
        "domain": domain_names,
        # Placement: CloudStack's host tags, storage tags ("tags") and planner; empty ones are left out.
        "hosttags": offering.host_tags or None,
        "storagetags": offering.storage_tags or None,
        "deploymentplanner": offering.deployment_planner or None,
        "rootdisksize": offering.root_disk_size // GIB if offering.root_disk_size else None,
        "dynamicscalingenabled": offering.dynamic_scaling_enabled,
    }
    bounds = {"mincpunumber": offering.min_cpu_number, "maxcpunumber": offering.max_cpu_number,
              "minmemory": offering.min_memory, "maxmemory": offering.max_memory}
    if any(value is not None for value in bounds.values()):
        # CloudStack's service_offering_details are strings.
        body["serviceofferingdetails"] = {key: str(value) for key, value in bounds.items() if value is not None}
    return body


register_object(ObjectType(
    model="serviceoffering", name="serviceoffering", instance_type="ServiceOffering",
    lookup=lambda caller, offering_id: offering_get(caller=caller, offering_id=offering_id),
    render=render_offering, fields=OFFERING_FIELDS,
))


def _domains(call: Call, ids: list[str] | None) -> list[Domain] | None:
    return None if ids is None else [domain_get(caller=call.caller, domain_id=domain_id) for domain_id in ids]


def list_service_offerings(call: Call) -> QuerySet[ServiceOffering]:
    offerings = offering_list(caller=call.caller).prefetch_related("domains")
    if call.get("issystem"):
        # System offerings are for the system VMs, which are the root admin's business.
        if role_of(call.caller) is not Role.ROOT_ADMIN:
            return offerings.none()
        offerings = offerings.filter(is_system=True)
        if call.get("systemvmtype"):
            offerings = offerings.filter(system_vm_type=call.get("systemvmtype"))
    else:
        offerings = offerings.filter(is_system=False)
    if call.get("domainid"):
        offerings = offerings.filter(domains=domain_get(caller=call.caller, domain_id=call.get("domainid")))
    if call.get("virtualmachineid"):
        # What the VM could change to: another offering on the same kind of storage (its root disk stays).
        vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid"))
        offerings = offerings.exclude(pk=vm.service_offering_id).filter(
            storage_type=vm.service_offering.storage_type)
    return offerings


register(Command(
    name="listServiceOfferings",
    description=gettext_lazy("Lists the service offerings the caller may deploy with."),
    action="offering.list",
    handler=list_service_offerings,
    response_object="serviceoffering",
    params=(
        Param("issystem", T.BOOLEAN, description=gettext_lazy("true lists system VM offerings (root admins).")),
        Param("systemvmtype", choices=tuple(ServiceOffering.SystemVmType.values), description=gettext_lazy(
            "With issystem: only offerings of this system VM type (domainrouter, consoleproxy, "
            "secondarystoragevm).")),
        Param("domainid", T.UUID, description=gettext_lazy("Only the offerings limited to this domain.")),
        Param("virtualmachineid", T.UUID, description=gettext_lazy(
            "The offerings this virtual machine could be changed to.")),
    ),
    listing=Listing(object_name="serviceoffering", render=render_offering,
                    keyword_fields=("name", "display_text")),
))

_SIZE_PARAMS = (
    Param("cpunumber", T.INTEGER, description=gettext_lazy("The number of CPU cores (fixed offerings).")),
    Param("cpuspeed", T.INTEGER, description=gettext_lazy(
        "The CPU speed in MHz (fixed and custom constrained offerings).")),
    Param("memory", T.INTEGER, description=gettext_lazy("The memory in MB (fixed offerings).")),
    Param("customized", T.BOOLEAN, description=gettext_lazy(
        "Whether the deployer chooses CPU and memory; without it, leaving out cpunumber and memory asks for a "
        "custom offering.")),
    Param("mincpunumber", T.INTEGER, description=gettext_lazy("Custom constrained: the fewest CPU cores.")),
    Param("maxcpunumber", T.INTEGER, description=gettext_lazy("Custom constrained: the most CPU cores.")),
    Param("minmemory", T.INTEGER, description=gettext_lazy("Custom constrained: the least memory in MB.")),
    Param("maxmemory", T.INTEGER, description=gettext_lazy("Custom constrained: the most memory in MB.")),
)


def create_service_offering(call: Call) -> dict[str, Any]:
    offering = services_offerings.offering_create(
        caller=call.caller, name=call.get("name"), display_text=call.get("displaytext") or "",
        customized=call.get("customized"), cpu_number=call.get("cpunumber"), cpu_speed=call.get("cpuspeed"),
        memory=call.get("memory"), min_cpu_number=call.get("mincpunumber"),
        max_cpu_number=call.get("maxcpunumber"), min_memory=call.get("minmemory"),
        max_memory=call.get("maxmemory"), offer_ha=call.get("offerha"), limit_cpu_use=call.get("limitcpuuse"),
        is_volatile=call.get("isvolatile"), host_tags=call.get("hosttags") or "",
        storage_tags=call.get("tags") or "", storage_type=call.get("storagetype"),
        domains=_domains(call, call.get("domainid")) or [], is_system=call.get("issystem"),
        system_vm_type=call.get("systemvmtype"), deployment_planner=call.get("deploymentplanner"),
        root_disk_size_gb=call.get("rootdisksize"), dynamic_scaling_enabled=call.get("dynamicscalingenabled"),
    )
    return {"serviceoffering": render_offering(call, offering)}


register(Command(
    name="createServiceOffering",
    description=gettext_lazy("Creates a service offering."),
    action="offering.create",
    handler=create_service_offering,
    response_object="serviceoffering",
    params=(
        Param("name", required=True, description=gettext_lazy("The name of the service offering.")),
        Param("displaytext", max_length=4096, description=gettext_lazy(
            "The display text of the service offering (default: its name).")),
        *_SIZE_PARAMS,
        Param("offerha", T.BOOLEAN, default=False, description=gettext_lazy("The HA for the service offering.")),
        Param("limitcpuuse", T.BOOLEAN, default=False, description=gettext_lazy(
            "Restrict the CPU usage to committed service offering (a CPU cap).")),
        Param("isvolatile", T.BOOLEAN, default=False, description=gettext_lazy(
            "True if the virtual machine needs to be volatile: on every reboot its root disk is discarded and a "
            "fresh one is made from the template.")),
        Param("hosttags", max_length=1024, description=gettext_lazy(
            "The host tag for this service offering (a comma list: every one is required).")),
        Param("tags", max_length=1024, description=gettext_lazy(
            "The storage tags for this service offering (the root disk's pool must carry them).")),
        Param("storagetype", choices=("local", "shared"), description=gettext_lazy(
            "The storage type of the service offering: local or shared (default).")),
        Param("domainid", T.LIST, item_type=T.UUID, max_length=4096, description=gettext_lazy(
            "The IDs of the containing domains, comma-separated; none for a public offering.")),
        Param("zoneid", T.LIST, item_type=T.UUID, max_length=4096, description=gettext_lazy(
            "Accepted for compatibility; offerings are offered in every zone.")),
        Param("issystem", T.BOOLEAN, default=False, description=gettext_lazy("Is this a system VM offering.")),
        Param("systemvmtype", choices=tuple(ServiceOffering.SystemVmType.values), description=gettext_lazy(
            "The system VM type: domainrouter (default), consoleproxy or secondarystoragevm.")),
        Param("deploymentplanner", max_length=64, description=gettext_lazy(
            "The deployment planner of this offering's VMs; empty: the vm.deployment.planner setting.")),
        Param("rootdisksize", T.LONG, description=gettext_lazy(
            "The root disk size in GB (default: the template's size).")),
        Param("dynamicscalingenabled", T.BOOLEAN, default=True, description=gettext_lazy(
            "True if virtual machines of this offering may be scaled while running.")),
    ),
))


def update_service_offering(call: Call) -> dict[str, Any]:
    offering = offering_get(caller=call.caller, offering_id=call.get("id"))
    offering = services_offerings.offering_update(
        caller=call.caller, offering=offering, name=call.get("name"), display_text=call.get("displaytext"),
        domains=domain_list_param(call), host_tags=call.get("hosttags"), storage_tags=call.get("storagetags"))
    return {"serviceoffering": render_offering(call, offering)}


UPDATE_DOMAIN_PARAM = Param("domainid", max_length=4096, description=gettext_lazy(
    "The IDs of the containing domains, comma-separated, or \"public\" for every domain."))

register(Command(
    name="updateServiceOffering",
    description=gettext_lazy("Updates a service offering: its name, display text, domains and tags."),
    action="offering.update",
    handler=update_service_offering,
    response_object="serviceoffering",
    params=(
        Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the service offering.")),
        Param("name", description=gettext_lazy("The new name.")),
        Param("displaytext", max_length=4096, description=gettext_lazy("The new display text.")),
        UPDATE_DOMAIN_PARAM,
        Param("hosttags", max_length=1024, description=gettext_lazy("Comma-separated host tags (empty: none).")),
        Param("storagetags", max_length=1024, description=gettext_lazy(
            "Comma-separated storage tags (empty: none).")),
    ),
))


def delete_service_offering(call: Call) -> dict[str, Any]:
    offering = offering_get(caller=call.caller, offering_id=call.get("id"))
    services_offerings.offering_delete(caller=call.caller, offering=offering)
    return {"success": True}


register(Command(
    name="deleteServiceOffering",
    description=gettext_lazy("Deletes a service offering: it is no longer listed or offered; VMs that use it keep "
                             "it."),
    action="offering.delete",
    handler=delete_service_offering,
    params=(Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the service offering.")),),
))
