"""The primary-storage state machine, as listStoragePools reports `state`: the administrator enables or
disables a pool for new volumes, and takes it through maintenance like a host (Up → PrepareForMaintenance →
Maintenance, or ErrorInMaintenance while running VMs still use it; cancel → Up)."""

from django.db import models

from portal.statemachine import StateMachine, table
from storage.models import StoragePool

S = StoragePool.Status


class PoolEvent(models.TextChoices):
    ENABLE = "Enable"
    DISABLE = "Disable"
    ADMIN_ASK_MAINTENANCE = "AdminAskMaintenance"
    INTERNAL_ENTER_MAINTENANCE = "InternalEnterMaintenance"
    UNABLE_TO_ENTER_MAINTENANCE = "UnableToEnterMaintenance"
    ADMIN_CANCEL_MAINTENANCE = "AdminCancelMaintenance"


POOL_STATE_MACHINE = StateMachine(
    name="Storage pool",
    field="status",
    transitions=table([
        (S.UP, PoolEvent.ENABLE, S.UP),
        (S.UP, PoolEvent.DISABLE, S.DISABLED),
        (S.DISABLED, PoolEvent.ENABLE, S.UP),
        (S.DISABLED, PoolEvent.DISABLE, S.DISABLED),
        (S.UP, PoolEvent.ADMIN_ASK_MAINTENANCE, S.PREPARE_FOR_MAINTENANCE),
        (S.DISABLED, PoolEvent.ADMIN_ASK_MAINTENANCE, S.PREPARE_FOR_MAINTENANCE),
        (S.ERROR_IN_MAINTENANCE, PoolEvent.ADMIN_ASK_MAINTENANCE, S.PREPARE_FOR_MAINTENANCE),
        (S.PREPARE_FOR_MAINTENANCE, PoolEvent.INTERNAL_ENTER_MAINTENANCE, S.MAINTENANCE),
        (S.PREPARE_FOR_MAINTENANCE, PoolEvent.UNABLE_TO_ENTER_MAINTENANCE, S.ERROR_IN_MAINTENANCE),
        (S.PREPARE_FOR_MAINTENANCE, PoolEvent.ADMIN_CANCEL_MAINTENANCE, S.UP),
        (S.ERROR_IN_MAINTENANCE, PoolEvent.ADMIN_CANCEL_MAINTENANCE, S.UP),
        (S.MAINTENANCE, PoolEvent.ADMIN_CANCEL_MAINTENANCE, S.UP),
    ]),
)
