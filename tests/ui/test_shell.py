"""The web UI shell: navigation per role, the Infrastructure and Administration pages, front-end assets served
from installed packages (no CDN), dark mode rendered before the first paint, and the form pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django import forms
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from infrastructure.selectors import host_list
from portal.errors import PermissionDenied
from portal.events import event_emit
from portal.models import AsyncJob
from portal.ui import infrastructure
from tests import factories

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


def nav_links(html: str) -> list[str]:
    match = NAV.search(html)
    assert match, "no main navigation on the page"
    return HREF.findall(match.group(1))


def nav_html(html: str) -> str:
    match = NAV.search(html)
    assert match
    return match.group(1)


# --- navigation per role ----------------------------------------------------------------------------------

MAIN = [reverse("ui:dashboard"), reverse("compute:vm_list"), reverse("ui:job_list"), reverse("accounts:limit_list")]
ADMINISTRATION = [reverse("accounts:domain_list"), reverse("accounts:account_list"), reverse("accounts:role_list"),
                  reverse("ui:event_list")]
ROOT_ADMINISTRATION = [reverse("accounts:ldap_list")]  # after ADMINISTRATION, for root admins only
# Pods, clusters, physical networks and the setup wizard hang off "Zones", image stores off "Storage" (tabs
# on their pages), so the menu still fits a phone screen.
INFRASTRUCTURE = [reverse("ui:zone_list"), reverse("ui:host_list"), reverse("ui:storage_pool_list"),
                  reverse("ui:capacity"), reverse("ui:config_list")]


def test_end_user_sees_only_their_own_sections(cloud, login):
    html = login(cloud.alice).get(reverse("ui:dashboard")).content.decode()

    assert nav_links(html) == MAIN
    assert "Administration" not in nav_html(html) and "Infrastructure" not in nav_html(html)


def test_domain_admin_also_sees_administration(cloud, tenants, login):
    html = login(tenants.domain_admin).get(reverse("ui:dashboard")).content.decode()

    assert nav_links(html) == MAIN + ADMINISTRATION
    assert "Administration" in nav_html(html) and "Infrastructure" not in nav_html(html)


def test_root_admin_also_sees_infrastructure(cloud, login):
    html = login(cloud.admin).get(reverse("ui:dashboard")).content.decode()

    assert nav_links(html) == MAIN + ADMINISTRATION + ROOT_ADMINISTRATION + INFRASTRUCTURE
    assert "Administration" in nav_html(html) and "Infrastructure" in nav_html(html)


@pytest.mark.parametrize(("url", "current"), [
    (reverse("compute:vm_list"), reverse("compute:vm_list")),
    (reverse("compute:vm_deploy"), reverse("compute:vm_list")),
    (reverse("ui:job_list"), reverse("ui:job_list")),
    (reverse("ui:host_list"), reverse("ui:host_list")),
    (reverse("ui:cluster_list"), reverse("ui:zone_list")),
    (reverse("ui:setup_wizard"), reverse("ui:zone_list")),
    (reverse("ui:image_store_list"), reverse("ui:storage_pool_list")),
])
def test_navigation_marks_the_current_section(cloud, login, url, current):
    html = nav_html(login(cloud.admin).get(url).content.decode())

    assert re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', html) == [current]


def test_anonymous_pages_have_no_navigation(client):
    assert NAV.search(client.get(reverse("ui:login")).content.decode()) is None


# --- infrastructure and administration pages ---------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "domain_admin"])
def test_only_root_admins_may_open_the_hosts_page(cloud, tenants, login, who):
    user = tenants.domain_admin if who == "domain_admin" else cloud.alice

    response = login(user).get(reverse("ui:host_list"))

    assert response.status_code == 403
    assert cloud.host.name not in response.content.decode()


def test_the_hosts_page_is_refused_by_the_selector_itself(cloud, rf: RequestFactory):
    """The route's guard and infrastructure.selectors.host_list make the same portal.authz decision: with
    the guard peeled off, the selector still refuses an end user."""
    request = rf.get(reverse("ui:host_list"))
    request.user = cloud.alice
    unguarded = infrastructure.hosts.__wrapped__.__wrapped__  # require_safe -> requires -> http_errors

    with pytest.raises(PermissionDenied):
        host_list(caller=cloud.alice)
    with pytest.raises(DjangoPermissionDenied):
        unguarded(request)


def test_root_admin_sees_hosts_and_zones(cloud, login):
    client = login(cloud.admin)

    hosts = client.get(reverse("ui:host_list"))
    zones = client.get(reverse("ui:zone_list"))

    assert hosts.status_code == 200 and zones.status_code == 200
    assert cloud.host.name in hosts.content.decode() and cloud.host.url in hosts.content.decode()
    assert cloud.zone.name in zones.content.decode()


def test_domain_admin_sees_the_events_of_their_subtree_only(cloud, tenants, login):
    event_emit(type="VM.CREATE", description="carol made a VM", account=tenants.carol.account, user=tenants.carol)
    event_emit(type="VM.CREATE", description="alice made a VM", account=cloud.alice.account, user=cloud.alice)

    sales_view = login(tenants.domain_admin).get(reverse("ui:event_list")).content.decode()
    root_view = login(cloud.admin).get(reverse("ui:event_list")).content.decode()
    alice_view = login(cloud.alice).get(reverse("ui:event_list")).content.decode()

    assert "carol made a VM" in sales_view and "alice made a VM" not in sales_view
    assert "carol made a VM" in root_view and "alice made a VM" in root_view
    assert "alice made a VM" in alice_view and "carol made a VM" not in alice_view


@pytest.mark.parametrize("url", ["/events/", "/infrastructure/zones/", "/infrastructure/hosts/"])
def test_new_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('ui:login')}?next={url}"


# --- front-end assets ---------------------------------------------------------------------------------------

ASSET = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"', re.I)


def test_no_page_loads_scripts_or_styles_from_another_site(cloud, login, deploy_vm, client):
    vm = deploy_vm(cloud.alice, "web1")
    job = AsyncJob.objects.get(instance_id=str(vm.uuid))
    admin = login(cloud.admin)
    pages = {
        "login": client.get(reverse("ui:login")),
        **{url: admin.get(url) for url in (
            reverse("ui:dashboard"), reverse("compute:vm_list"), reverse("compute:vm_deploy"),
            reverse("compute:vm_detail", args=[vm.uuid]), reverse("ui:job_list"),
            reverse("ui:job_detail", args=[job.uuid]), reverse("ui:event_list"), reverse("ui:zone_list"),
            reverse("ui:host_list"))},
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assets = ASSET.findall(response.content.decode())
        assert assets, name
        external = [url for url in assets if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I)]
        assert external == [], name
        assert all(url.startswith("/static/") or url.startswith("data:") for url in assets), (name, assets)


def test_htmx_comes_from_the_installed_django_htmx_package(client):
    html = client.get(reverse("ui:login")).content.decode()
    scripts = re.findall(r'<script src="/static/([^"]+)"', html)
    htmx = [path for path in scripts if path.startswith("django_htmx/htmx-")]
    assert htmx, scripts

    found = Path(finders.find(htmx[0]))
    assert "site-packages" in found.parts and "django_htmx" in found.parts
    assert b"htmx" in found.read_bytes()[:200]
    served = client.get(f"/static/{htmx[0]}")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == found.read_bytes()


# --- dark mode -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cookie", "attribute"), [
    (None, ""),
    ("dark", ' data-theme="dark"'),
    ("light", ' data-theme="light"'),
    ('"><script>', ""),
])
def test_the_chosen_theme_is_rendered_into_the_page(cloud, login, cookie, attribute):
    client = login(cloud.alice)
    if cookie is not None:
        client.cookies["theme"] = cookie

    html = client.get(reverse("compute:vm_list")).content.decode()

    assert f'<html lang="en"{attribute}>' in html
    assert "data-theme-toggle" in html


def test_theme_toggle_is_on_the_login_page_too(client):
    client.cookies["theme"] = "dark"

    html = client.get(reverse("ui:login")).content.decode()

    assert '<html lang="en" data-theme="dark">' in html and "data-theme-toggle" in html


# --- forms -----------------------------------------------------------------------------------------------

def test_field_errors_are_shown_next_to_their_field(cloud, login):
    response = login(cloud.alice).post(reverse("compute:vm_deploy"), {
        "zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
        "template": str(cloud.template.uuid), "name": "-bad-", "start_vm": "on", "wizard_goto": "deploy"})

    assert response.status_code == 200
    html = response.content.decode()
    field = re.search(r'<div class="field has-error">(.*?)</div>\s*</div>', html, re.S)
    assert field, "the name field is not marked as having an error"
    assert 'name="name"' in field.group(1)
    assert re.search(r'<input[^>]*name="name"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*aria-describedby="id_name_helptext id_name_error"', html)
    assert 'id="id_name_error"' in html and "letters, digits and hyphens" in html
    assert html.count("has-error") == 1


class _PairForm(forms.Form):
    first = forms.CharField()
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        raise forms.ValidationError("These two do not go together.")


def test_form_errors_shows_non_field_and_hidden_field_errors():
    form = _PairForm(data={"first": "x"})
    assert not form.is_valid()

    html = Template("{% load portal_ui %}{% form_errors form %}{% form_field form.first %}").render(
        Context({"form": form}))

    alert = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', html, re.S)
    assert alert
    assert "These two do not go together." in alert.group(1)
    assert "Token: This field is required." in alert.group(1)
    assert 'id="id_first"' in html and "has-error" not in html


def test_zones_of_other_kinds_are_listed(cloud, login):
    """Zones are read through infrastructure.selectors.zone_list: every zone, enabled or not."""
    factories.ZoneFactory(name="zone-disabled", allocation_state="Disabled")

    html = login(cloud.admin).get(reverse("ui:zone_list")).content.decode()

    assert "zone-disabled" in html and cloud.zone.name in html


def test_topology_lists_link_to_each_other_and_to_the_wizard(cloud, login):
    html = login(cloud.admin).get(reverse("ui:pod_list")).content.decode()
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S).group(0)
    for name in ("ui:zone_list", "ui:pod_list", "ui:cluster_list", "ui:physical_network_list", "ui:setup_wizard"):
        assert f'href="{reverse(name)}"' in tabs
    assert f'href="{reverse("ui:pod_list")}" aria-current="page"' in tabs
