"""The capacity dashboard of the web UI: bars (SVG, no script) with thresholds, a text table, drilling from zones
to pods, clusters and hosts; root admins only; a summary on the admin dashboard."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from portal.models import ConfigurationValue
from tests import factories
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db
URL = reverse("ui:capacity")
GiB = 2**30


def test_zone_page_shows_bars_table_and_drill_link(cloud, login):
    cloud.host.cluster.cpu_overprovisioning = 2.0
    cloud.host.cluster.save()
    cloud.host.cpu_allocated = 30000  # of 32000 MHz: above the 85% threshold
    cloud.host.save()
    factories.ImageStoreFactory(zone=cloud.zone, capacity_bytes=10 * GiB, used_bytes=1 * GiB)
    html = ok(login(cloud.admin).get(URL)).content.decode()
    assert cloud.zone.name in html
    assert html.count("<svg") >= 5 and 'role="img"' in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from a CDN
    # The CPU bar: used width, red, threshold marker at 85; its text alternative says the same.
    cpu_bar = re.search(r'data-capacity-type="1".*?</svg>', html, re.S).group(0)
    assert 'width="93.75"' in cpu_bar and 'x="85.00"' in cpu_bar and "var(--danger)" in cpu_bar
    assert "30,000 MHz" in html and "32,000 MHz" in html and "93.75%" in html
    assert "threshold crossed" in html and "<table" in html and "\N{MULTIPLICATION SIGN} 2" in html
    assert f"?level=pod&amp;zone={cloud.zone.uuid}" in html


def test_drill_down_to_pods_clusters_and_hosts(cloud, login):
    client = login(cloud.admin)
    other_zone_host = factories.HostFactory()
    html = ok(client.get(URL, {"level": "pod", "zone": cloud.zone.uuid})).content.decode()
    assert cloud.host.pod.name in html and other_zone_host.pod.name not in html
    assert f"?level=cluster&amp;pod={cloud.host.pod.uuid}" in html
    html = ok(client.get(URL, {"level": "cluster", "pod": cloud.host.pod.uuid})).content.decode()
    assert cloud.host.cluster.name in html and f"?level=host&amp;cluster={cloud.host.cluster.uuid}" in html
    html = ok(client.get(URL, {"level": "host", "cluster": cloud.host.cluster.uuid})).content.decode()
    assert cloud.host.name in html and other_zone_host.name not in html
    # Breadcrumbs lead back up: zone, pod, cluster.
    assert f"?level=pod&amp;zone={cloud.zone.uuid}" in html and f"?level=cluster&amp;pod={cloud.host.pod.uuid}" in html
    assert 'aria-current="page"' in html


def test_cluster_threshold_is_shown(cloud, login):
    ConfigurationValue.objects.create(name="cluster.memory.allocated.capacity.disablethreshold", scope="cluster",
                                      scope_id=cloud.host.cluster.pk, value="0.5")
    html = ok(login(cloud.admin).get(URL, {"level": "cluster"})).content.decode()
    memory_bar = re.search(r'data-capacity-type="0".*?</svg>', html, re.S).group(0)
    assert 'x="50.00"' in memory_bar and "var(--primary)" in memory_bar


def test_unknown_id_is_404_and_unknown_level_falls_back(cloud, login):
    client = login(cloud.admin)
    assert client.get(URL, {"zone": "00000000-0000-0000-0000-000000000000"}).status_code == 404
    assert cloud.zone.name in ok(client.get(URL, {"level": "galaxy"})).content.decode()


@pytest.mark.parametrize("who", ["alice", "domain_admin"])
def test_only_root_admins(cloud, tenants, login, who):
    user = tenants.domain_admin if who == "domain_admin" else cloud.alice
    assert login(user).get(URL).status_code == 403
    html = login(user).get(reverse("ui:dashboard")).content.decode()
    assert "data-capacity-summary" not in html and URL not in html


def test_navigation_and_dashboard_summary(cloud, login):
    html = ok(login(cloud.admin).get(reverse("ui:dashboard"))).content.decode()
    assert f'href="{URL}"' in html and "data-capacity-summary" in html
    assert html.count('data-capacity-type=') == 5


@pytest.mark.parametrize("level", ["zone", "host"])
def test_query_count_constant(cloud, login, level):
    client = login(cloud.admin)

    def grow() -> None:
        for _ in range(27):
            host = factories.HostFactory(cluster=cloud.host.cluster)
            factories.StoragePoolFactory(cluster=host.cluster)

    factories.HostFactory(cluster=cloud.host.cluster)
    before, after = assert_queries_constant(lambda: ok(client.get(URL, {"level": level})), grow)
    assert len(after.content) >= len(before.content)
