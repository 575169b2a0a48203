"""The host heartbeat: keeps each host's status and last-seen time current.

A timer thread in the agent (infrastructure.agent) submits one `host_heartbeat` task per served host every
CIRROSTACK_HOST_HEARTBEAT_SECONDS onto the host's own queue. Running the ping on the host's queue (not in
the timer thread) means a host whose libvirt hangs only delays its own queue, and that the same code path
works in the embedded default (one worker, many hosts) and in production (one worker per host). The timer
is a plain thread rather than Celery beat because beat would need its own process and schedule store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings

from infrastructure import hypervisor as hv
from infrastructure import services_hosts as services
from infrastructure.models import Host

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60.0


def heartbeat_interval() -> float:
    return float(getattr(settings, "CIRROSTACK_HOST_HEARTBEAT_SECONDS", DEFAULT_INTERVAL))


def check_host(host: Host) -> str:
    """Ping the host once and record the outcome; returns the host's status afterwards.

    A Connecting host is left alone: an addHost/reconnectHost job owns it. A host coming back from
    Alert/Disconnected/Down is fully reconnected (facts, storage pool, VM reconciliation), because whatever
    happened while it was away may have changed it."""
    if host.status == Host.Status.CONNECTING:
        return host.status
    try:
        alive = hv.ping(host.url)
        reason = "" if alive else f"no answer from {host.url}"
    except hv.HypervisorError as exc:
        alive, reason = False, str(exc)
    if not alive:
        logger.warning("heartbeat: host %s (%s) missed: %s", host.name, host.url, reason)
        services.host_record_missed_ping(host=host, reason=reason)
        return host.status
    if host.status == Host.Status.UP:
        services.host_record_seen(host=host)
        return host.status
    from compute.tasks import reconcile_host_vms
    from infrastructure.tasks import connect_host

    if connect_host(host):
        reconcile_host_vms(host)
    return host.status


@shared_task(name="cirrostack.host_heartbeat", ignore_result=True)
def host_heartbeat(host_id: int) -> None:
    host = Host.objects.filter(pk=host_id).first()
    if host is not None:
        check_host(host)


def submit_heartbeats(host_ids: Iterable[int]) -> int:
    """Queue one heartbeat per host on its own queue; how the agent's timer drives the heartbeat."""
    count = 0
    for host_id in host_ids:
        host_heartbeat.apply_async(args=[host_id], queue=f"host.{host_id}", expires=heartbeat_interval())
        count += 1
    return count
