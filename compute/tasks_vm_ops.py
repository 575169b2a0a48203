"""Job handlers of the VM operations (compute.services_vm_ops, compute.services_migration). They run in the
worker of the VM's host queue (the SOURCE host's for a migration), call the hypervisor driver and record the
outcome through the services."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from django.utils.translation import gettext as _

from compute import services, services_migration, services_vm_ops
from compute.models import VirtualMachine
from compute.specs import ISO_TARGET, iso_path
from compute.states import VmState
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import InvalidState, OperationFailed
from portal.jobs import JobOutcome, job_progress
from portal.models import AsyncJob
from storage.models import Template
from storage.tasks_pools import ensure_pool_on_host

logger = logging.getLogger(__name__)

def _load(job: AsyncJob) -> VirtualMachine:
    return VirtualMachine.objects.select_related(
        "host", "last_host", "service_offering", "template", "iso", "account", "zone").get(uuid=job.instance_id)


def run_vm_recorded(job: AsyncJob) -> JobOutcome:
    """The change was recorded by the request (a stopped VM's ISO, keys or offering); nothing runs on a host."""
    return JobOutcome.of(_load(job))


def domain_maximums(uri: str, name: str) -> tuple[int, int]:
    """The domain's maximum vCPUs and memory (MiB): what live scaling may grow to without a restart."""
    root = ET.fromstring(hv.domain_xml(uri, name))  # noqa: S314  (libvirt's own XML of our domain)
    vcpu = root.find("vcpu")
    memory = root.find("memory")
    max_vcpus = int(vcpu.text) if vcpu is not None and vcpu.text else 0
    unit = memory.get("unit", "KiB") if memory is not None else "KiB"
    factor = {"b": 1 / 2**20, "bytes": 1 / 2**20, "KiB": 1 / 1024, "k": 1 / 1024, "MiB": 1, "M": 1,
              "GiB": 1024, "G": 1024}.get(unit, 1 / 1024)
    max_mib = int(int(memory.text) * factor) if memory is not None and memory.text else 0
    return max_vcpus, max_mib


def run_vm_scale(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    params = job.params
    try:
        services.ensure_state(vm, VmState.RUNNING)
        max_vcpus, max_mib = domain_maximums(vm.host.url, vm.instance_name)
        if params["cpu_number"] > max_vcpus or params["memory"] > max_mib:
            raise OperationFailed(_("VM %(name)s can grow to at most %(cpu)s vCPUs and %(mem)s MiB while running; "
                                    "stop it and change its offering instead.") % {
                "name": vm.name, "cpu": max_vcpus, "mem": max_mib})
        job_progress(job, 30)
        if params["cpu_number"] != vm.cpu_number:
            hv.set_vcpus(vm.host.url, vm.instance_name, params["cpu_number"])
        if params["memory"] != vm.memory:
            hv.set_memory(vm.host.url, vm.instance_name, params["memory"])
    except (hv.HypervisorError, InvalidState, OperationFailed) as exc:
        services_vm_ops.vm_record_scale_failed(vm=vm, params=params, reason=str(exc))
        if isinstance(exc, hv.HypervisorError):
            raise OperationFailed(_("Unable to scale VM %(name)s: %(error)s") % {
                "name": vm.name, "error": exc}) from exc
        raise
    services_vm_ops.vm_record_scaled(vm=vm, params=params)
    return JobOutcome.of(vm)


def run_vm_change_media(job: AsyncJob) -> JobOutcome:
    """Insert (params iso) or eject (iso None) the running VM's CD; the row follows what the host did."""
    vm = _load(job)
    services.ensure_state(vm, VmState.RUNNING)
    iso = Template.objects.get(pk=job.params["iso"]) if job.params.get("iso") else None
    try:
        hv.change_media(vm.host.url, vm.instance_name, ISO_TARGET, iso_path(iso, vm.host) if iso else None)
    except hv.HypervisorError as exc:
        raise OperationFailed(_("Unable to change the CD of VM %(name)s: %(error)s") % {
            "name": vm.name, "error": exc}) from exc
    services_vm_ops.vm_record_media(vm=vm, iso_id=iso.pk if iso else None)
    return JobOutcome.of(vm)


def run_vm_migrate(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    services.ensure_state(vm, VmState.MIGRATING)
    source = Host.objects.get(pk=job.params["source"])
    target = Host.objects.get(pk=job.params["target"])
    try:
        # The target must have the VM's pools defined before libvirt opens the disks there.
        for volume in vm.volumes.filter(removed__isnull=True, storage_pool__isnull=False).select_related(
                "storage_pool"):
            ensure_pool_on_host(volume.storage_pool, target)
        job_progress(job, 20)
        hv.migrate_domain(source.url, target.url, vm.instance_name, vnc_listen=target.console_address)
        vnc = hv.vnc_endpoint(target.url, vm.instance_name)
    except hv.HypervisorError as exc:
        services_migration.vm_record_migrate_failed(vm=vm, target=target, reason=str(exc))
        raise OperationFailed(_("Unable to migrate VM %(name)s to %(host)s: %(error)s") % {
            "name": vm.name, "host": target.name, "error": exc}) from exc
    services_migration.vm_record_migrated(vm=vm, source=source, target=target, console=vnc)
    return JobOutcome.of(vm)
