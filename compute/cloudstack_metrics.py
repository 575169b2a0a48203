"""CloudStack API: VM usage figures — listVirtualMachines' stats fields and listVirtualMachinesMetrics.

CloudStack's listVirtualMachines fills its stats fields (cpuused, networkkbsread, diskkbsread, diskioread,
memorykbs, ...) when `details` is all (the default) or includes stats; listVirtualMachinesMetrics is the same
listing plus the metrics view's fields (cputotal, memorytotal, networkread, diskread, diskiopstotal, ...),
as CloudStack 4.18+ answers them (VmMetricsResponse). Both read each listed VM's newest sample with one
query for the page (compute.selectors_metrics.vm_metrics_latest).

What the figures mean here: cpuused is the CPU share over the last collection interval; the KiB and I/O
counts are the totals the hypervisor counted since the VM last started (CloudStack's
vm.stats.increment.metrics sums them across restarts; these do not); memorykbs is the memory the guest has,
memoryintfreekbs what of it the host sees unused (no guest agent: not the guest's own free memory). Stopped
VMs have no figures, rather than stale ones.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils.translation import gettext_lazy

from compute import metrics
from compute.cloudstack import LIST_VIRTUAL_MACHINES, VM_FIELDS
from compute.models import VirtualMachine, VmMetric
from compute.selectors_metrics import vm_metrics_latest
from compute.states import VmState
from portal.cloudstack.registry import Call, Command, register

STATS_FIELDS = ("cpuused", "networkkbsread", "networkkbswrite", "diskkbsread", "diskkbswrite", "diskioread",
                "diskiowrite", "memorykbs", "memoryintfreekbs", "memorytargetkbs")
METRICS_FIELDS = ("ipaddress", "cputotal", "memorytotal", "networkread", "networkwrite", "diskread", "diskwrite",
                  "diskiopstotal")


def cpu_used_text(percent: float) -> str:
    """CloudStack formats cpuused with DecimalFormat("#.##") and a percent sign: "12.5%", "0%"."""
    text = f"{percent:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def stats_fields(sample: VmMetric) -> dict[str, Any]:
    """UserVmResponse's stats fields of one sample."""
    totals = metrics.totals(sample.counters or {})
    total_kib, used_kib = sample.memory_total_kib, sample.memory_used_kib
    return {
        "cpuused": cpu_used_text(sample.cpu_percent),
        "networkkbsread": totals["rx_bytes"] // 1024,
        "networkkbswrite": totals["tx_bytes"] // 1024,
        "diskkbsread": totals["rd_bytes"] // 1024,
        "diskkbswrite": totals["wr_bytes"] // 1024,
        "diskioread": totals["rd_reqs"],
        "diskiowrite": totals["wr_reqs"],
        "memorykbs": total_kib,
        "memoryintfreekbs": max(total_kib - used_kib, 0),
        "memorytargetkbs": total_kib,
    }


def _wants_stats(call: Call) -> bool:
    """CloudStack's `details` (when a listing declares it): stats are shown for all (the default) or stats."""
    details = call.get("details")
    if not details:
        return True
    wanted = {str(d).strip().lower() for d in (details if isinstance(details, list) else str(details).split(","))}
    return bool(wanted & {"all", "stats"})


def _latest_running(call: Call, page: list[VirtualMachine]) -> dict[int, VmMetric]:
    running = [vm for vm in page if vm.state == VmState.RUNNING]
    return vm_metrics_latest(caller=call.caller, vms=running) if running else {}


def add_vm_stats(call: Call, page: list[VirtualMachine], rendered: list[dict]) -> None:
    """listVirtualMachines' page hook: the stats fields of the running VMs that have a sample."""
    if not _wants_stats(call):
        return
    latest = _latest_running(call, page)
    for vm, body in zip(page, rendered, strict=True):
        if vm.pk in latest:
            body.update(stats_fields(latest[vm.pk]))


def _mib(kib: int) -> str:
    return f"{kib / 1024.0:.2f} MiB"


def add_vm_metrics(call: Call, page: list[VirtualMachine], rendered: list[dict]) -> None:
    """listVirtualMachinesMetrics' page hook: the stats fields and the metrics view's fields."""
    latest = _latest_running(call, page)
    for vm, body in zip(page, rendered, strict=True):
        nics = body.get("nic") or []
        body["ipaddress"] = nics[0].get("ipaddress") if nics else None
        body["cputotal"] = f"{vm.cpu_number * vm.cpu_speed / 1000.0:.1f} Ghz"
        body["memorytotal"] = f"{vm.memory / 1024.0:.2f} GiB"
        if vm.pk not in latest:
            continue
        stats = stats_fields(latest[vm.pk])
        body.update(stats)
        body["networkread"] = _mib(stats["networkkbsread"])
        body["networkwrite"] = _mib(stats["networkkbswrite"])
        body["diskread"] = _mib(stats["diskkbsread"])
        body["diskwrite"] = _mib(stats["diskkbswrite"])
        body["diskiopstotal"] = stats["diskioread"] + stats["diskiowrite"]


_base = LIST_VIRTUAL_MACHINES
register(Command(
    name="listVirtualMachinesMetrics",
    description=gettext_lazy("Lists VM metrics."),
    action="vm.metrics",
    handler=_base.handler,
    params=_base.params,
    response_object="virtualmachine",
    response_fields=(*VM_FIELDS, *STATS_FIELDS, *METRICS_FIELDS),
    listing=dataclasses.replace(_base.listing, extend_page=add_vm_metrics),
    since="4.9.3",
    related=("listVirtualMachines",),
))
