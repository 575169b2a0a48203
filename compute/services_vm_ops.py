"""Writes that change a VM in place: its names and settings, its size (offering change when stopped, live
scaling when running), the ISO in its CD drive and its SSH keys.

As in compute.services, request-side functions authorize, validate, count limits and reserve capacity in one
transaction, so a refusal changes nothing; host work runs in jobs (compute.tasks_vm_ops) on the VM's host
queue, which report back through the vm_record_* functions here.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.limits import ResourceType
from accounts.models import User
from accounts.services_limits import resource_release, resource_reserve
from compute.cloudinit import check_user_data
from compute.models import ServiceOffering, VirtualMachine
from compute.services import _locked, _validate_name
from compute.states import VmState
from infrastructure.placement import host_release, host_reserve
from portal.authz import authorize
from portal.errors import InvalidParameter, InvalidState
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob, Event
from storage.models import Template

JOB_MODULE = "compute.tasks_vm_ops"

# States in which a VM still exists as a machine one may edit (Destroyed VMs can only be recovered).
_EDITABLE = (VmState.STOPPED, VmState.RUNNING, VmState.STARTING, VmState.STOPPING, VmState.MIGRATING)


def _require_state(vm: VirtualMachine, *states: str, action: str) -> None:
    if vm.state not in states:
        raise InvalidState(_("Cannot %(action)s VM %(name)s while it is %(state)s; it must be %(expected)s.") % {
            "action": action, "name": vm.name, "state": vm.state, "expected": " or ".join(states)})


@transaction.atomic
def vm_update(*, caller: User, vm: VirtualMachine, name: str | None = None, display_name: str | None = None,
              group: str | None = None, os_type: str | None = None, ha_enabled: bool | None = None,
              user_data: str | None = None) -> VirtualMachine:
    """CloudStack's updateVirtualMachine. None leaves a field alone. A new name or user-data reaches the
    guest through the config drive, which the next start rebuilds (config_drive_path is cleared)."""
    authorize(caller, "vm.update", vm)
    vm = _locked(vm)
    _require_state(vm, *_EDITABLE, action=_("update"))
    changes: dict[str, object] = {}
    if name is not None and name != vm.name:
        _validate_name(name)
        changes.update(name=name, config_drive_path="")
    if display_name is not None:
        if len(display_name) > 255:
            raise InvalidParameter(_("The display name is longer than 255 characters."))
        changes["display_name"] = display_name
    if group is not None:
        if len(group) > 255:
            raise InvalidParameter(_("The group name is longer than 255 characters."))
        changes["group"] = group
    if os_type is not None:
        # Kept as given (CloudStack's ostypeid or an OS type name): there is no OS type catalogue to map it to.
        if len(os_type) > 255:
            raise InvalidParameter(_("The OS type is longer than 255 characters."))
        changes["os_type"] = os_type
    if ha_enabled is not None:
        if ha_enabled and not vm.service_offering.offer_ha:
            raise InvalidParameter(_("The service offering %(offering)s of VM %(name)s does not offer HA.") % {
                "offering": vm.service_offering.name, "name": vm.name})
        changes["ha_enabled"] = bool(ha_enabled)
    if user_data is not None:
        check_user_data(user_data)
        changes.update(user_data=user_data, config_drive_path="")
    if changes:
        VirtualMachine.objects.filter(pk=vm.pk).update(**changes)
        for field, value in changes.items():
            setattr(vm, field, value)
        event_emit(type="VM.UPDATE", description=_("Updated VM %(name)s") % {"name": vm.name},
                   account=vm.account, user=caller, resource=vm)
    return vm


# --- size: change offering (stopped) and scale (running) -------------------------------------------------

def _new_size(vm: VirtualMachine, offering: ServiceOffering, cpu_number: int | None, cpu_speed: int | None,
              memory: int | None) -> tuple[int, int, int]:
    if offering.removed is not None:
        raise InvalidParameter(_("Service offering %(o)s has been deleted.") % {"o": offering.name})
    if offering.is_system:
        raise InvalidParameter(_("A system offering cannot be used for a user VM."))
    if offering.storage_type != vm.service_offering.storage_type:
        raise InvalidParameter(_("The new offering's storage type (%(new)s) differs from the VM's (%(old)s): the "
                                 "root disk would have to move.") % {"new": offering.storage_type,
                                                                     "old": vm.service_offering.storage_type})
    from compute.services_offerings import offering_resolve_size  # the offerings helper's module (issue 6)

    size = offering_resolve_size(offering=offering, cpu_number=cpu_number, cpu_speed=cpu_speed, memory=memory)
    if offering.pk == vm.service_offering_id and size == (vm.cpu_number, vm.cpu_speed, vm.memory):
        raise InvalidParameter(_("VM %(name)s already has offering %(o)s with this size.") % {
            "name": vm.name, "o": offering.name})
    return size


def _count_difference(vm: VirtualMachine, cpu_number: int, memory: int) -> None:
    """Resource limits count a VM's own size (custom offerings make VMs of one offering differ): only the
    difference is reserved (over a limit this raises and the transaction undoes everything) or released."""
    for resource_type, delta in ((ResourceType.CPU, cpu_number - vm.cpu_number),
                                 (ResourceType.MEMORY, memory - vm.memory)):
        if delta > 0:
            resource_reserve(account=vm.account, resource_type=resource_type, amount=delta)
        elif delta < 0:
            resource_release(account=vm.account, resource_type=resource_type, amount=-delta)


def _apply_size(vm: VirtualMachine, offering: ServiceOffering, size: tuple[int, int, int]) -> None:
    cpu_number, cpu_speed, memory = size
    changes = {"service_offering": offering, "cpu_number": cpu_number, "cpu_speed": cpu_speed, "memory": memory,
               "ha_enabled": vm.ha_enabled and offering.offer_ha}
    VirtualMachine.objects.filter(pk=vm.pk).update(**changes)
    for field, value in changes.items():
        setattr(vm, field, value)


@transaction.atomic
def vm_change_offering(*, caller: User, vm: VirtualMachine, service_offering: ServiceOffering,
                       cpu_number: int | None = None, cpu_speed: int | None = None,
                       memory: int | None = None) -> VirtualMachine:
    """CloudStack's changeServiceForVirtualMachine: a stopped VM takes the new size at its next start, up
    or down; only the limits count changes now (a stopped VM holds no host capacity)."""
    authorize(caller, "vm.change_offering", vm)
    return _change_offering(caller, _locked(vm), service_offering, cpu_number, cpu_speed, memory)


def _change_offering(caller: User, vm: VirtualMachine, service_offering: ServiceOffering, cpu_number: int | None,
                     cpu_speed: int | None, memory: int | None) -> VirtualMachine:
    _require_state(vm, VmState.STOPPED, action=_("change the offering of"))
    size = _new_size(vm, service_offering, cpu_number, cpu_speed, memory)
    _count_difference(vm, size[0], size[2])
    old = vm.service_offering.name
    _apply_size(vm, service_offering, size)
    event_emit(type="VM.UPGRADE", description=_("VM %(name)s changed from offering %(old)s to %(new)s") % {
        "name": vm.name, "old": old, "new": service_offering.name}, account=vm.account, user=caller, resource=vm)
    return vm


@transaction.atomic
def vm_scale(*, caller: User, vm: VirtualMachine, service_offering: ServiceOffering, cpu_number: int | None = None,
             cpu_speed: int | None = None, memory: int | None = None) -> AsyncJob:
    """CloudStack's scaleVirtualMachine. A stopped VM changes offering as above. A running one grows live
    (never shrinks: the guest would lose CPUs or memory it uses), when both the VM and its offerings allow
    dynamic scaling; the extra CPU and memory are counted against the limits and reserved on its host now,
    and the job applies them within the domain's maximum vCPUs and memory (vm_record_scaled /
    vm_record_scale_failed settle the reservations)."""
    authorize(caller, "vm.scale", vm)
    vm = _locked(vm)
    if vm.state == VmState.STOPPED:
        _change_offering(caller, vm, service_offering, cpu_number, cpu_speed, memory)
        return job_submit(caller=caller, account=vm.account, cmd="scaleVirtualMachine",
                          handler=f"{JOB_MODULE}.run_vm_recorded", instance=vm, queue=DEFAULT_QUEUE,
                          event_type="VM.SCALE", description=_("Scaling VM %(name)s") % {"name": vm.name})
    _require_state(vm, VmState.RUNNING, VmState.STOPPED, action=_("scale"))
    if not (vm.dynamically_scalable and vm.service_offering.dynamic_scaling_enabled
            and service_offering.dynamic_scaling_enabled):
        raise InvalidParameter(_("VM %(name)s cannot be scaled while running: dynamic scaling is disabled for the "
                                 "VM or its offering. Stop it and change its offering instead.") % {"name": vm.name})
    size = _new_size(vm, service_offering, cpu_number, cpu_speed, memory)
    new_cpu, new_speed, new_memory = size
    if new_cpu < vm.cpu_number or new_speed < vm.cpu_speed or new_memory < vm.memory:
        raise InvalidParameter(_("A running VM can only be scaled up: %(cpu)s x %(speed)s MHz and %(mem)s MiB is "
                                 "less than its %(ocpu)s x %(ospeed)s MHz and %(omem)s MiB in some way.") % {
            "cpu": new_cpu, "speed": new_speed, "mem": new_memory, "ocpu": vm.cpu_number, "ospeed": vm.cpu_speed,
            "omem": vm.memory})
    _count_difference(vm, new_cpu, new_memory)
    extra_mhz = new_cpu * new_speed - vm.cpu_mhz
    extra_bytes = (new_memory - vm.memory) * 2**20
    host_reserve(zone=vm.zone, cpu_mhz=extra_mhz, memory_bytes=extra_bytes, only=vm.host)
    return job_submit(caller=caller, account=vm.account, cmd="scaleVirtualMachine",
                      handler=f"{JOB_MODULE}.run_vm_scale", instance=vm, queue=vm.host.queue,
                      params={"offering": service_offering.pk, "cpu_number": new_cpu, "cpu_speed": new_speed,
                              "memory": new_memory, "from": [vm.cpu_number, vm.cpu_speed, vm.memory]},
                      event_type="VM.SCALE", description=_("Scaling VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_record_scaled(*, vm: VirtualMachine, params: dict) -> None:
    """The host applied the new size: the VM's row takes it (limits and capacity were counted already)."""
    vm = _locked(vm)
    offering = ServiceOffering.objects.get(pk=params["offering"])
    _apply_size(vm, offering, (params["cpu_number"], params["cpu_speed"], params["memory"]))
    event_emit(type="VM.SCALE", description=_("VM %(name)s now has %(cpu)s x %(speed)s MHz and %(mem)s MiB") % {
        "name": vm.name, "cpu": vm.cpu_number, "speed": vm.cpu_speed, "mem": vm.memory},
        account=vm.account, resource=vm)


