"""Deploying a VM with everything CloudStack's deployVirtualMachine takes: a template or an ISO, a custom size,
a data disk, key pairs, user-data, affinity groups, a chosen host (root admins), a group, and startvm.

Everything is checked and counted before anything is created, in one transaction: a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import Account, User
from accounts.services_limits import resource_reserve
from compute.cloudinit import check_user_data
from compute.models import AffinityGroup, ServiceOffering, SSHKeyPair, VirtualMachine
from compute.services import (
    JOB_MODULE,
    _instance_resources,
    _OwnerProbe,
    _placement_request,
    _reserve_on_host,
    _validate_name,
)
from compute.states import VM_STATE_MACHINE, VmEvent
from infrastructure.models import AllocationState, Host, Zone
from infrastructure.placement import place_vm
from portal.authz import Role, authorize, role_of
from portal.errors import InsufficientCapacity, InvalidParameter, NotFound, PermissionDenied
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob
from storage.models import DiskOffering, Template, Volume
from storage.placement import pool_reserve

GIB = 2**30


@transaction.atomic
def vm_deploy(
    *,
    caller: User,
    zone: Zone,
    service_offering: ServiceOffering,
    template: Template,
    name: str | None = None,
    display_name: str = "",
    start_vm: bool = True,
    account: Account | None = None,
    disk_offering: DiskOffering | None = None,
    size_gb: int | None = None,
    root_disk_size_gb: int | None = None,
    cpu_number: int | None = None,
    cpu_speed: int | None = None,
    memory: int | None = None,
    key_pairs: Sequence[str] = (),
    user_data: str = "",
    affinity_groups: Sequence[AffinityGroup] = (),
    host: Host | None = None,
    group: str = "",
) -> tuple[VirtualMachine, AsyncJob]:
    """Create a VM and its volumes; with start_vm, reserve a host (the given one for root admins) and start it.

    From an ISO (template.is_iso) the root disk is blank, sized by `disk_offering`, and the VM boots from the
    ISO in its CD drive; otherwise `disk_offering` adds a data disk."""
    from compute.services_offerings import offering_resolve_size
    from storage.services_disk_offerings import disk_offering_resolve_size

    authorize(caller, "vm.deploy")
    owner = account or caller.account
    if owner is None:
        raise InvalidParameter(_("The VM needs an owning account."))
    if owner != caller.account:
        authorize(caller, "vm.deploy", _OwnerProbe(owner))
    if zone.allocation_state != AllocationState.ENABLED and role_of(caller) is not Role.ROOT_ADMIN:
        raise InvalidParameter(_("Zone %(zone)s is disabled.") % {"zone": zone.name})
    if template.zone_id not in (None, zone.pk):
        raise InvalidParameter(_("Template %(t)s is not available in zone %(z)s.") % {"t": template.name,
                                                                                     "z": zone.name})
    if name:
        _validate_name(name)
    if display_name and len(display_name) > 255:
        raise InvalidParameter(_("The display name is longer than 255 characters."))
    if len(group) > 255:
        raise InvalidParameter(_("The group name is longer than 255 characters."))
    if host is not None:
        if role_of(caller) is not Role.ROOT_ADMIN:
            raise PermissionDenied(_("Only root administrators may choose the host of a VM."))
        if host.zone_id != zone.pk:
            raise InvalidParameter(_("Host %(host)s is not in zone %(zone)s.") % {"host": host.name,
                                                                                 "zone": zone.name})
    check_user_data(user_data)
    cpus, speed, mib = offering_resolve_size(offering=service_offering, cpu_number=cpu_number,
                                             cpu_speed=cpu_speed, memory=memory)
    root_size, data_size = _disk_sizes(template, service_offering, disk_offering, size_gb, root_disk_size_gb,
                                       disk_offering_resolve_size)
    pairs = _key_pairs(caller, owner, key_pairs)
    groups = _affinity_groups(owner, affinity_groups)

    vm = VirtualMachine(
        name=name or "pending", display_name=display_name or name or "", zone=zone,
        service_offering=service_offering, template=template, account=owner, domain_id=owner.domain_id,
        user=caller, cpu_number=cpus, cpu_speed=speed, memory=mib, group=group,
        iso=template if template.is_iso else None, ha_enabled=service_offering.offer_ha,
        dynamically_scalable=service_offering.dynamic_scaling_enabled, user_data=user_data,
        key_pair_names=",".join(pair.name for pair in pairs),
        ssh_public_keys="\n".join(pair.public_key.strip() for pair in pairs),
    )
    # Counted first: over a limit, LimitExceeded rolls this transaction back and nothing is created.
    volumes = 2 if data_size else 1
    for resource_type, amount in (*_instance_resources(vm), (ResourceType.VOLUME, volumes),
                                  (ResourceType.PRIMARY_STORAGE, root_size + data_size)):
        resource_reserve(account=owner, resource_type=resource_type, amount=amount)
    vm.save()
    updates = {"instance_name": f"i-{owner.pk}-{vm.pk}-VM"}
    if not name:
        updates["name"] = updates["display_name"] = f"VM-{vm.uuid}"
    VirtualMachine.objects.filter(pk=vm.pk).update(**updates)
    for field, value in updates.items():
        setattr(vm, field, value)
    if groups:
        vm.affinity_groups.set(groups)
    root = Volume.objects.create(
        name=f"ROOT-{vm.pk}", volume_type=Volume.Type.ROOT, state=Volume.State.ALLOCATED, size=root_size,
        zone=zone, virtual_machine=vm, template=None if template.is_iso else template,
        disk_offering=disk_offering if template.is_iso else None, account=owner, domain_id=owner.domain_id,
    )
    data = None
    if data_size:
        data = Volume.objects.create(
            name=f"DATA-{vm.pk}", volume_type=Volume.Type.DATADISK, state=Volume.State.ALLOCATED,
            size=data_size, zone=zone, virtual_machine=vm, disk_offering=disk_offering, device_id=1,
            account=owner, domain_id=owner.domain_id,
        )
    event_emit(type="VM.CREATE", description=_("Created VM %(name)s") % {"name": vm.name}, account=owner,
               user=caller, resource=vm)

    if not start_vm:
        job = job_submit(caller=caller, account=owner, cmd="deployVirtualMachine",
                         handler=f"{JOB_MODULE}.run_vm_allocate", instance=vm, queue=DEFAULT_QUEUE,
                         event_type="VM.CREATE", description=_("Deploying VM %(name)s") % {"name": vm.name})
        return vm, job
    if host is not None:
        chosen = _reserve_on_host(vm, host, root)
        pool = root.storage_pool
    else:
        placement = place_vm(_placement_request(vm, service_offering, root_size=root_size))
        chosen, pool = placement.host, placement.storage_pool
        if pool is not None:
            Volume.objects.filter(pk=root.pk).update(storage_pool=pool)
    if data is not None and pool is not None:
        # The data disk shares the root disk's pool: one pool the host reaches, reserved for both.
        if not pool_reserve(pool, data_size):
            raise InsufficientCapacity(_("Storage pool %(pool)s has no room for the data disk (%(size)s bytes).")
                                       % {"pool": pool.name, "size": data_size})
        Volume.objects.filter(pk=data.pk).update(storage_pool=pool)
    VM_STATE_MACHINE.transit(vm, VmEvent.START_REQUESTED, host=chosen, last_host=chosen)
    job = job_submit(caller=caller, account=owner, cmd="deployVirtualMachine",
                     handler=f"{JOB_MODULE}.run_vm_start", instance=vm, queue=chosen.queue,
                     params={"deploy": True}, event_type="VM.CREATE",
                     description=_("Deploying VM %(name)s") % {"name": vm.name})
    return vm, job


def _disk_sizes(template: Template, offering: ServiceOffering, disk_offering: DiskOffering | None,
                size_gb: int | None, root_disk_size_gb: int | None, resolve: object) -> tuple[int, int]:
    """(root bytes, data bytes). From an ISO the disk offering sizes the blank root disk (CloudStack requires
    one); from a template the root disk is the template's (or the offering's, or rootdisksize, never smaller
    than the template) and the disk offering, if any, a data disk."""
    if template.is_iso:
        if not template.bootable:
            raise InvalidParameter(_("ISO %(iso)s is not bootable.") % {"iso": template.name})
        if disk_offering is None:
            raise InvalidParameter(_("Deploying from ISO %(iso)s needs a disk offering for the root disk.") % {
                "iso": template.name})
        return resolve(offering=disk_offering, size_gb=size_gb), 0
    root = offering.root_disk_size or template.size
    if root_disk_size_gb is not None:
        if root_disk_size_gb <= 0 or root_disk_size_gb * GIB < template.size:
            raise InvalidParameter(_("rootdisksize must be at least the template's size (%(size)s GiB).") % {
                "size": -(-template.size // GIB)})
        root = root_disk_size_gb * GIB
    data = resolve(offering=disk_offering, size_gb=size_gb) if disk_offering is not None else 0
    return root, data


def _key_pairs(caller: User, owner: Account, names: Sequence[str]) -> list[SSHKeyPair]:
    """The owner's key pairs by name, through the key pairs selector when it is installed."""
    try:
        from compute.selectors_keypairs import keypair_get_by_name
    except ImportError:
        keypair_get_by_name = None
    pairs: list[SSHKeyPair] = []
    for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        if keypair_get_by_name is not None:
            try:
                pairs.append(keypair_get_by_name(caller=caller, account=owner, name=name))
            except NotFound as exc:
                raise InvalidParameter(_("No SSH key pair named %(name)s in account %(account)s.") % {
                    "name": name, "account": owner.name}) from exc
            continue
        pair = SSHKeyPair.objects.filter(account=owner, name=name).first()
        if pair is None:
            raise InvalidParameter(_("No SSH key pair named %(name)s in account %(account)s.") % {
                "name": name, "account": owner.name})
        pairs.append(pair)
    return pairs


def _affinity_groups(owner: Account, groups: Sequence[AffinityGroup]) -> list[AffinityGroup]:
    """A VM joins only its own account's affinity groups, as in CloudStack."""
    for group in groups:
        if group.account_id != owner.pk:
            raise InvalidParameter(_("Affinity group %(group)s does not belong to account %(account)s.") % {
                "group": group.name, "account": owner.name})
    return list(dict.fromkeys(groups))
