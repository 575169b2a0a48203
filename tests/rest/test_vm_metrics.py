"""GET /api/v1/virtual-machines/{id}/metrics/?period=1h|1d|1w."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from compute.models import VirtualMachine, VmMetric
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db

_names = itertools.count(1)


def make_vm(cloud, owner) -> VirtualMachine:
    return VirtualMachine.objects.create(
        name=f"r{next(_names)}", account=owner.account, user=owner, zone=cloud.zone, host=cloud.host,
        service_offering=cloud.offering, template=cloud.template, cpu_number=1, cpu_speed=1000, memory=512,
        state="Running")


def url(vm: VirtualMachine, period: str | None = None) -> str:
    return f"/api/v1/virtual-machines/{vm.uuid}/metrics/" + (f"?period={period}" if period else "")


def test_points_of_each_period(cloud, alice_api):
    vm = make_vm(cloud, cloud.alice)
    now = timezone.now()
    for minutes in (3, 2, 1):
        VmMetric.objects.create(virtual_machine=vm, at=now - timedelta(minutes=minutes), resolution=60,
                                cpu_percent=minutes * 10, net_rx_bps=100.0, memory_total_kib=524288)
    VmMetric.objects.create(virtual_machine=vm, at=now - timedelta(hours=5), resolution=300, cpu_percent=5)
    VmMetric.objects.create(virtual_machine=vm, at=now - timedelta(days=3), resolution=3600, cpu_percent=7)

    response = alice_api.get(url(vm))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["virtual_machine"], body["period"], body["resolution"]) == (str(vm.uuid), "1h", 60)
    assert [p["cpu_percent"] for p in body["points"]] == [30.0, 20.0, 10.0]  # oldest first
    assert body["points"][0]["net_rx_bps"] == 100.0 and body["points"][0]["memory_total_kib"] == 524288
    assert "counters" not in body["points"][0]

    day = alice_api.get(url(vm, "1d")).json()
    assert (day["resolution"], [p["cpu_percent"] for p in day["points"]]) == (300, [5.0])
    week = alice_api.get(url(vm, "1w")).json()
    assert (week["resolution"], [p["cpu_percent"] for p in week["points"]]) == (3600, [7.0])


def test_no_points_and_bad_period(cloud, alice_api):
    vm = make_vm(cloud, cloud.alice)
    body = alice_api.get(url(vm)).json()
    assert body["points"] == [] and body["resolution"] is None
    response = alice_api.get(url(vm, "1y"))
    assert response.status_code == 400, response.content


def test_another_tenants_vm_is_not_found(cloud, client_for):
    vm = make_vm(cloud, cloud.alice)
    VmMetric.objects.create(virtual_machine=vm, at=timezone.now(), resolution=60, cpu_percent=50)
    assert client_for(cloud.bob).get(url(vm)).status_code == 404
    assert client_for(cloud.admin).get(url(vm)).status_code == 200


def test_query_count_does_not_grow_with_points(cloud, alice_api):
    vm = make_vm(cloud, cloud.alice)
    now = timezone.now()

    def add(count: int) -> None:
        VmMetric.objects.bulk_create(
            VmMetric(virtual_machine=vm, at=now - timedelta(seconds=30 * i + 1), resolution=30)
            for i in range(count))

    add(2)
    alice_api.get(url(vm))
    small, response = count_queries(lambda: alice_api.get(url(vm)))
    assert len(response.json()["points"]) == 2
    VmMetric.objects.all().delete()
    add(100)
    large, response = count_queries(lambda: alice_api.get(url(vm)))
    assert len(response.json()["points"]) == 100
    assert large == small
