"""Writes about hosts: registering them, administering them (tags, enable/disable, maintenance, reconnect,
delete) and recording what their agents and the heartbeat report.

Hypervisor work never happens here: it is submitted as a job on the host's queue, so it runs in the agent
that owns the host (infrastructure.tasks, infrastructure.heartbeat)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.models import User
from infrastructure.models import Cluster, Host, Pod, Zone
from infrastructure.states import HOST_RESOURCE_STATE_MACHINE, HOST_STATE_MACHINE, HostEvent, ResourceEvent
from portal.authz import authorize
from portal.errors import InvalidParameter, InvalidState, ResourceInUse
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob
from portal.tags import tags_text

# qemu+ssh runs the OpenSSH client (key login; Host.username goes into the URI); qemu+libssh can also log in
# with Host.password; qemu+tcp/qemu+tls use SASL when the daemon asks (infrastructure.hypervisor.connection).
ALLOWED_URI_SCHEMES = ("qemu", "qemu+tcp", "qemu+ssh", "qemu+libssh", "qemu+tls", "qemu+unix", "test")
CREDENTIAL_PURPOSE = "host-credential"
# States in which a VM occupies its host: it cannot simply disappear with the host.
ACTIVE_VM_STATES = ("Starting", "Running", "Stopping", "Migrating")
ALLOCATION_EVENTS = {"Enable": ResourceEvent.ENABLE, "Disable": ResourceEvent.DISABLE}


def normalize_tags(raw: str | list[str] | None) -> str:
    """CloudStack takes host tags as a comma list; storing them normalised keeps tag matching an exact compare."""
    return tags_text(raw, too_long=_("Host tags are too long (at most 1024 characters)."))


def host_password(host: Host) -> str:
    """The decrypted password, for the agent only: no door renders it."""
    return crypto.decrypt(host.password_encrypted, purpose=CREDENTIAL_PURPOSE)


@transaction.atomic
def host_add(*, caller: User, cluster: Cluster, name: str, url: str, domain_type: str | None = None,
             storage_path: str = "", username: str = "", password: str = "", host_tags: str | list[str] = "",
             pod: Pod | None = None, zone: Zone | None = None) -> tuple[Host, AsyncJob]:
    """Register a libvirt host; its agent connects, learns its capacity and marks it Up (an async job)."""
    authorize(caller, "host.add")
    name = (name or "").strip()
    scheme = url.split(":", 1)[0]
    if "://" not in url or scheme not in ALLOWED_URI_SCHEMES:
        raise InvalidParameter(_("Unsupported libvirt URI %(url)s.") % {"url": url})
    if not name:
        raise InvalidParameter(_("A host needs a name."))
    if pod is not None and pod.pk != cluster.pod_id:
        raise InvalidParameter(_("Cluster %(cluster)s is not in pod %(pod)s.") % {"cluster": cluster, "pod": pod})
    if zone is not None and zone.pk != cluster.zone_id:
        raise InvalidParameter(_("Cluster %(cluster)s is not in zone %(zone)s.") % {"cluster": cluster,
                                                                                   "zone": zone})
    if domain_type is None:
        domain_type = Host.DomainType.TEST if scheme == "test" else Host.DomainType.QEMU
    if domain_type not in Host.DomainType.values:
        raise InvalidParameter(_("Unknown domain type %(type)s.") % {"type": domain_type})
    if Host.objects.filter(url=url).exists():
        raise InvalidParameter(_("A host with URI %(url)s is already registered.") % {"url": url})
    host = Host.objects.create(
        name=name, zone=cluster.zone, pod=cluster.pod, cluster=cluster, url=url, domain_type=domain_type,
        status=Host.Status.CONNECTING, host_tags=normalize_tags(host_tags), username=username.strip(),
        password_encrypted=crypto.encrypt(password, purpose=CREDENTIAL_PURPOSE),
        storage_path=storage_path or settings.CIRROSTACK_LOCAL_STORAGE_PATH,
    )
    job = job_submit(
        caller=caller, account=caller.account, cmd="addHost", handler="infrastructure.tasks.run_host_connect",
        instance=host, queue=host.queue, event_type="HOST.ADD",
        description=_("Adding host %(name)s (%(url)s)") % {"name": name, "url": url},
    )
    return host, job


@transaction.atomic
def host_update(*, caller: User, host: Host, name: str | None = None, host_tags: str | list[str] | None = None,
                allocation_state: str | None = None) -> Host:
    """CloudStack's updateHost: rename, retag, or Enable/Disable the host for new placements."""
    authorize(caller, "host.update", host)
    changes: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise InvalidParameter(_("A host needs a name."))
        changes["name"] = name.strip()
    if host_tags is not None:
        changes["host_tags"] = normalize_tags(host_tags)
    event = None
    if allocation_state is not None:
        event = ALLOCATION_EVENTS.get(allocation_state)
        if event is None:
            raise InvalidParameter(_("allocationstate must be Enable or Disable, not %(value)s.")
                                   % {"value": allocation_state})
        HOST_RESOURCE_STATE_MACHINE.check(host, event)
    if event is not None:
        HOST_RESOURCE_STATE_MACHINE.transit(host, event, **changes)
    elif changes:
        Host.objects.filter(pk=host.pk).update(**changes)
        for field, value in changes.items():
            setattr(host, field, value)
    host_event(host, "HOST.UPDATE", _("Updated host %(name)s") % {"name": host.name}, user=caller)
    return host


