"""Translate a VM and its volumes into the hypervisor driver's plain domain description."""

from __future__ import annotations

import os
import secrets
import string

from django.conf import settings
from django.utils.translation import gettext as _

from compute.models import VirtualMachine
from infrastructure.hypervisor import DiskSpec, DomainSpec, IoTune
from infrastructure.models import Host
from portal.errors import OperationFailed
from storage.models import Template, Volume

# The CD drives: the ISO (attached, or deployed from) and the cloud-init config drive (compute.cloudinit).
ISO_TARGET = "hdc"
CONFIG_DRIVE_TARGET = "hdd"
# Where a simulator host (libvirt's test driver, which opens no files) pretends an ISO lives.
SIMULATOR_ISO_DIR = "/cirrostack/test/iso"
# libvirt's default CFS period; the cap is expressed as a share of it.
CPU_PERIOD_US = 100_000
# libvirt refuses quotas under 1 ms.
CPU_QUOTA_MIN_US = 1_000
# A fixed-offering VM may grow live up to this many times its memory (bounded by the host's memory): the
# guest sizes its page tables for the maximum at boot, so an unbounded maximum costs every VM memory.
FIXED_MEMORY_HEADROOM = 4
# VNC authentication (RFB type 2) uses the first 8 characters of a password.
VNC_PASSWORD_LENGTH = 8
VNC_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def serial_log_path(vm: VirtualMachine) -> str:
    return os.path.join(settings.CIRROSTACK_SERIAL_LOG_DIR, f"{vm.instance_name}.serial.log")


def iso_path(iso: Template, host: Host) -> str:
    """The file the host's hypervisor opens for the ISO: a file:// ISO is read where it is."""
    if iso.local_path:
        return iso.local_path
    if host.is_simulator:
        return f"{SIMULATOR_ISO_DIR}/{iso.uuid}.iso"
    raise OperationFailed(_("ISO %(iso)s is not on a path host %(host)s can read (%(url)s).") % {
        "iso": iso.name, "host": host.name, "url": iso.url})


def volume_iotune(volume: Volume) -> IoTune | None:
    """A disk offering's IOPS and bytes/s limits as libvirt <iotune>; None when it sets none."""
    offering = volume.disk_offering
    if offering is None:
        return None
    limits = (offering.iops_read_rate, offering.iops_write_rate, offering.bytes_read_rate, offering.bytes_write_rate)
    if not any(limits):
        return None
    return IoTune(read_iops_sec=limits[0] or None, write_iops_sec=limits[1] or None,
                  read_bytes_sec=limits[2] or None, write_bytes_sec=limits[3] or None)


def scaling_maximums(vm: VirtualMachine, host: Host) -> tuple[int | None, int | None]:
    """How far a running VM may grow without a restart (max vCPUs, max MiB); (None, None) when not scalable.

    A custom offering states its bounds (max_cpu_number, max_memory). Otherwise scaling means moving to a
    bigger offering, whose size is unknown at boot: vCPUs are bounded by the host's logical CPUs (more would
    only overcommit the one host it runs on), memory by FIXED_MEMORY_HEADROOM times the VM's, within the host.
    Never below the VM's current size."""
    offering = vm.service_offering
    if not (vm.dynamically_scalable and offering.dynamic_scaling_enabled):
        return None, None
    max_cpus = offering.max_cpu_number if offering.is_customized and offering.max_cpu_number else host.cpu_cores
    host_mib = host.memory_total // 2**20
    if offering.is_customized and offering.max_memory:
        max_mib = offering.max_memory
    else:
        max_mib = vm.memory * FIXED_MEMORY_HEADROOM
        if host_mib:
            max_mib = min(max_mib, host_mib)
    return max(max_cpus or 0, vm.cpu_number), max(max_mib, vm.memory)


def cpu_quota(vm: VirtualMachine, host: Host) -> int | None:
    """CloudStack's limitcpuuse: each vCPU gets at most its speed's share of one host core (CFS quota per
    vCPU per period). No cap when the host's speed is unknown or the VM asks for a full core or more."""
    if not vm.service_offering.limit_cpu_use or not host.cpu_speed or vm.cpu_speed >= host.cpu_speed:
        return None
    return max(CPU_QUOTA_MIN_US, CPU_PERIOD_US * vm.cpu_speed // host.cpu_speed)


def new_vnc_password() -> str:
    """A fresh password for each definition of a domain. VNC authentication reads only 8 characters, so the
    strength comes from it being random, per VM and per boot, and from VNC listening only where the portal
    is (Host.console_address); browsers never see it (the proxy authenticates for them)."""
    return "".join(secrets.choice(VNC_PASSWORD_ALPHABET) for _ in range(VNC_PASSWORD_LENGTH))


def domain_spec(vm: VirtualMachine, volumes: list[Volume]) -> DomainSpec:
    host = vm.host
    disks: list[DiskSpec] = [
        DiskSpec(path=volume.path, format=volume.format.lower(), target=f"vd{chr(ord('a') + volume.device_id)}",
                 iotune=volume_iotune(volume))
        for volume in sorted(volumes, key=lambda v: v.device_id)
    ]
    # The ISO drive is always there, empty when no ISO is attached: IDE drives cannot be hot-plugged, so
    # attachIso on a running VM inserts media into this drive.
    disks.append(DiskSpec(path=iso_path(vm.iso, host) if vm.iso_id is not None else "", format="raw",
                          target=ISO_TARGET, bus="ide", device="cdrom", readonly=True))
    if vm.config_drive_path:
        disks.append(DiskSpec(path=vm.config_drive_path, format="raw", target=CONFIG_DRIVE_TARGET, bus="ide",
                              device="cdrom", readonly=True))
    max_vcpus, max_memory_mib = scaling_maximums(vm, host)
    quota = cpu_quota(vm, host)
    return DomainSpec(
        name=vm.instance_name,
        uuid=str(vm.uuid),
        domain_type=host.domain_type,
        vcpus=vm.cpu_number,
        memory_mib=vm.memory,
        disks=tuple(disks),
        serial_log_path=None if host.is_simulator else serial_log_path(vm),
        vnc_listen=host.console_address,
        vnc_password=new_vnc_password(),
        cpu_shares=vm.cpu_mhz,
        metadata={"vm": str(vm.uuid), "account": str(vm.account.uuid), "name": vm.name},
        max_vcpus=max_vcpus,
        max_memory_mib=max_memory_mib,
        cpu_quota_us=quota,
        cpu_period_us=CPU_PERIOD_US if quota else None,
        # Installing from an ISO: boot the CD while it is in the drive (the blank disk has nothing to boot).
        boot_cdrom=vm.template.is_iso and vm.iso_id is not None,
    )
