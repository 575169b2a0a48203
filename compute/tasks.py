"""VM job handlers and agent reconciliation. They run in the worker that consumes the VM's host queue:
load the rows, call the hypervisor driver, and record the outcome through compute.services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext as _

from compute import services, services_lifecycle
from compute.cloudinit import build_config_drive
from compute.models import VirtualMachine
from compute.specs import domain_spec
from compute.states import VmEvent, VmState
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import OperationFailed
from portal.events import event_emit
from portal.jobs import JobDeferred, JobOutcome, job_progress
from portal.models import AsyncJob
from storage import services as storage_services
from storage.models import Volume
from storage.tasks_pools import ensure_pool_on_host

logger = logging.getLogger(__name__)


def _load(job: AsyncJob) -> VirtualMachine:
    return VirtualMachine.objects.select_related(
        "host", "last_host", "service_offering", "template", "iso", "account", "zone").get(uuid=job.instance_id)


def _prepare_volumes(vm: VirtualMachine, host: Host | None = None) -> list[Volume]:
    """Create the VM's volumes on its host if they do not exist yet (first start after deploy, a replaced
    root disk)."""
    host = host or vm.host
    volumes = list(vm.volumes.filter(removed__isnull=True).select_related("template", "storage_pool",
                                                                        "disk_offering"))
    for volume in volumes:
        if volume.state == Volume.State.READY:
            continue
        storage_services.volume_record_creating(volume=volume)
        try:
            pool_name = _volume_pool_on_host(volume, host)
            backing = volume.template.local_path if volume.template and not host.is_simulator else None
            path = hv.create_volume(host.url, pool_name, volume.file_name, volume.size, backing_path=backing)
        except hv.HypervisorError:
            storage_services.volume_record_create_failed(volume=volume)
            raise
        storage_services.volume_record_created(volume=volume, host=host, pool_name=pool_name, path=path)
    return volumes


def _volume_pool_on_host(volume: Volume, host: Host) -> str:
    """Make sure the volume's pool exists on the host and name it: the primary storage placement chose, else
    (zones without storage pools) the host's local directory pool."""
    if volume.storage_pool is not None:
        ensure_pool_on_host(volume.storage_pool, host)
        return volume.storage_pool.libvirt_name
    hv.ensure_dir_pool(host.url, host.local_pool_name, host.storage_path)
    return host.local_pool_name


def config_drive_name(vm: VirtualMachine) -> str:
    return f"{vm.instance_name}-config.iso"


def _config_drive_pool(vm: VirtualMachine, host: Host, volumes: list[Volume]) -> str:
    """The config drive sits next to the root disk (so it follows the VM wherever that pool is reachable),
    or in the host's local pool."""
    root = next((v for v in volumes if v.volume_type == Volume.Type.ROOT and v.pool_name), None)
    if root is not None:
        return root.pool_name
    hv.ensure_dir_pool(host.url, host.local_pool_name, host.storage_path)
    return host.local_pool_name


def _write_config_drive(vm: VirtualMachine, volumes: list[Volume]) -> None:
    """Rebuilt at every start from what the VM has now (user-data and keys may have changed while stopped);
    only VMs given user-data or keys get one."""
    if not (vm.user_data or vm.ssh_public_keys):
        if vm.config_drive_path:
            services_lifecycle.vm_record_config_drive(vm=vm, path="")
        return
    data = build_config_drive(instance_id=str(vm.uuid), hostname=vm.name, user_data=vm.user_data,
                              public_keys=vm.ssh_public_keys.splitlines())
    path = hv.upload_volume(vm.host.url, _config_drive_pool(vm, vm.host, volumes), config_drive_name(vm), data)
    services_lifecycle.vm_record_config_drive(vm=vm, path=path)


def _boot(vm: VirtualMachine) -> hv.VncEndpoint | None:
    volumes = _prepare_volumes(vm)
    _write_config_drive(vm, volumes)
    hv.define_domain(vm.host.url, domain_spec(vm, volumes))
    hv.start_domain(vm.host.url, vm.instance_name)
    return hv.vnc_endpoint(vm.host.url, vm.instance_name)


