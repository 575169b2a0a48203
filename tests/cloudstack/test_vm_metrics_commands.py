"""listVirtualMachinesMetrics and listVirtualMachines' stats fields, as CloudStack 4.18+ answers them."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from compute.models import VirtualMachine, VmMetric
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

_names = itertools.count(1)
MIB = 1024 * 1024


def make_vm(cloud, owner, *, state="Running") -> VirtualMachine:
    return VirtualMachine.objects.create(
        name=f"m{next(_names)}", account=owner.account, user=owner, zone=cloud.zone, host=cloud.host,
        service_offering=cloud.offering, template=cloud.template, cpu_number=2, cpu_speed=1500, memory=1536,
        state=state)


def sample(vm: VirtualMachine, *, cpu: float = 12.5, age_s: int = 30, resolution: int = 60) -> VmMetric:
    return VmMetric.objects.create(
        virtual_machine=vm, at=timezone.now() - timedelta(seconds=age_s), resolution=resolution, cpu_percent=cpu,
        memory_used_kib=600 * 1024, memory_total_kib=1536 * 1024,
        counters={"cpu_time_ns": 10**12, "vcpus": 2,
                  "disks": {"vda": {"rd_bytes": 3 * MIB, "wr_bytes": MIB, "rd_reqs": 40, "wr_reqs": 2},
                            "vdb": {"rd_bytes": MIB, "wr_bytes": MIB, "rd_reqs": 10, "wr_reqs": 8}},
                  "interfaces": {"vnet0": {"rx_bytes": 5 * MIB + 512, "tx_bytes": 2 * MIB}}})


def by_id(body: dict) -> dict[str, dict]:
    return {vm["id"]: vm for vm in body.get("virtualmachine", [])}


def test_metrics_fields_of_a_running_vm(cloud, api_json):
    vm = make_vm(cloud, cloud.alice)
    sample(vm, cpu=3.0, age_s=200)
    sample(vm)  # the newest raw sample is the one shown
    VmMetric.objects.create(virtual_machine=vm, at=timezone.now(), resolution=300, cpu_percent=77)

    status, body = api_json("alice", "listVirtualMachinesMetrics")
    assert status == 200 and body["count"] == 1
    found = by_id(body)[str(vm.uuid)]
    assert found["name"] == vm.name and found["state"] == "Running"  # the listVirtualMachines fields
    assert found["cpuused"] == "12.5%"
    assert found["cputotal"] == "3.0 Ghz"
    assert found["memorytotal"] == "1.50 GiB"
    assert (found["diskkbsread"], found["diskkbswrite"]) == (4096, 2048)
    assert (found["diskioread"], found["diskiowrite"], found["diskiopstotal"]) == (50, 10, 60)
    assert (found["networkkbsread"], found["networkkbswrite"]) == (5120, 2048)
    assert (found["networkread"], found["networkwrite"]) == ("5.00 MiB", "2.00 MiB")
    assert (found["diskread"], found["diskwrite"]) == ("4.00 MiB", "2.00 MiB")
    assert found["memorykbs"] == 1536 * 1024
    assert found["memoryintfreekbs"] == (1536 - 600) * 1024
    assert found["memorytargetkbs"] == 1536 * 1024


def test_stopped_vm_has_totals_but_no_usage(cloud, api_json):
    vm = make_vm(cloud, cloud.alice, state="Stopped")
    sample(vm)  # left from when it ran: not shown as current usage
    status, body = api_json("alice", "listVirtualMachinesMetrics")
    assert status == 200
    found = by_id(body)[str(vm.uuid)]
    assert found["cputotal"] == "3.0 Ghz" and found["memorytotal"] == "1.50 GiB"
    assert not {"cpuused", "networkread", "diskiopstotal", "memorykbs"} & set(found)


def test_list_virtual_machines_fills_the_stats_fields(cloud, api_json):
    vm = make_vm(cloud, cloud.alice)
    sample(vm, cpu=0.0)
    status, body = api_json("alice", "listVirtualMachines")
    assert status == 200
    found = by_id(body)[str(vm.uuid)]
    assert found["cpuused"] == "0%"
    assert found["networkkbsread"] == 5120 and found["diskioread"] == 50
    assert "cputotal" not in found and "networkread" not in found  # the metrics view's own fields


def test_metrics_are_scoped_like_the_vm_listing(cloud, api_json):
    mine, theirs = make_vm(cloud, cloud.alice), make_vm(cloud, cloud.bob)
    sample(mine)
    sample(theirs)
    _, body = api_json("bob", "listVirtualMachinesMetrics", listall=True)
    assert set(by_id(body)) == {str(theirs.uuid)}
    _, body = api_json("bob", "listVirtualMachinesMetrics", id=str(mine.uuid))
    assert body.get("count", 0) == 0
    _, body = api_json("admin", "listVirtualMachinesMetrics", listall=True)
    assert set(by_id(body)) == {str(mine.uuid), str(theirs.uuid)}
    assert all("cpuused" in vm for vm in body["virtualmachine"])


def test_query_count_is_constant(cloud, api_json):
    def listed():
        status, body = api_json("alice", "listVirtualMachinesMetrics", listall=True)
        assert status == 200, body
        return body

    for _ in range(2):
        sample(make_vm(cloud, cloud.alice))
    listed()  # warm per-process caches (content types, role rules)
    small, body = count_queries(listed)
    assert body["count"] == 2
    for index in range(8):
        vm = make_vm(cloud, cloud.alice, state="Running" if index % 2 else "Stopped")
        sample(vm)
        sample(vm, age_s=90)
    large, body = count_queries(listed)
    assert body["count"] == 10 and sum("cpuused" in vm for vm in body["virtualmachine"]) == 6
    assert large == small


def test_list_apis_describes_the_command(cloud, api_json):
    _, body = api_json("alice", "listApis", name="listVirtualMachinesMetrics")
    (entry,) = body["api"]
    names = {field["name"] for field in entry["response"]}
    assert {"cpuused", "cputotal", "memorytotal", "networkread", "diskiopstotal", "memoryintfreekbs"} <= names
    assert {"zoneid", "listall", "keyword", "page"} <= {param["name"] for param in entry["params"]}
