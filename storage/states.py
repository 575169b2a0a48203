"""The volume state machine (CloudStack's volume states)."""

from django.db import models

from portal.statemachine import StateMachine, table
from storage.models import Volume

S = Volume.State


class VolumeEvent(models.TextChoices):
    CREATE_REQUESTED = "CreateRequested"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    DESTROY_REQUESTED = "DestroyRequested"
    EXPUNGED = "Expunged"


VOLUME_STATE_MACHINE = StateMachine(
    name="Volume",
    transitions=table([
        (S.ALLOCATED, VolumeEvent.CREATE_REQUESTED, S.CREATING),
        (S.CREATING, VolumeEvent.OPERATION_SUCCEEDED, S.READY),
        (S.CREATING, VolumeEvent.OPERATION_FAILED, S.ALLOCATED),
        (S.READY, VolumeEvent.DESTROY_REQUESTED, S.DESTROY),
        (S.ALLOCATED, VolumeEvent.DESTROY_REQUESTED, S.DESTROY),
        (S.DESTROY, VolumeEvent.EXPUNGED, S.EXPUNGED),
    ]),
)
