"""The VM state machine, in CloudStack's state names (clients such as libcloud reject any others)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.statemachine import StateMachine, table


class VmState(models.TextChoices):
    STARTING = "Starting", _("Starting")
    RUNNING = "Running", _("Running")
    STOPPING = "Stopping", _("Stopping")
    STOPPED = "Stopped", _("Stopped")
    MIGRATING = "Migrating", _("Migrating")
    DESTROYED = "Destroyed", _("Destroyed")
    EXPUNGING = "Expunging", _("Expunging")
    ERROR = "Error", _("Error")


class VmEvent(models.TextChoices):
    START_REQUESTED = "StartRequested"
    STOP_REQUESTED = "StopRequested"
    REBOOT_REQUESTED = "RebootRequested"
    DESTROY_REQUESTED = "DestroyRequested"
    RECOVERY_REQUESTED = "RecoveryRequested"
    EXPUNGE_REQUESTED = "ExpungeRequested"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    CREATION_FAILED = "CreationFailed"
    # The host reports a power state the portal did not ask for (crash, out-of-band change).
    POWERED_OFF_ON_HOST = "PoweredOffOnHost"
    POWERED_ON_ON_HOST = "PoweredOnOnHost"


S, E = VmState, VmEvent

VM_STATE_MACHINE = StateMachine(
    name="VM",
    transitions=table([
        (S.STOPPED, E.START_REQUESTED, S.STARTING),
        (S.STARTING, E.OPERATION_SUCCEEDED, S.RUNNING),
        (S.STARTING, E.OPERATION_FAILED, S.STOPPED),
        (S.STARTING, E.CREATION_FAILED, S.ERROR),
        (S.RUNNING, E.STOP_REQUESTED, S.STOPPING),
        (S.RUNNING, E.REBOOT_REQUESTED, S.RUNNING),
        (S.RUNNING, E.POWERED_OFF_ON_HOST, S.STOPPED),
        (S.STOPPING, E.OPERATION_SUCCEEDED, S.STOPPED),
        (S.STOPPING, E.OPERATION_FAILED, S.RUNNING),
        (S.STOPPING, E.POWERED_OFF_ON_HOST, S.STOPPED),
        (S.STOPPED, E.POWERED_ON_ON_HOST, S.RUNNING),
        (S.STOPPED, E.DESTROY_REQUESTED, S.DESTROYED),
        (S.ERROR, E.DESTROY_REQUESTED, S.DESTROYED),
        (S.DESTROYED, E.RECOVERY_REQUESTED, S.STOPPED),
        (S.DESTROYED, E.EXPUNGE_REQUESTED, S.EXPUNGING),
    ]),
)
