"""Writes of compute offerings (CloudStack's createServiceOffering, updateServiceOffering,
deleteServiceOffering) and the one rule that turns an offering plus a deployer's choices into a VM's size
(`offering_resolve_size`, used by deploy, scale and change-offering alike so the three cannot disagree).

Three kinds of offering, as in CloudStack: fixed (CPU number, speed and memory set), custom constrained
(speed set, CPU number and memory chosen by the deployer within min/max bounds) and custom unconstrained
(everything chosen by the deployer). The catalogue is the root admin's; deleting an offering only marks it
removed, so VMs that run with it keep it while nobody can pick it any more.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Domain, User
from compute.models import ServiceOffering, VirtualMachine
from infrastructure.placement import PLANNERS
from portal.authz import authorize
from portal.errors import InvalidParameter, ResourceInUse
from portal.events import event_emit
from portal.tags import tags_text
from storage.services_disk_offerings import disk_offering_resolve_size

__all__ = ["disk_offering_resolve_size", "offering_create", "offering_delete", "offering_resolve_size",
           "offering_update"]

MIN_MEMORY_MIB = 32  # CloudStack's lower bound for an offering's (or a custom VM's) memory
MAX_INT = 2**31 - 1
GIB = 2**30


def _tags(value: str | Iterable[str] | None) -> str:
    return tags_text(value, too_long=_("Tags are too long (at most 1024 characters)."))


def _check_range(label: str, value: int | None, low: int, high: int = MAX_INT) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidParameter(_("%(label)s must be between %(low)s and %(high)s, not %(value)s.")
                               % {"label": label, "low": low, "high": high, "value": value})


def _sizes(*, customized: bool | None, cpu_number: int | None, cpu_speed: int | None, memory: int | None,
           min_cpu_number: int | None, max_cpu_number: int | None, min_memory: int | None,
           max_memory: int | None) -> dict[str, int | None]:
    """CloudStack's createServiceOffering rules for the three kinds. Without `customized`, leaving out CPU
    number and memory asks for a custom offering (what older clients do)."""
    if customized is None:
        customized = cpu_number is None and memory is None
    bounds = (min_cpu_number, max_cpu_number, min_memory, max_memory)
    if not customized:
        if cpu_number is None or cpu_speed is None or memory is None:
            raise InvalidParameter(_("A fixed offering needs cpunumber, cpuspeed and memory; set customized=true "
                                     "to let the deployer choose them."))
        if any(value is not None for value in bounds):
            raise InvalidParameter(_("mincpunumber, maxcpunumber, minmemory and maxmemory are only for custom "
                                     "offerings."))
        _check_range("cpunumber", cpu_number, 1)
        _check_range("cpuspeed", cpu_speed, 1)
        _check_range("memory", memory, MIN_MEMORY_MIB)
        return {"cpu_number": cpu_number, "cpu_speed": cpu_speed, "memory": memory, "min_cpu_number": None,
                "max_cpu_number": None, "min_memory": None, "max_memory": None}
    if cpu_number is not None or memory is not None:
        raise InvalidParameter(_("For creating a custom compute offering cpu and memory all should be null."))
    given = [value is not None for value in (*bounds, cpu_speed)]
    if any(given) and not all(given):
        raise InvalidParameter(_("For creating a custom compute offering min/max cpu and min/max memory/cpu speed "
                                 "should all be null or all specified."))
    if all(given):
        _check_range("cpuspeed", cpu_speed, 1)
        _check_range("mincpunumber", min_cpu_number, 1)
        _check_range("maxcpunumber", max_cpu_number, 1)
        _check_range("minmemory", min_memory, MIN_MEMORY_MIB)
        _check_range("maxmemory", max_memory, MIN_MEMORY_MIB)
        if min_cpu_number > max_cpu_number:  # type: ignore[operator]
            raise InvalidParameter(_("mincpunumber (%(min)s) is greater than maxcpunumber (%(max)s).")
                                   % {"min": min_cpu_number, "max": max_cpu_number})
        if min_memory > max_memory:  # type: ignore[operator]
            raise InvalidParameter(_("minmemory (%(min)s) is greater than maxmemory (%(max)s).")
                                   % {"min": min_memory, "max": max_memory})
    return {"cpu_number": None, "cpu_speed": cpu_speed, "memory": None, "min_cpu_number": min_cpu_number,
            "max_cpu_number": max_cpu_number, "min_memory": min_memory, "max_memory": max_memory}


def _system(is_system: bool, system_vm_type: str | None) -> str:
    if not is_system:
        if system_vm_type:
            raise InvalidParameter(_("systemvmtype is only for system offerings (issystem=true)."))
        return ""
    vm_type = (system_vm_type or ServiceOffering.SystemVmType.DOMAIN_ROUTER).lower()
    if vm_type not in ServiceOffering.SystemVmType.values:
        raise InvalidParameter(_("Invalid systemVmType. Supported types are: %(types)s.")
                               % {"types": ", ".join(ServiceOffering.SystemVmType.values)})
    return vm_type


def _planner(planner: str | None) -> str:
    planner = (planner or "").strip()
    if planner and planner not in PLANNERS:
        raise InvalidParameter(_("Invalid name for Deployment Planner specified, please use one of %(planners)s.")
                               % {"planners": ", ".join(PLANNERS)})
    return planner


def _name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("Failed to create service offering: specify the name that has non-zero length."))
    if len(name) > 255:
        raise InvalidParameter(_("The name is too long (at most 255 characters)."))
    return name


def _event(caller: User, offering: ServiceOffering, type: str, description: str) -> None:
    """Offering events belong to the acting root admin's account (or the first root admin account for a
    superuser without one): the catalogue is no tenant's."""
    from accounts.services_accounts import operator_account

    account = operator_account(caller)
    if account is not None:
        event_emit(type=type, description=description, account=account, user=caller, resource=offering)


