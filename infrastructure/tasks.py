"""Host agent work. Runs in a Celery worker consuming the host's queue; talks to libvirt only through
infrastructure.hypervisor."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext as _

from infrastructure import hypervisor as hv
from infrastructure import services_hosts as services
from infrastructure.models import Host
from portal.errors import OperationFailed, ResourceUnavailable
from portal.jobs import JobOutcome
from portal.models import AsyncJob

logger = logging.getLogger(__name__)


def connect_host(host: Host) -> bool:
    """Reach the host, record its facts and make sure its local storage pool and every primary storage pool
    of its scope exist there (a pool that fails is reported, and does not keep the host from coming Up)."""
    from storage.tasks_pools import define_pools_on_host

    # Every later connection of this agent to the host (jobs, heartbeats, reconnects) authenticates with
    # the credentials stored on the host row; registering them before the first call covers them all.
    hv.set_credentials(host.url, host.username, services.host_password(host))
    try:
        facts = hv.host_facts(host.url)
        hv.ensure_dir_pool(host.url, host.local_pool_name, host.storage_path)
    except hv.HypervisorError as exc:
        logger.warning("host %s (%s) unreachable: %s", host.name, host.url, exc)
        services.host_record_unreachable(host=host, reason=str(exc))
        return False
    services.host_record_connected(
        host=host, cpu_sockets=facts.cpu_sockets, cpu_cores=facts.cpu_cores, cpu_speed=facts.cpu_mhz,
        memory_total=facts.memory_bytes, hypervisor_version=f"{facts.hypervisor_type} {facts.hypervisor_version}",
        cpu_model=facts.cpu_model, capabilities=",".join(("hvm", *facts.domain_types)),
    )
    define_pools_on_host(host)
    return True


def run_host_connect(job: AsyncJob) -> JobOutcome:
    host = Host.objects.get(uuid=job.instance_id)
    if not connect_host(host):
        raise ResourceUnavailable(_("Cannot connect to host %(name)s at %(url)s.") % {"name": host.name,
                                                                                    "url": host.url})
    return JobOutcome.of(host)


def run_host_reconnect(job: AsyncJob) -> JobOutcome:
    """reconnectHost: reconnect, then bring the portal's view of the host's VMs in line."""
    from compute.tasks import reconcile_host_vms

    host = Host.objects.get(uuid=job.instance_id)
    if not connect_host(host):
        raise ResourceUnavailable(_("Cannot connect to host %(name)s at %(url)s.") % {"name": host.name,
                                                                                    "url": host.url})
    reconcile_host_vms(host)
    return JobOutcome.of(host)


def run_host_maintenance(job: AsyncJob) -> JobOutcome:
    """prepareHostForMaintenance: a host with no running VMs enters Maintenance; until live migration exists
    (issue 6) a host that still runs VMs ends in ErrorInMaintenance and the job says why."""
    from compute.models import VirtualMachine

    host = Host.objects.get(uuid=job.instance_id)
    running = VirtualMachine.objects.filter(host=host, state__in=services.ACTIVE_VM_STATES,
                                            removed__isnull=True).count()
    if not services.host_enter_maintenance(host=host, running_vms=running):
        raise OperationFailed(_("Host %(name)s still runs %(count)s VM(s) and they cannot be migrated yet; stop "
                                "them, then prepare the host for maintenance again.")
                              % {"name": host.name, "count": running})
    return JobOutcome.of(host)


def run_host_cancel_maintenance(job: AsyncJob) -> JobOutcome:
    host = Host.objects.get(uuid=job.instance_id)
    services.host_leave_maintenance(host=host)
    return JobOutcome.of(host)


@shared_task(name="cirrostack.host_sync")
def host_sync(host_id: int) -> None:
    """Reconnect a host and bring the portal's view of its VMs in line with what the host runs."""
    from compute.tasks import reconcile_host_vms

    host = Host.objects.filter(pk=host_id).first()
    if host is None:
        return
    if connect_host(host):
        reconcile_host_vms(host)