@transaction.atomic
def vm_record_scale_failed(*, vm: VirtualMachine, params: dict, reason: str) -> None:
    """The VM keeps its size: give back what the request counted and reserved for the growth."""
    vm = _locked(vm)
    old_cpu, old_speed, old_memory = params["from"]
    for resource_type, delta in ((ResourceType.CPU, params["cpu_number"] - old_cpu),
                                 (ResourceType.MEMORY, params["memory"] - old_memory)):
        if delta > 0:
            resource_release(account=vm.account, resource_type=resource_type, amount=delta)
    if vm.host is not None:
        host_release(host=vm.host, cpu_mhz=params["cpu_number"] * params["cpu_speed"] - old_cpu * old_speed,
                     memory_bytes=(params["memory"] - old_memory) * 2**20)
    event_emit(type="VM.SCALE", description=_("VM %(name)s could not be scaled: %(reason)s") % {
        "name": vm.name, "reason": reason}, account=vm.account, resource=vm, level=Event.Level.ERROR)


# --- ISO and SSH keys -------------------------------------------------------------------------------------

def _vm_job(caller: User, vm: VirtualMachine, *, cmd: str, handler: str, event_type: str, description: str,
            params: dict | None = None) -> AsyncJob:
    """A running VM's job runs on its host's queue; a stopped VM's change is recorded already and its job
    only reports it (CloudStack answers these commands with a job either way)."""
    queue = vm.host.queue if vm.state == VmState.RUNNING and vm.host is not None else DEFAULT_QUEUE
    return job_submit(caller=caller, account=vm.account, cmd=cmd, handler=f"{JOB_MODULE}.{handler}", instance=vm,
                      queue=queue, params=params, event_type=event_type, description=description)