def run_vm_start(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    services.ensure_state(vm, VmState.STARTING)
    job_progress(job, 10)
    try:
        vnc = _boot(vm)
    except hv.HypervisorError as exc:
        if job.params.get("deploy") and _retry_elsewhere(vm, job, exc):
            raise JobDeferred(countdown=0, progress=5) from exc
        services.vm_record_start_failed(vm=vm, reason=str(exc), first_deploy=bool(job.params.get("deploy")))
        raise OperationFailed(_("Unable to start VM %(name)s on %(host)s: %(error)s") % {
            "name": vm.name, "host": vm.host.name if vm.host else "?", "error": exc}) from exc
    job_progress(job, 90)
    services.vm_record_running(vm=vm, console=vnc)
    _forget_on_previous_host(vm, job.params.get("previous_host"))
    return JobOutcome.of(vm)


def _forget_on_previous_host(vm: VirtualMachine, host_id: int | None) -> None:
    """Undefine the shut-off domain a VM left on the host it last stopped on. Best effort: the VM runs
    already, and an unreachable old host must not fail its start (reconnecting hosts keep only what runs)."""
    previous = Host.objects.filter(pk=host_id).first() if host_id else None
    if previous is None or previous.url == vm.host.url:  # simulator hosts share one test:///default
        return
    try:
        hv.undefine_domain(previous.url, vm.instance_name)  # a domain already gone is fine
    except hv.HypervisorError as exc:
        logger.warning("could not undefine %s on its previous host %s: %s", vm.instance_name, previous.name, exc)


def _retry_elsewhere(vm: VirtualMachine, job: AsyncJob, exc: hv.HypervisorError) -> bool:
    """Move a failed first deploy to another host; the job then runs again on that host's queue."""
    failed = vm.host
    host = services.vm_deploy_retry(vm=vm, job=job, reason=str(exc))
    if host is None:
        return False
    logger.warning("VM %s failed to start on %s (%s); retrying on %s", vm.name, failed.name, exc, host.name)
    try:  # leave nothing defined on the failed host; it may well be unreachable, which is fine
        hv.undefine_domain(failed.url, vm.instance_name)
    except hv.HypervisorError as cleanup:
        logger.info("could not undefine %s on %s: %s", vm.instance_name, failed.name, cleanup)
    return True


def run_vm_allocate(job: AsyncJob) -> JobOutcome:
    """deployVirtualMachine with startvm=false: the rows exist, nothing is created on a host yet."""
    return JobOutcome.of(_load(job))


def run_vm_stop(job: AsyncJob) -> JobOutcome:
    """Forced: power off at once. Graceful: ACPI shutdown, and power off if the guest is still running after
    CIRROSTACK_VM_STOP_TIMEOUT seconds; that fallback is recorded as a warning event (the guest may not have
    flushed its disks)."""
    vm = _load(job)
    services.ensure_state(vm, VmState.STOPPING)
    forced = bool(job.params.get("forced"))
    timeout = settings.CIRROSTACK_VM_STOP_TIMEOUT
    try:
        if forced:
            hv.destroy_domain(vm.host.url, vm.instance_name)
        elif hv.shutdown_domain(vm.host.url, vm.instance_name, timeout=timeout):
            event_emit(type="VM.STOP", description=_(
                "VM %(name)s did not shut down within %(timeout)s seconds and was powered off") % {
                "name": vm.name, "timeout": timeout}, account=vm.account, level="WARN", resource=vm)
    except hv.DomainNotFound:
        logger.warning("VM %s was already gone from host %s", vm.instance_name, vm.host.name)
    except hv.HypervisorError as exc:
        services.vm_record_stop_failed(vm=vm, reason=str(exc))
        raise OperationFailed(_("Unable to stop VM %(name)s: %(error)s") % {"name": vm.name, "error": exc}) from exc
    services.vm_record_stopped(vm=vm)
    return JobOutcome.of(vm)


def run_vm_reboot(job: AsyncJob) -> JobOutcome:
    """A volatile VM is powered off, gets a fresh root disk from its template and starts again (same host,
    reservation kept); any other VM gets an ACPI reboot."""
    vm = _load(job)
    services.ensure_state(vm, VmState.RUNNING)
    try:
        if job.params.get("volatile"):
            _reset_root(vm, job, size=None)
            services_lifecycle.vm_record_restored(vm=vm, event_type="VM.REBOOT")
        else:
            hv.reboot_domain(vm.host.url, vm.instance_name)
    except hv.HypervisorError as exc:
        raise OperationFailed(_("Unable to reboot VM %(name)s: %(error)s") % {"name": vm.name, "error": exc}) from exc
    return JobOutcome.of(vm)


def _reset_root(vm: VirtualMachine, job: AsyncJob, *, size: int | None) -> None:
    """Replace the root disk by a fresh one (from the VM's template, blank for an ISO-installed VM): power
    off a running VM, delete the old file, create the new one and start the VM again on the same host."""
    running = vm.state == VmState.RUNNING
    host = vm.host or vm.last_host
    if running:
        hv.destroy_domain(host.url, vm.instance_name)
    job_progress(job, 30)
    old = vm.volumes.select_related("storage_pool", "host", "disk_offering").get(
        volume_type=Volume.Type.ROOT, removed__isnull=True)
    new = services_lifecycle.vm_record_root_replaced(vm=vm, old=old, size=size or old.size)
    if old.host_id is not None:
        try:
            hv.delete_volume(old.host.url, old.pool_name or old.host.local_pool_name, old.file_name)
        except (hv.VolumeNotFound, hv.PoolNotFound):
            logger.warning("old root disk %s of %s was already gone", old.file_name, vm.instance_name)
    job_progress(job, 60)
    if running:
        vm.refresh_from_db()
        volumes = _prepare_volumes(vm)
        _write_config_drive(vm, volumes)
        hv.define_domain(host.url, domain_spec(vm, volumes))
        hv.start_domain(host.url, vm.instance_name)
        services_lifecycle.vm_record_config_drive(vm=vm, path=vm.config_drive_path,
                                                  console=hv.vnc_endpoint(host.url, vm.instance_name))
    elif old.host_id is not None:
        # Stopped: create the new disk where the old one was, so the next start finds it ready.
        _prepare_volumes(vm, host)
    logger.info("VM %s has a new root volume %s", vm.instance_name, new.uuid)


def run_vm_restore(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    services.ensure_state(vm, VmState.RUNNING, VmState.STOPPED)
    try:
        _reset_root(vm, job, size=job.params.get("size"))
    except hv.HypervisorError as exc:
        raise OperationFailed(_("Unable to restore VM %(name)s: %(error)s") % {
            "name": vm.name, "error": exc}) from exc
    services_lifecycle.vm_record_restored(vm=vm)
    return JobOutcome.of(vm)


def run_vm_destroy(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    services.ensure_state(vm, VmState.STOPPING, VmState.DESTROYED)
    host = vm.host or vm.last_host
    try:
        if host is not None:
            hv.destroy_domain(host.url, vm.instance_name)
            hv.undefine_domain(host.url, vm.instance_name)
    except hv.HypervisorError as exc:
        if vm.state == VmState.STOPPING:
            services.vm_record_stop_failed(vm=vm, reason=str(exc))
        raise OperationFailed(_("Unable to destroy VM %(name)s: %(error)s") % {"name": vm.name, "error": exc}) from exc
    services.vm_record_destroyed(vm=vm)
    if job.params.get("expunge"):
        services_lifecycle.vm_record_expunging(vm=vm)
        _expunge(vm)
    return JobOutcome.of(vm)


def run_vm_expunge(job: AsyncJob) -> JobOutcome:
    vm = _load(job)
    services.ensure_state(vm, VmState.EXPUNGING)
    _expunge(vm)
    return JobOutcome()  # CloudStack answers expungeVirtualMachine with success: the VM is gone


def _expunge(vm: VirtualMachine) -> None:
    """Delete an Expunging VM's volumes and config drive on the hosts that hold them (already gone is fine);
    a failure puts it back to Destroyed for the periodic expunge to retry."""
    volumes = list(vm.volumes.filter(removed__isnull=True, host__isnull=False).select_related(
        "host", "storage_pool"))
    try:
        if vm.config_drive_path and (vm.last_host or vm.host) is not None:
            host = vm.last_host or vm.host
            try:
                hv.delete_volume(host.url, _config_drive_pool(vm, host, volumes), config_drive_name(vm))
            except (hv.VolumeNotFound, hv.PoolNotFound):
                logger.info("config drive of %s was already gone", vm.instance_name)
        for volume in volumes:
            try:
                if volume.storage_pool is not None:
                    # A shared pool may not be defined on that host any more (restart, redefinition): bring it
                    # back so the volume is really deleted, not left behind as an orphan image.
                    ensure_pool_on_host(volume.storage_pool, volume.host)
                hv.delete_volume(volume.host.url, volume.pool_name or volume.host.local_pool_name,
                                 volume.file_name)
            except hv.PoolNotFound:
                logger.warning("pool of volume %s is gone from host %s", volume.file_name, volume.host.name)
    except hv.HypervisorError as exc:
        services_lifecycle.vm_record_expunge_failed(vm=vm, reason=str(exc))
        raise OperationFailed(_("Unable to delete the volumes of VM %(name)s: %(error)s") % {
            "name": vm.name, "error": exc}) from exc
    services.vm_record_expunged(vm=vm)


@shared_task(name="cirrostack.vm_expunge", ignore_result=True)
def vm_expunge_task(vm_id: int) -> None:
    """The host work of the periodic expunge (compute.services_lifecycle.vm_expunge_due), on the VM's host
    queue."""
    vm = VirtualMachine.objects.select_related("host", "last_host", "account", "template").filter(
        pk=vm_id, state=VmState.EXPUNGING).first()
    if vm is None:
        return
    try:
        _expunge(vm)
    except OperationFailed:
        logger.warning("periodic expunge of %s failed; it is retried next round", vm.instance_name)


@shared_task(name="cirrostack.vm_expunge_due", ignore_result=True)
def vm_expunge_due_task() -> None:
    """What the default-queue agent's timer queues every expunge.interval."""
    services.vm_expunge_due()


def reconcile_host_vms(host: Host) -> None:
    """Make the portal and the host agree after the agent (re)connects.

    A simulator host (libvirt's test driver) forgets everything when its worker restarts, so the agent
    recreates the VMs the portal knows as running (or being stopped) there: that is what lets the embedded
    demo keep its VMs across restarts. On a real host, a VM the portal thinks is running but the host does not
    run was powered off behind the portal's back, and is recorded as Stopped.
    """
    domains = hv.list_domains(host.url)
    vms = VirtualMachine.objects.select_related("host", "service_offering", "account", "template").filter(
        host=host, state__in=[VmState.RUNNING, VmState.STOPPING])
    for vm in vms:
        state = domains.get(vm.instance_name, hv.DomainState.MISSING)
        if state == hv.DomainState.RUNNING:
            continue
        if host.is_simulator:
            logger.info("restoring VM %s on simulator host %s", vm.instance_name, host.name)
            volumes = list(vm.volumes.filter(removed__isnull=True))
            hv.define_domain(host.url, domain_spec(vm, volumes))
            hv.start_domain(host.url, vm.instance_name)
            services_lifecycle.vm_record_config_drive(vm=vm, path=vm.config_drive_path,
                                                      console=hv.vnc_endpoint(host.url, vm.instance_name))
        elif vm.state == VmState.RUNNING:
            logger.warning("VM %s is %s on host %s: recording it as stopped", vm.instance_name, state, host.name)
            services.vm_record_stopped(vm=vm, event=VmEvent.POWERED_OFF_ON_HOST)
