"""The Settings page (Infrastructure, root admins): filter, search, scope selector, inline change, reset."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.configuration import SETTINGS, config_value
from portal.models import ConfigurationValue
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

PAGE = "ui:config_list"


def _post(client, view: str, name: str, **data):
    return client.post(reverse(view, kwargs={"name": name}), data)


def test_page_lists_every_setting_and_filters(cloud, login):
    client = login(cloud.admin)
    html = ok(client.get(reverse(PAGE))).content.decode()
    for name in SETTINGS:
        assert f'data-setting="{name}"' in html, name
    alert = ok(client.get(reverse(PAGE), {"category": "Alert"})).content.decode()
    assert 'data-setting="pool.storage.capacity.disablethreshold"' in alert
    assert 'data-setting="ping.interval"' not in alert
    found = ok(client.get(reverse(PAGE), {"q": "expunge"})).content.decode()
    assert 'data-setting="expunge.delay"' in found and 'data-setting="ping.interval"' not in found
    zone = ok(client.get(reverse(PAGE), {"scope": f"zone:{cloud.zone.uuid}"})).content.decode()
    assert 'data-setting="pool.storage.capacity.disablethreshold"' in zone
    assert 'data-setting="cpu.overprovisioning.factor"' not in zone
    assert f'value="cluster:{cloud.host.cluster.uuid}"' in html  # the scope selector offers the cluster


def test_inline_change_and_reset(cloud, login):
    client = login(cloud.admin)
    scope = f"cluster:{cloud.host.cluster.uuid}"
    response = _post(client, "ui:config_update", "cluster.cpu.allocated.capacity.disablethreshold", value="0.6",
                     scope=scope, category="Alert")
    assert response.status_code == 302 and response.url.endswith("?scope=" + scope.replace(":", "%3A")
                                                                  + "&category=Alert")
    assert config_value("cluster.cpu.allocated.capacity.disablethreshold", cluster=cloud.host.cluster) == 0.6
    page = client.get(response.url).content.decode()
    assert "Set cluster.cpu.allocated.capacity.disablethreshold to 0.6." in page
    _post(client, "ui:config_reset", "cluster.cpu.allocated.capacity.disablethreshold", scope=scope)
    assert not ConfigurationValue.objects.exists()


def test_a_bad_value_is_shown_and_changes_nothing(cloud, login):
    client = login(cloud.admin)
    response = _post(client, "ui:config_update", "ping.interval", value="soon")
    page = client.get(response.url).content.decode()
    assert "ping.interval" in page and "whole number" in page
    assert not ConfigurationValue.objects.exists()


def test_root_only(cloud, login):
    client = login(cloud.alice)
    assert client.get(reverse(PAGE)).status_code == 403
    assert _post(client, "ui:config_update", "ping.interval", value="5").status_code == 403
    assert not ConfigurationValue.objects.exists()
    nav = ok(login(cloud.admin).get(reverse("ui:dashboard"))).content.decode()
    assert reverse(PAGE) in nav


def test_page_queries_constant(cloud, login):
    client = login(cloud.admin)
    names = iter(["ping.interval", "expunge.delay"])
    assert_queries_constant(lambda: ok(client.get(reverse(PAGE))),
                            lambda: _post(client, "ui:config_update", next(names), value="7"))
