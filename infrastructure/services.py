"""Writes on the physical side: registering hosts and recording what their agents report."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Cluster, Host
from infrastructure.states import HOST_STATE_MACHINE, HostEvent
from portal.authz import authorize
from portal.errors import InvalidParameter
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob

ALLOWED_URI_SCHEMES = ("qemu", "qemu+tcp", "qemu+ssh", "qemu+tls", "qemu+unix", "test")


@transaction.atomic
def host_add(*, caller: User, cluster: Cluster, name: str, url: str, domain_type: str | None = None,
             storage_path: str = "") -> tuple[Host, AsyncJob]:
    """Register a libvirt host; its agent connects, learns its capacity and marks it Up (an async job)."""
    authorize(caller, "host.add")
    scheme = url.split(":", 1)[0]
    if "://" not in url or scheme not in ALLOWED_URI_SCHEMES:
        raise InvalidParameter(_("Unsupported libvirt URI %(url)s.") % {"url": url})
    if domain_type is None:
        domain_type = Host.DomainType.TEST if scheme == "test" else Host.DomainType.QEMU
    if domain_type not in Host.DomainType.values:
        raise InvalidParameter(_("Unknown domain type %(type)s.") % {"type": domain_type})
    if Host.objects.filter(url=url).exists():
        raise InvalidParameter(_("A host with URI %(url)s is already registered.") % {"url": url})
    host = Host.objects.create(
        name=name, zone=cluster.zone, pod=cluster.pod, cluster=cluster, url=url, domain_type=domain_type,
        status=Host.Status.CONNECTING,
        storage_path=storage_path or settings.CIRROSTACK_LOCAL_STORAGE_PATH,
    )
    job = job_submit(
        caller=caller, account=caller.account, cmd="addHost", handler="infrastructure.tasks.run_host_connect",
        instance=host, queue=host.queue, event_type="HOST.ADD",
        description=_("Adding host %(name)s (%(url)s)") % {"name": name, "url": url},
    )
    return host, job


def host_record_connected(*, host: Host, cpu_sockets: int, cpu_cores: int, cpu_speed: int,
                          memory_total: int, hypervisor_version: str) -> None:
    """Called by the host's agent after it reached libvirt: capacity is what the host reports."""
    facts = {"cpu_sockets": cpu_sockets, "cpu_cores": cpu_cores, "cpu_speed": cpu_speed,
             "memory_total": memory_total, "hypervisor_version": hypervisor_version, "last_seen": timezone.now()}
    if HOST_STATE_MACHINE.allows(host.status, HostEvent.AGENT_CONNECTED):
        HOST_STATE_MACHINE.transit(host, HostEvent.AGENT_CONNECTED, **facts)
        _host_event(host, "HOST.UP", _("Host %(name)s is Up") % {"name": host.name})
    else:
        Host.objects.filter(pk=host.pk).update(**facts)
        for field, value in facts.items():
            setattr(host, field, value)


def host_record_unreachable(*, host: Host, reason: str) -> None:
    if HOST_STATE_MACHINE.allows(host.status, HostEvent.AGENT_UNREACHABLE):
        HOST_STATE_MACHINE.transit(host, HostEvent.AGENT_UNREACHABLE)
        _host_event(host, "HOST.DISCONNECTED",
                    _("Host %(name)s is unreachable: %(reason)s") % {"name": host.name, "reason": reason},
                    level="ERROR")


def _host_event(host: Host, type: str, description: str, level: str = "INFO") -> None:
    from accounts.models import Account

    admin_account = Account.objects.filter(account_type=Account.Type.ROOT_ADMIN).order_by("id").first()
    if admin_account is not None:
        event_emit(type=type, description=description, account=admin_account, level=level, resource=host)