@transaction.atomic
def offering_create(
    *, caller: User, name: str, display_text: str = "", customized: bool | None = None,
    cpu_number: int | None = None, cpu_speed: int | None = None, memory: int | None = None,
    min_cpu_number: int | None = None, max_cpu_number: int | None = None, min_memory: int | None = None,
    max_memory: int | None = None, offer_ha: bool = False, limit_cpu_use: bool = False, is_volatile: bool = False,
    host_tags: str | Iterable[str] | None = "", storage_tags: str | Iterable[str] | None = "",
    storage_type: str | None = None, domains: Iterable[Domain] = (), is_system: bool = False,
    system_vm_type: str | None = None, deployment_planner: str | None = "", root_disk_size_gb: int | None = None,
    dynamic_scaling_enabled: bool = True,
) -> ServiceOffering:
    """A new compute offering; refused as a whole (nothing created) when any value breaks CloudStack's rules."""
    authorize(caller, "offering.create")
    name = _name(name)
    sizes = _sizes(customized=customized, cpu_number=cpu_number, cpu_speed=cpu_speed, memory=memory,
                   min_cpu_number=min_cpu_number, max_cpu_number=max_cpu_number, min_memory=min_memory,
                   max_memory=max_memory)
    storage_type = (storage_type or ServiceOffering.StorageType.SHARED).lower()
    if storage_type not in ServiceOffering.StorageType.values:
        raise InvalidParameter(_("Invalid storage type %(type)s specified, valid types are: 'local' and 'shared'.")
                               % {"type": storage_type})
    if offer_ha and storage_type == ServiceOffering.StorageType.LOCAL:
        raise InvalidParameter(_("HA offering with local storage is not supported."))
    _check_range("rootdisksize", root_disk_size_gb, 1)
    offering = ServiceOffering.objects.create(
        name=name, display_text=(display_text or "").strip() or name, **sizes,
        offer_ha=offer_ha, limit_cpu_use=limit_cpu_use, is_volatile=is_volatile, host_tags=_tags(host_tags),
        storage_tags=_tags(storage_tags), storage_type=storage_type, is_system=is_system,
        system_vm_type=_system(is_system, system_vm_type), deployment_planner=_planner(deployment_planner),
        root_disk_size=(root_disk_size_gb or 0) * GIB, dynamic_scaling_enabled=dynamic_scaling_enabled,
    )
    offering.domains.set(list(domains))
    _event(caller, offering, "SERVICE.OFFERING.CREATE",
           _("Created service offering %(name)s") % {"name": offering.name})
    return offering


def _check_domains_keep_vms(offering: ServiceOffering, domains: list[Domain]) -> None:
    """CloudStack refuses to narrow an offering's domains away from VMs that use it: those VMs could no longer
    be scaled or restarted with an offering their owner may see."""
    if not domains:
        return
    vms = VirtualMachine.objects.filter(service_offering=offering, removed__isnull=True)
    for domain in domains:
        vms = vms.exclude(domain__path__startswith=domain.path)
    stranded = vms.count()
    if stranded:
        raise ResourceInUse(_("Unable to update the domains of service offering %(name)s: %(count)s VM(s) in "
                              "other domains use it.") % {"name": offering.name, "count": stranded})


