"""Reads of compute objects, always scoped to the caller's tenancy."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from compute.models import ServiceOffering, VirtualMachine
from portal.authz import authorize, scope
from portal.lookup import get_by_uuid

VM_RELATED = ("zone", "host", "service_offering", "template", "account", "domain", "user")


@dataclass(frozen=True)
class VmFilters:
    id: str | None = None
    name: str | None = None
    state: str | None = None
    zone_id: str | None = None
    keyword: str | None = None
    include_destroyed: bool = False


def vm_list(*, caller: User, filters: VmFilters | None = None) -> QuerySet[VirtualMachine]:
    authorize(caller, "vm.list")
    filters = filters or VmFilters()
    vms = scope(caller, VirtualMachine.objects.select_related(*VM_RELATED)).filter(removed__isnull=True)
    if filters.id:
        vms = vms.filter(uuid=filters.id)
    if filters.name:
        vms = vms.filter(name=filters.name)
    if filters.state:
        vms = vms.filter(state__iexact=filters.state)
    elif not filters.include_destroyed and not filters.id:
        vms = vm_hide_destroyed(vms)
    if filters.zone_id:
        vms = vms.filter(zone__uuid=filters.zone_id)
    if filters.keyword:
        vms = vms.filter(Q(name__icontains=filters.keyword) | Q(display_name__icontains=filters.keyword))
    return vms


def vm_hide_destroyed(vms: QuerySet[VirtualMachine]) -> QuerySet[VirtualMachine]:
    """CloudStack lists destroyed VMs only when asked for them (by state, id or a flag); every door that
    builds its own filtering (the REST FilterSet) applies this same rule."""
    return vms.exclude(state__in=["Destroyed", "Expunging"])


def vm_get(*, caller: User, vm_id: str) -> VirtualMachine:
    authorize(caller, "vm.view")
    vms = scope(caller, VirtualMachine.objects.select_related(*VM_RELATED)).filter(removed__isnull=True)
    return get_by_uuid(vms, vm_id, _("a virtual machine"))


def offering_get(*, caller: User, offering_id: str) -> ServiceOffering:
    return get_by_uuid(offering_list(caller=caller), offering_id, _("a service offering"))


def offering_list(*, caller: User) -> QuerySet[ServiceOffering]:
    authorize(caller, "offering.list")
    from storage.selectors_disk_offerings import domain_scoped  # the one domain rule of every offering list

    return domain_scoped(caller, ServiceOffering.objects.filter(removed__isnull=True))
