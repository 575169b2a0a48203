"""Reserving a host's CPU and memory atomically.

Reservation is a single conditional UPDATE per candidate ("add the VM's CPU and memory if they still fit"),
so two racing deploys can never both take the last room on a host, on SQLite or PostgreSQL alike. Which
hosts are tried, and in what order, is the planners' business (infrastructure.placement.planners).
"""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from infrastructure.models import AllocationState, Host, Zone
from portal.errors import InsufficientCapacity


def usable_hosts(*, zone: Zone) -> QuerySet[Host]:
    """Hosts a VM may be placed on at all: Up, enabled, in an enabled pod and cluster."""
    return Host.objects.filter(
        zone=zone,
        status=Host.Status.UP,
        resource_state=AllocationState.ENABLED,
        cluster__allocation_state=AllocationState.ENABLED,
        pod__allocation_state=AllocationState.ENABLED,
    )


def try_reserve(*, host_id: int, cpu_limit: float, memory_limit: float, cpu_mhz: int, memory_bytes: int) -> bool:
    """Add the VM's CPU and memory to the host if they still fit under the limits; False changes nothing."""
    return bool(
        Host.objects.filter(
            pk=host_id,
            status=Host.Status.UP,
            resource_state=AllocationState.ENABLED,
            cpu_allocated__lte=int(cpu_limit) - cpu_mhz,
            memory_allocated__lte=int(memory_limit) - memory_bytes,
        ).update(cpu_allocated=F("cpu_allocated") + cpu_mhz, memory_allocated=F("memory_allocated") + memory_bytes)
    )


def host_reserve(*, zone: Zone, cpu_mhz: int, memory_bytes: int, only: Host | None = None) -> Host:
    """Reserve room on the first Up host (by id) that fits, or on `only`; InsufficientCapacity (533) otherwise.

    The plain first-fit used where no planner applies (restarting a VM on the host holding its local disk)."""
    hosts = usable_hosts(zone=zone).select_related("cluster").order_by("id")
    if only is not None:
        hosts = hosts.filter(pk=only.pk)
    for host in hosts:
        if try_reserve(host_id=host.pk, cpu_limit=host.cpu_total_mhz * host.cluster.cpu_overprovisioning,
                       memory_limit=host.memory_total * host.cluster.memory_overprovisioning,
                       cpu_mhz=cpu_mhz, memory_bytes=memory_bytes):
            return host
    if only is not None:
        raise InsufficientCapacity(
            _("Host %(host)s is not available or has no room for %(cpu)s MHz and %(mem)s MiB.")
            % {"host": only.name, "cpu": cpu_mhz, "mem": memory_bytes // 2**20}
        )
    raise InsufficientCapacity(
        _("No host in zone %(zone)s has room for %(cpu)s MHz and %(mem)s MiB.")
        % {"zone": zone.name, "cpu": cpu_mhz, "mem": memory_bytes // 2**20}
    )


def host_release(*, host: Host, cpu_mhz: int, memory_bytes: int) -> None:
    Host.objects.filter(pk=host.pk).update(
        cpu_allocated=F("cpu_allocated") - cpu_mhz, memory_allocated=F("memory_allocated") - memory_bytes
    )