@transaction.atomic
def offering_update(
    *, caller: User, offering: ServiceOffering, name: str | None = None, display_text: str | None = None,
    domains: Iterable[Domain] | None = None, host_tags: str | Iterable[str] | None = None,
    storage_tags: str | Iterable[str] | None = None,
) -> ServiceOffering:
    """CloudStack's updateServiceOffering: names, domains and tags. Sizes and kinds never change, since
    VMs were sized and placed by them; create another offering instead."""
    authorize(caller, "offering.update")
    offering = ServiceOffering.objects.select_for_update().get(pk=offering.pk)
    if offering.removed is not None:
        raise InvalidParameter(_("Service offering %(name)s has been deleted.") % {"name": offering.name})
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _name(name)
    if display_text is not None:
        changes["display_text"] = display_text.strip() or changes.get("name", offering.name)
    if host_tags is not None:
        changes["host_tags"] = _tags(host_tags)
    if storage_tags is not None:
        changes["storage_tags"] = _tags(storage_tags)
    if domains is not None:
        domains = list(domains)
        _check_domains_keep_vms(offering, domains)
    for field, value in changes.items():
        setattr(offering, field, value)
    if changes:
        offering.save(update_fields=list(changes))
    if domains is not None:
        offering.domains.set(domains)
    _event(caller, offering, "SERVICE.OFFERING.EDIT", _("Updated service offering %(name)s") % {"name": offering.name})
    return offering


@transaction.atomic
def offering_delete(*, caller: User, offering: ServiceOffering) -> None:
    """Marks the offering removed, as CloudStack does: it leaves every list and cannot be chosen, while the VMs
    that use it keep it (their rows point at it; their sizes are their own)."""
    authorize(caller, "offering.delete")
    updated = ServiceOffering.objects.filter(pk=offering.pk, removed__isnull=True).update(removed=timezone.now())
    if not updated:
        raise InvalidParameter(_("Service offering %(name)s has already been deleted.") % {"name": offering.name})
    _event(caller, offering, "SERVICE.OFFERING.DELETE",
           _("Deleted service offering %(name)s") % {"name": offering.name})


def offering_resolve_size(*, offering: ServiceOffering, cpu_number: int | None, cpu_speed: int | None,
                          memory: int | None) -> tuple[int, int, int]:
    """The (CPU number, CPU speed MHz, memory MiB) a VM gets from this offering and the caller's choices.

    What the offering fixes cannot be chosen differently; what it leaves open must be chosen, within its
    min/max bounds for a constrained offering. Messages use CloudStack's detail names (cpuNumber, cpuSpeed,
    memory), which is how deployVirtualMachine's `details` carry them."""
    chosen = {"cpuNumber": cpu_number, "cpuSpeed": cpu_speed, "memory": memory}
    fixed = {"cpuNumber": offering.cpu_number, "cpuSpeed": offering.cpu_speed, "memory": offering.memory}
    result: dict[str, int] = {}
    for key, value in fixed.items():
        if value is not None:
            if chosen[key] is not None and chosen[key] != value:
                raise InvalidParameter(_("Service offering %(name)s has a fixed %(key)s of %(value)s; it cannot be "
                                         "changed to %(chosen)s.") % {"name": offering.name, "key": key,
                                                                      "value": value, "chosen": chosen[key]})
            result[key] = value
        elif chosen[key] is None:
            raise InvalidParameter(_("Service offering %(name)s is custom: %(key)s is required (details[0].%(key)s).")
                                   % {"name": offering.name, "key": key})
        else:
            result[key] = chosen[key]  # type: ignore[assignment]
    low, high = offering.min_cpu_number or 1, offering.max_cpu_number or MAX_INT
    if offering.cpu_number is None and not low <= result["cpuNumber"] <= high:
        raise InvalidParameter(_("Invalid cpu cores value, specify a value between %(min)s and %(max)s "
                                 "(mincpunumber and maxcpunumber of the offering).") % {"min": low, "max": high})
    if offering.cpu_speed is None and result["cpuSpeed"] < 1:
        raise InvalidParameter(_("Invalid cpu speed value, specify a value between 1 and %(max)s.") % {"max": MAX_INT})
    low, high = offering.min_memory or MIN_MEMORY_MIB, offering.max_memory or MAX_INT
    if offering.memory is None and not low <= result["memory"] <= high:
        raise InvalidParameter(_("Invalid memory value, specify a value between %(min)s and %(max)s (minmemory and "
                                 "maxmemory of the offering).") % {"min": low, "max": high})
    return result["cpuNumber"], result["cpuSpeed"], result["memory"]
