"""Console tickets: who may open which VM's console, and where the proxy then connects.

The browser never learns where the VM's VNC server is or its password. It gets a random ticket, good for one
connection within CONSOLE_TOKEN_TTL seconds, for one user and one VM; the WebSocket consumer
(compute.consumers) redeems it and relays to the address and port the agent recorded for the VM. Only the
ticket's SHA-256 is stored. While the socket is open the consumer asks `console_verdict` again every few
seconds, so losing the grant, a stop or a migration closes the console: the last one with a code that tells
the page to reconnect (it then asks for a new ticket and reaches the VM on its new host).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.models import User
from compute.models import ConsoleToken, VirtualMachine
from compute.states import VmState
from infrastructure.hypervisor import VncEndpoint
from portal.authz import authorize, can
from portal.errors import InvalidState, NotFound, PermissionDenied, Unsupported
from portal.events import event_emit
from portal.jobs import job_submit
from portal.models import AsyncJob

VNC_PASSWORD_PURPOSE = "vnc-password"  # noqa: S105 (a key-derivation label, not a secret)
# CloudStack's consoleproxy.url.expiry is minutes; a ticket here only has to survive the page opening its
# socket, so it is capped at one minute whatever the setting says.
CONSOLE_TOKEN_TTL_MAX = 60
# Tickets are pruned this long after they expire (kept a little for the audit of failed attempts).
PRUNE_AFTER = timedelta(hours=1)

# Why an open console must close, as the consumer tells the page (WebSocket close codes, 4000-4999).
MOVED = "moved"  # the VM now runs elsewhere (migration, restart): the page reconnects by itself
STOPPED = "stopped"  # not running any more
FORBIDDEN = "forbidden"  # the user lost the right to this console


# A migrating VM still runs on its source until the switch-over: its console stays there till then.
CONSOLE_STATES = (VmState.RUNNING, VmState.MIGRATING)


@dataclass(frozen=True)
class ConsoleTarget:
    """Where the proxy connects for one VM: the host's console address and the domain's VNC port."""

    vm_id: int
    host_id: int
    address: str
    port: int
    password: str = field(repr=False)


def console_token_ttl() -> int:
    return max(1, min(int(getattr(settings, "CIRROSTACK_CONSOLE_TOKEN_TTL", CONSOLE_TOKEN_TTL_MAX)),
                      CONSOLE_TOKEN_TTL_MAX))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def console_fields(endpoint: VncEndpoint | None) -> dict[str, object]:
    """The VM columns for what the agent read off a running domain (None: it has no console now)."""
    if endpoint is None:
        return {"vnc_port": None, "vnc_password_encrypted": ""}
    return {"vnc_port": endpoint.port,
            "vnc_password_encrypted": crypto.encrypt(endpoint.password or "", purpose=VNC_PASSWORD_PURPOSE)}


def console_target(vm: VirtualMachine) -> ConsoleTarget | None:
    """Where the VM's console is now, or None when it has none (not running, or its host reported no port)."""
    if vm.state not in CONSOLE_STATES or vm.host_id is None or not vm.vnc_port:
        return None
    return ConsoleTarget(vm_id=vm.pk, host_id=vm.host_id, address=vm.host.console_address, port=vm.vnc_port,
                         password=crypto.decrypt(vm.vnc_password_encrypted, purpose=VNC_PASSWORD_PURPOSE))


def _require_console(vm: VirtualMachine) -> ConsoleTarget:
    target = console_target(vm)
    if target is None:
        if vm.state not in CONSOLE_STATES:
            raise InvalidState(_("VM %(name)s is %(state)s: its console is available while it is Running.") % {
                "name": vm.name, "state": vm.state})
        raise InvalidState(_("VM %(name)s has no console right now (its host has not reported one).") % {
            "name": vm.name})
    return target


