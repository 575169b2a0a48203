"""The host state machines, as CloudStack reports them in listHosts: `state` (the agent's status, driven by
what the agent and the heartbeat observe) and `resourcestate` (the administrator's intent: enabled, disabled,
maintenance). Every change of either goes through these tables."""

from django.db import models

from infrastructure.models import Host
from portal.statemachine import StateMachine, table

S = Host.Status
R = Host.ResourceState


class HostEvent(models.TextChoices):
    AGENT_CONNECTED = "AgentConnected"
    # The heartbeat missed once: the host is suspect (Alert) but keeps its VMs.
    PING_TIMEOUT = "PingTimeout"
    AGENT_UNREACHABLE = "AgentUnreachable"
    # Unreachable for longer than CIRROSTACK_HOST_DOWN_AFTER seconds.
    HOST_DOWN = "HostDown"
    RECONNECT_REQUESTED = "ReconnectRequested"


HOST_STATE_MACHINE = StateMachine(
    name="Host",
    field="status",
    transitions=table([
        (S.CONNECTING, HostEvent.AGENT_CONNECTED, S.UP),
        (S.DISCONNECTED, HostEvent.AGENT_CONNECTED, S.UP),
        (S.ALERT, HostEvent.AGENT_CONNECTED, S.UP),
        (S.DOWN, HostEvent.AGENT_CONNECTED, S.UP),
        (S.UP, HostEvent.PING_TIMEOUT, S.ALERT),
        (S.CONNECTING, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
        (S.UP, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
        (S.ALERT, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
        (S.DISCONNECTED, HostEvent.HOST_DOWN, S.DOWN),
        (S.UP, HostEvent.RECONNECT_REQUESTED, S.CONNECTING),
        (S.ALERT, HostEvent.RECONNECT_REQUESTED, S.CONNECTING),
        (S.DISCONNECTED, HostEvent.RECONNECT_REQUESTED, S.CONNECTING),
        (S.DOWN, HostEvent.RECONNECT_REQUESTED, S.CONNECTING),
    ]),
)


class ResourceEvent(models.TextChoices):
    """CloudStack's ResourceState.Event names."""

    ENABLE = "Enable"
    DISABLE = "Disable"
    ADMIN_ASK_MAINTENANCE = "AdminAskMaintenance"
    INTERNAL_ENTER_MAINTENANCE = "InternalEnterMaintenance"
    UNABLE_TO_MIGRATE = "UnableToMigrate"
    ADMIN_CANCEL_MAINTENANCE = "AdminCancelMaintenance"


HOST_RESOURCE_STATE_MACHINE = StateMachine(
    name="Host",
    field="resource_state",
    transitions=table([
        (R.ENABLED, ResourceEvent.DISABLE, R.DISABLED),
        (R.DISABLED, ResourceEvent.DISABLE, R.DISABLED),
        (R.DISABLED, ResourceEvent.ENABLE, R.ENABLED),
        (R.ENABLED, ResourceEvent.ENABLE, R.ENABLED),
        (R.ENABLED, ResourceEvent.ADMIN_ASK_MAINTENANCE, R.PREPARE_FOR_MAINTENANCE),
        (R.DISABLED, ResourceEvent.ADMIN_ASK_MAINTENANCE, R.PREPARE_FOR_MAINTENANCE),
        (R.ERROR_IN_MAINTENANCE, ResourceEvent.ADMIN_ASK_MAINTENANCE, R.PREPARE_FOR_MAINTENANCE),
        (R.PREPARE_FOR_MAINTENANCE, ResourceEvent.INTERNAL_ENTER_MAINTENANCE, R.MAINTENANCE),
        (R.PREPARE_FOR_MAINTENANCE, ResourceEvent.UNABLE_TO_MIGRATE, R.ERROR_IN_MAINTENANCE),
        (R.PREPARE_FOR_MAINTENANCE, ResourceEvent.ADMIN_CANCEL_MAINTENANCE, R.ENABLED),
        (R.ERROR_IN_MAINTENANCE, ResourceEvent.ADMIN_CANCEL_MAINTENANCE, R.ENABLED),
        (R.MAINTENANCE, ResourceEvent.ADMIN_CANCEL_MAINTENANCE, R.ENABLED),
    ]),
)