@transaction.atomic
def vm_attach_iso(*, caller: User, vm: VirtualMachine, iso: Template) -> AsyncJob:
    """CloudStack's attachIso: the ISO goes into the VM's CD drive (hdc), live when it runs."""
    authorize(caller, "vm.iso", vm)
    vm = _locked(vm)
    _require_state(vm, VmState.RUNNING, VmState.STOPPED, action=_("attach an ISO to"))
    if not iso.is_iso:
        raise InvalidParameter(_("%(name)s is a template, not an ISO.") % {"name": iso.name})
    if iso.removed is not None or not iso.is_ready:
        raise InvalidParameter(_("ISO %(name)s is not ready.") % {"name": iso.name})
    if iso.zone_id not in (None, vm.zone_id):
        raise InvalidParameter(_("ISO %(iso)s is not available in the VM's zone %(zone)s.") % {
            "iso": iso.name, "zone": vm.zone.name})
    if vm.iso_id is not None:
        raise InvalidState(_("VM %(name)s already has an ISO attached; detach it first.") % {"name": vm.name})
    if vm.state == VmState.STOPPED:
        VirtualMachine.objects.filter(pk=vm.pk).update(iso=iso)
        vm.iso = iso
        handler = "run_vm_recorded"
    else:
        handler = "run_vm_change_media"
    event_emit(type="VM.ISO.ATTACH", description=_("Attaching ISO %(iso)s to VM %(name)s") % {
        "iso": iso.name, "name": vm.name}, account=vm.account, user=caller, resource=vm)
    return _vm_job(caller, vm, cmd="attachIso", handler=handler, event_type="ISO.ATTACH",
                   params={"iso": iso.pk}, description=_("Attaching ISO %(iso)s to VM %(name)s") % {
                       "iso": iso.name, "name": vm.name})


