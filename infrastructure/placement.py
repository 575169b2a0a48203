"""Placement: choose a host with room and reserve its capacity atomically.

Reservation is a single conditional UPDATE per candidate ("add the VM's CPU and memory if they still fit"),
so two racing deploys can never both take the last room on a host, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F
from django.utils.translation import gettext as _

from infrastructure.models import AllocationState, Host, Zone
from portal.configuration import config_value
from portal.errors import InsufficientCapacity


def candidate_hosts(*, zone: Zone) -> Iterable[Host]:
    return (
        Host.objects.select_related("cluster")
        .filter(
            zone=zone,
            status=Host.Status.UP,
            resource_state=AllocationState.ENABLED,
            cluster__allocation_state=AllocationState.ENABLED,
            pod__allocation_state=AllocationState.ENABLED,
        )
        .order_by("id")
    )


def _try_reserve(host: Host, cpu_mhz: int, memory_bytes: int) -> bool:
    cpu_limit = int(host.cpu_total_mhz * config_value("cpu.overprovisioning.factor", cluster=host.cluster))
    memory_limit = int(host.memory_total * config_value("mem.overprovisioning.factor", cluster=host.cluster))
    return bool(
        Host.objects.filter(
            pk=host.pk,
            status=Host.Status.UP,
            resource_state=AllocationState.ENABLED,
            cpu_allocated__lte=cpu_limit - cpu_mhz,
            memory_allocated__lte=memory_limit - memory_bytes,
        ).update(cpu_allocated=F("cpu_allocated") + cpu_mhz, memory_allocated=F("memory_allocated") + memory_bytes)
    )


def host_reserve(*, zone: Zone, cpu_mhz: int, memory_bytes: int, only: Host | None = None) -> Host:
    """Reserve room on the first Up host that fits (or on `only`); InsufficientCapacity (533) otherwise."""
    hosts = candidate_hosts(zone=zone)
    if only is not None:
        hosts = hosts.filter(pk=only.pk)
    for host in hosts:
        if _try_reserve(host, cpu_mhz, memory_bytes):
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
