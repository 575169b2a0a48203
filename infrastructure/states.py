"""The host status machine (CloudStack's host statuses), driven by what the agent observes."""

from django.db import models

from infrastructure.models import Host
from portal.statemachine import StateMachine, table

S = Host.Status


class HostEvent(models.TextChoices):
    AGENT_CONNECTED = "AgentConnected"
    AGENT_UNREACHABLE = "AgentUnreachable"


HOST_STATE_MACHINE = StateMachine(
    name="Host",
    field="status",
    transitions=table([
        (S.CONNECTING, HostEvent.AGENT_CONNECTED, S.UP),
        (S.DISCONNECTED, HostEvent.AGENT_CONNECTED, S.UP),
        (S.ALERT, HostEvent.AGENT_CONNECTED, S.UP),
        (S.DOWN, HostEvent.AGENT_CONNECTED, S.UP),
        (S.CONNECTING, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
        (S.UP, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
        (S.ALERT, HostEvent.AGENT_UNREACHABLE, S.DISCONNECTED),
    ]),
)
