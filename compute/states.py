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
    MIGRATION_REQUESTED = "MigrationRequested"


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
        # An expunge whose host work failed goes back to Destroyed; the periodic expunge task tries again.
        (S.EXPUNGING, E.OPERATION_FAILED, S.DESTROYED),
        (S.RUNNING, E.MIGRATION_REQUESTED, S.MIGRATING),
        (S.MIGRATING, E.OPERATION_SUCCEEDED, S.RUNNING),
        (S.MIGRATING, E.OPERATION_FAILED, S.RUNNING),
        (S.MIGRATING, E.POWERED_OFF_ON_HOST, S.STOPPED),
    ]),
)


class VmSnapshotState(models.TextChoices):
    ALLOCATED = "Allocated", _("Allocated")
    CREATING = "Creating", _("Creating")
    READY = "Ready", _("Ready")
    REVERTING = "Reverting", _("Reverting")
    EXPUNGING = "Expunging", _("Expunging")
    ERROR = "Error", _("Error")
    REMOVED = "Removed", _("Removed")


class VmSnapshotEvent(models.TextChoices):
    CREATE_REQUESTED = "CreateRequested"
    REVERT_REQUESTED = "RevertRequested"
    EXPUNGE_REQUESTED = "ExpungeRequested"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"


VS, VE = VmSnapshotState, VmSnapshotEvent

VM_SNAPSHOT_STATE_MACHINE = StateMachine(
    name="VM snapshot",
    transitions=table([
        (VS.ALLOCATED, VE.CREATE_REQUESTED, VS.CREATING),
        (VS.CREATING, VE.OPERATION_SUCCEEDED, VS.READY),
        (VS.CREATING, VE.OPERATION_FAILED, VS.ERROR),
        (VS.READY, VE.REVERT_REQUESTED, VS.REVERTING),
        (VS.REVERTING, VE.OPERATION_SUCCEEDED, VS.READY),
        (VS.REVERTING, VE.OPERATION_FAILED, VS.READY),
        (VS.READY, VE.EXPUNGE_REQUESTED, VS.EXPUNGING),
        (VS.ERROR, VE.EXPUNGE_REQUESTED, VS.EXPUNGING),
        (VS.EXPUNGING, VE.OPERATION_SUCCEEDED, VS.REMOVED),
        (VS.EXPUNGING, VE.OPERATION_FAILED, VS.READY),
    ]),
)
