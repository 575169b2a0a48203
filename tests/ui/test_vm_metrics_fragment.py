"""The Metrics panel of the VM page: server-rendered SVG charts, period links, empty state, tenancy."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compute.models import VirtualMachine, VmMetric

pytestmark = pytest.mark.django_db

_names = itertools.count(1)


def make_vm(cloud, owner, state="Running") -> VirtualMachine:
    return VirtualMachine.objects.create(
        name=f"u{next(_names)}", account=owner.account, user=owner, zone=cloud.zone, host=cloud.host,
        service_offering=cloud.offering, template=cloud.template, cpu_number=1, cpu_speed=1000, memory=512,
        state=state)


def fragment(client, vm, period=None):
    url = reverse("compute:vm_metrics", args=[vm.uuid]) + (f"?period={period}" if period else "")
    return client.get(url, HTTP_HX_REQUEST="true")


def test_charts_are_svg_with_period_links(cloud, login):
    vm = make_vm(cloud, cloud.alice)
    now = timezone.now()
    for minutes, cpu in ((10, 20.0), (9, 40.0), (8, 60.0), (2, 80.0)):  # a gap between 8 and 2 minutes ago
        VmMetric.objects.create(virtual_machine=vm, at=now - timedelta(minutes=minutes), resolution=60,
                                cpu_percent=cpu, memory_used_kib=200_000, memory_total_kib=524_288,
                                disk_read_bps=2048.0, net_tx_bps=10.0)
    response = fragment(login(cloud.alice), vm)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the fragment, for htmx
    assert html.count("<svg") == 5
    for key in ("cpu", "memory", "disk", "iops", "network"):
        assert f'data-chart="{key}"' in html
    cpu = html.split('data-chart="cpu"')[1].split("</figure>")[0]
    assert cpu.count('class="metric-line"') == 2  # the gap splits the line
    assert "80.0 %" in cpu and "var(--primary)" in cpu
    assert "2.0 KiB/s" in html
    for period in ("1h", "1d", "1w"):
        assert f'hx-get="{reverse("compute:vm_metrics", args=[vm.uuid])}?period={period}"' in html
    assert re.search(r'aria-current="page"[^>]*data-period="1h"', html)


def test_empty_state_and_longer_periods(cloud, login):
    vm = make_vm(cloud, cloud.alice)
    VmMetric.objects.create(virtual_machine=vm, at=timezone.now() - timedelta(hours=3), resolution=300,
                            cpu_percent=5.0)
    client = login(cloud.alice)
    html = fragment(client, vm).content.decode()
    assert "<svg" not in html and 'class="empty"' in html
    html = fragment(client, vm, "1d").content.decode()
    assert html.count("<svg") == 5 and 'data-period="1d"' in html
    assert "<svg" not in fragment(client, vm, "nonsense").content.decode()  # falls back to the hour


def test_page_without_htmx(cloud, login):
    vm = make_vm(cloud, cloud.alice, state="Stopped")
    response = login(cloud.alice).get(reverse("compute:vm_metrics", args=[vm.uuid]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="vm-metrics"' in html and 'class="empty"' in html


def test_another_tenant_gets_404(cloud, login):
    vm = make_vm(cloud, cloud.alice)
    VmMetric.objects.create(virtual_machine=vm, at=timezone.now(), resolution=60, cpu_percent=50)
    assert fragment(login(cloud.bob), vm).status_code == 404
    assert fragment(login(cloud.admin), vm).status_code == 200
    anonymous = fragment(login(cloud.bob).__class__(), vm)
    assert anonymous.status_code == 302
