"""Translate a VM and its volumes into the hypervisor driver's plain domain description."""

from __future__ import annotations

import os

from django.conf import settings

from compute.models import VirtualMachine
from infrastructure.hypervisor import DiskSpec, DomainSpec
from storage.models import Volume


def serial_log_path(vm: VirtualMachine) -> str:
    return os.path.join(settings.CIRROSTACK_SERIAL_LOG_DIR, f"{vm.instance_name}.serial.log")


def domain_spec(vm: VirtualMachine, volumes: list[Volume]) -> DomainSpec:
    host = vm.host
    disks = tuple(
        DiskSpec(path=volume.path, format=volume.format.lower(), target=f"vd{chr(ord('a') + volume.device_id)}")
        for volume in sorted(volumes, key=lambda v: v.device_id)
    )
    return DomainSpec(
        name=vm.instance_name,
        uuid=str(vm.uuid),
        domain_type=host.domain_type,
        vcpus=vm.cpu_number,
        memory_mib=vm.memory,
        disks=disks,
        serial_log_path=None if host.is_simulator else serial_log_path(vm),
        vnc_listen="127.0.0.1",
        cpu_shares=vm.cpu_mhz,
        metadata={"vm": str(vm.uuid), "account": str(vm.account.uuid), "name": vm.name},
    )