@transaction.atomic
def host_delete(*, caller: User, host: Host, forced: bool = False) -> None:
    """Remove a host. Refused while VMs run there; `forced` on a host that is not Up records them Stopped
    (the host is gone, and so are they). Volumes on its local storage always block: they would be lost."""
    from compute.models import VirtualMachine
    from compute.services import vm_record_stopped
    from compute.states import VM_STATE_MACHINE, VmEvent
    from storage.models import Volume

    authorize(caller, "host.delete", host)
    host = Host.objects.select_for_update().get(pk=host.pk)
    active = list(VirtualMachine.objects.filter(host=host, state__in=ACTIVE_VM_STATES, removed__isnull=True))
    if active and not forced:
        raise ResourceInUse(_("Host %(name)s still runs %(count)s VM(s); stop or migrate them first, or force "
                              "the deletion of a host that is not Up.") % {"name": host.name, "count": len(active)})
    if active and host.status == Host.Status.UP:
        raise InvalidState(_("Host %(name)s is Up and runs %(count)s VM(s): a forced deletion needs a host that is "
                             "not Up.") % {"name": host.name, "count": len(active)})
    for vm in active:
        if not VM_STATE_MACHINE.allows(vm.state, VmEvent.POWERED_OFF_ON_HOST):
            raise InvalidState(_("VM %(vm)s on host %(name)s is %(state)s; try again when it settles.")
                               % {"vm": vm.name, "name": host.name, "state": vm.state})
        vm_record_stopped(vm=vm, event=VmEvent.POWERED_OFF_ON_HOST)
    volumes = Volume.objects.filter(host=host, removed__isnull=True).count()
    if volumes:
        raise ResourceInUse(_("Host %(name)s holds %(count)s volume(s) on its local storage; delete them "
                              "first.") % {"name": host.name, "count": volumes})
    # What remains pointing at the host is history (expunged VMs and volumes, last-host hints).
    VirtualMachine.objects.filter(last_host=host).update(last_host=None)
    VirtualMachine.objects.filter(host=host).update(host=None)
    Volume.objects.filter(host=host).update(host=None)
    host_event(host, "HOST.DELETE", _("Deleted host %(name)s") % {"name": host.name}, user=caller, resource=False)
    host.delete()


@transaction.atomic
def host_reconnect(*, caller: User, host: Host) -> AsyncJob:
    """CloudStack's reconnectHost: the agent reconnects, refreshes the facts and re-syncs the VMs."""
    authorize(caller, "host.reconnect", host)
    HOST_STATE_MACHINE.transit(host, HostEvent.RECONNECT_REQUESTED)
    return _host_job(caller, host, "reconnectHost", "infrastructure.tasks.run_host_reconnect", "HOST.RECONNECT",
                     _("Reconnecting host %(name)s") % {"name": host.name})


@transaction.atomic
def host_prepare_maintenance(*, caller: User, host: Host) -> AsyncJob:
    """PrepareForMaintenance at once (placement stops choosing the host), then the agent's job decides."""
    authorize(caller, "host.maintenance", host)
    HOST_RESOURCE_STATE_MACHINE.transit(host, ResourceEvent.ADMIN_ASK_MAINTENANCE)
    return _host_job(caller, host, "prepareHostForMaintenance", "infrastructure.tasks.run_host_maintenance",
                     "MAINT.PREPARE", _("Preparing host %(name)s for maintenance") % {"name": host.name})


@transaction.atomic
def host_cancel_maintenance(*, caller: User, host: Host) -> AsyncJob:
    authorize(caller, "host.maintenance", host)
    HOST_RESOURCE_STATE_MACHINE.check(host, ResourceEvent.ADMIN_CANCEL_MAINTENANCE)
    return _host_job(caller, host, "cancelHostMaintenance", "infrastructure.tasks.run_host_cancel_maintenance",
                     "MAINT.CANCEL", _("Cancelling maintenance of host %(name)s") % {"name": host.name})


def _host_job(caller: User, host: Host, cmd: str, handler: str, event_type: str, description: str) -> AsyncJob:
    return job_submit(caller=caller, account=caller.account, cmd=cmd, handler=handler, instance=host,
                      queue=host.queue, event_type=event_type, description=description)


