"""Writes on volumes; the agent records what it created on the host through these."""

from __future__ import annotations

from infrastructure.models import Host
from storage.models import Volume
from storage.states import VOLUME_STATE_MACHINE, VolumeEvent


def volume_record_creating(*, volume: Volume) -> None:
    VOLUME_STATE_MACHINE.transit(volume, VolumeEvent.CREATE_REQUESTED)


def volume_record_created(*, volume: Volume, host: Host, pool_name: str, path: str) -> None:
    VOLUME_STATE_MACHINE.transit(volume, VolumeEvent.OPERATION_SUCCEEDED, host=host, pool_name=pool_name,
                                 path=path)


def volume_record_create_failed(*, volume: Volume) -> None:
    VOLUME_STATE_MACHINE.transit(volume, VolumeEvent.OPERATION_FAILED)