@transaction.atomic
def vm_detach_iso(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """CloudStack's detachIso: eject the VM's CD drive (live when it runs)."""
    authorize(caller, "vm.iso", vm)
    vm = _locked(vm)
    _require_state(vm, VmState.RUNNING, VmState.STOPPED, action=_("detach an ISO from"))
    if vm.iso_id is None:
        raise InvalidState(_("VM %(name)s has no ISO attached.") % {"name": vm.name})
    if vm.state == VmState.STOPPED:
        VirtualMachine.objects.filter(pk=vm.pk).update(iso=None)
        vm.iso = None
        handler = "run_vm_recorded"
    else:
        handler = "run_vm_change_media"
    return _vm_job(caller, vm, cmd="detachIso", handler=handler, event_type="ISO.DETACH", params={"iso": None},
                   description=_("Detaching the ISO from VM %(name)s") % {"name": vm.name})


@transaction.atomic
def vm_record_media(*, vm: VirtualMachine, iso_id: int | None) -> None:
    VirtualMachine.objects.filter(pk=vm.pk).update(iso_id=iso_id)
    vm.iso_id = iso_id


@transaction.atomic
def vm_reset_ssh_key(*, caller: User, vm: VirtualMachine, key_pairs: list[str]) -> AsyncJob:
    """CloudStack's resetSSHKeyForVirtualMachine (Stopped VMs only, as there): the VM keeps copies of the
    named key pairs' public keys, and the next start rebuilds its config drive with them."""
    authorize(caller, "vm.reset_ssh_key", vm)
    vm = _locked(vm)
    _require_state(vm, VmState.STOPPED, action=_("reset the SSH keys of"))
    names = list(dict.fromkeys(name.strip() for name in key_pairs if name.strip()))
    if not names:
        raise InvalidParameter(_("Name at least one SSH key pair."))
    from compute.selectors_keypairs import keypair_get_by_name  # the key pairs helper's module (issue 6)

    pairs = [keypair_get_by_name(caller=caller, account=vm.account, name=name) for name in names]
    changes = {"key_pair_names": ",".join(p.name for p in pairs),
               "ssh_public_keys": "\n".join(p.public_key.strip() for p in pairs), "config_drive_path": ""}
    if len(changes["key_pair_names"]) > 1024:
        raise InvalidParameter(_("Too many key pairs."))
    VirtualMachine.objects.filter(pk=vm.pk).update(**changes)
    for field, value in changes.items():
        setattr(vm, field, value)
    return _vm_job(caller, vm, cmd="resetSSHKeyForVirtualMachine", handler="run_vm_recorded",
                   event_type="VM.RESETSSHKEY",
                   description=_("Resetting the SSH keys of VM %(name)s") % {"name": vm.name})