@transaction.atomic
def console_token_create(*, caller: User, vm: VirtualMachine) -> tuple[str, datetime]:
    """Mint a ticket for the caller's next console connection to this VM: (token, when it stops being valid).

    Refused unless the caller may open this console now and the VM has one, so a page never shows a
    ticket that cannot work."""
    authorize(caller, "vm.console", vm)
    _require_console(vm)
    now = timezone.now()
    ConsoleToken.objects.filter(expires__lt=now - PRUNE_AFTER).delete()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=console_token_ttl())
    ConsoleToken.objects.create(token_hash=token_hash(token), user=caller, virtual_machine=vm,
                                account_id=vm.account_id, domain_id=vm.domain_id, expires=expires)
    return token, expires


def console_redeem(*, caller: User, token: str) -> ConsoleTarget:
    """Spend a ticket: the console it opens, if it is the caller's, unused, unexpired and the caller may
    still open that console. A ticket is spent by the attempt even when what follows refuses."""
    if not token:
        raise PermissionDenied(_("A console ticket is required."))
    digest = token_hash(token)
    now = timezone.now()
    with transaction.atomic():
        spent = ConsoleToken.objects.filter(token_hash=digest, user=caller, used__isnull=True,
                                            expires__gt=now).update(used=now)
        if spent != 1:
            raise PermissionDenied(_("The console ticket is not valid: it is unknown, someone else's, "
                                     "already used or expired."))
        ticket = ConsoleToken.objects.select_related(
            "virtual_machine__host", "virtual_machine__account", "virtual_machine__domain").get(token_hash=digest)
    vm = ticket.virtual_machine
    authorize(caller, "vm.console", vm)
    target = _require_console(vm)
    event_emit(type="VM.CONSOLE", description=_("%(user)s opened the console of VM %(name)s") % {
        "user": caller.username, "name": vm.name}, account=vm.account, user=caller, resource=vm)
    return target


def console_verdict(*, user_id: int, target: ConsoleTarget) -> str | None:
    """None while an open console may stay open; else why it must close (MOVED, STOPPED or FORBIDDEN).

    Reads the user again too: a deactivated user or a changed role counts from the next check on."""
    user = User.objects.select_related("account__domain", "account__role").filter(pk=user_id, is_active=True).first()
    vm = VirtualMachine.objects.select_related("host", "account", "domain").filter(pk=target.vm_id).first()
    if user is None or vm is None or not can(user, "vm.console", vm):
        return FORBIDDEN
    current = console_target(vm)
    if current is None:
        return STOPPED
    if (current.host_id, current.address, current.port) != (target.host_id, target.address, target.port):
        return MOVED
    return None


# --- the serial console's text ------------------------------------------------------------------------------
# Hosts append each guest's serial output to a log file (compute.specs.serial_log_path); the VM's host agent
# reads its tail in a job, so the web process never touches the host's files or libvirt.
SERIAL_TAIL_BYTES = 64 * 1024


def console_serial_request(*, caller: User, vm: VirtualMachine) -> AsyncJob:
    """Ask the VM's host for the end of its serial console log. Same right as the graphical console."""
    authorize(caller, "vm.console", vm)
    host = vm.host or vm.last_host
    if host is None:
        raise InvalidState(_("VM %(name)s has never run on a host: it has no serial console output.") % {
            "name": vm.name})
    if host.is_simulator:
        raise Unsupported(_("VM %(name)s runs on a simulated host, which has no serial console.") % {
            "name": vm.name})
    return job_submit(caller=caller, account=vm.account, cmd="readSerialConsole",
                      handler="compute.tasks_console.run_serial_read", instance=vm, queue=host.queue,
                      params={"max_bytes": SERIAL_TAIL_BYTES}, event_type="VM.CONSOLE.SERIAL",
                      description=_("Reading the serial console of VM %(name)s") % {"name": vm.name})


def console_serial_result(*, caller: User, vm: VirtualMachine, job_id: str) -> AsyncJob:
    """The caller's serial-read job for this VM (NotFound for anything else, whoever asks)."""
    authorize(caller, "vm.console", vm)
    job = AsyncJob.objects.filter(uuid=job_id if _is_uuid(job_id) else None, user=caller,
                                  cmd="readSerialConsole", instance_id=str(vm.uuid)).first()
    if job is None:
        raise NotFound(_("No such serial console read."))
    return job


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