# ------------------------------------------------------------------ what the agent and the heartbeat report


@transaction.atomic
def host_enter_maintenance(*, host: Host, running_vms: int) -> bool:
    """The maintenance job's decision: True when the host is in Maintenance, False for ErrorInMaintenance
    (VMs still run there, and live migration arrives with issue 6)."""
    if running_vms:
        HOST_RESOURCE_STATE_MACHINE.transit(host, ResourceEvent.UNABLE_TO_MIGRATE)
        host_event(host, "MAINT.PREPARE", _("Host %(name)s cannot enter maintenance: %(count)s VM(s) still run "
                                            "there") % {"name": host.name, "count": running_vms}, level="ERROR")
        return False
    HOST_RESOURCE_STATE_MACHINE.transit(host, ResourceEvent.INTERNAL_ENTER_MAINTENANCE)
    host_event(host, "MAINT.PREPARE", _("Host %(name)s is in maintenance") % {"name": host.name})
    return True


@transaction.atomic
def host_leave_maintenance(*, host: Host) -> None:
    HOST_RESOURCE_STATE_MACHINE.transit(host, ResourceEvent.ADMIN_CANCEL_MAINTENANCE)
    host_event(host, "MAINT.CANCEL", _("Host %(name)s left maintenance") % {"name": host.name})


def host_record_connected(*, host: Host, cpu_sockets: int, cpu_cores: int, cpu_speed: int,
                          memory_total: int, hypervisor_version: str, cpu_model: str = "",
                          capabilities: str = "") -> None:
    """Called by the host's agent after it reached libvirt: capacity is what the host reports."""
    facts = {"cpu_sockets": cpu_sockets, "cpu_cores": cpu_cores, "cpu_speed": cpu_speed,
             "memory_total": memory_total, "hypervisor_version": hypervisor_version, "cpu_model": cpu_model,
             "capabilities": capabilities, "last_seen": timezone.now()}
    if HOST_STATE_MACHINE.allows(host.status, HostEvent.AGENT_CONNECTED):
        HOST_STATE_MACHINE.transit(host, HostEvent.AGENT_CONNECTED, disconnected=None, **facts)
        host_event(host, "HOST.UP", _("Host %(name)s is Up") % {"name": host.name})
    else:
        Host.objects.filter(pk=host.pk).update(**facts)
        for field, value in facts.items():
            setattr(host, field, value)


def host_record_seen(*, host: Host) -> None:
    """A heartbeat answered by an Up host: only the last-seen time moves."""
    now = timezone.now()
    Host.objects.filter(pk=host.pk).update(last_seen=now)
    host.last_seen = now


def host_record_unreachable(*, host: Host, reason: str) -> None:
    if HOST_STATE_MACHINE.allows(host.status, HostEvent.AGENT_UNREACHABLE):
        HOST_STATE_MACHINE.transit(host, HostEvent.AGENT_UNREACHABLE, disconnected=timezone.now())
        host_event(host, "HOST.DISCONNECTED",
                   _("Host %(name)s is unreachable: %(reason)s") % {"name": host.name, "reason": reason},
                   level="ERROR")


def host_record_missed_ping(*, host: Host, reason: str) -> None:
    """The heartbeat's failure ladder: Up → Alert → Disconnected → Down (after CIRROSTACK_HOST_DOWN_AFTER)."""
    if HOST_STATE_MACHINE.allows(host.status, HostEvent.PING_TIMEOUT):
        HOST_STATE_MACHINE.transit(host, HostEvent.PING_TIMEOUT)
        host_event(host, "HOST.ALERT", _("Host %(name)s missed a heartbeat: %(reason)s")
                   % {"name": host.name, "reason": reason}, level="WARN")
    elif host.status == Host.Status.ALERT:
        host_record_unreachable(host=host, reason=reason)
    elif host.status == Host.Status.DISCONNECTED:
        since = host.disconnected or host.last_seen
        down_after = getattr(settings, "CIRROSTACK_HOST_DOWN_AFTER", 300)
        if since is None or (timezone.now() - since).total_seconds() >= down_after:
            HOST_STATE_MACHINE.transit(host, HostEvent.HOST_DOWN)
            host_event(host, "HOST.DOWN", _("Host %(name)s is Down: %(reason)s")
                       % {"name": host.name, "reason": reason}, level="ERROR")


def host_event(host: Host, type: str, description: str, level: str = "INFO", user: User | None = None,
               resource: bool = True) -> None:
    """Host events belong to the root admin account: hosts are no tenant's."""
    from accounts.services_accounts import operator_account

    account = operator_account(user)
    if account is not None:
        event_emit(type=type, description=description, account=account, level=level, user=user,
                   resource=host if resource else None)
