"""Signing in and out of the web UI."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_a_form_with_csrf_token(client):
    response = client.get(reverse("ui:login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'action="/i18n/setlang/"' in html  # the language switch is on the login page too


def test_wrong_password_shows_an_error_and_signs_nobody_in(cloud, client):
    response = client.post(reverse("ui:login"), {"username": "alice", "password": "wrong password"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("ui:dashboard")).status_code == 302


def test_login_leads_to_the_dashboard(cloud, client):
    response = client.post(reverse("ui:login"), {"username": "alice", "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("ui:dashboard")
    dashboard = client.get(response.url)
    assert dashboard.status_code == 200
    html = dashboard.content.decode()
    assert "Dashboard" in html and "alice" in html
    assert int(client.session["_auth_user_id"]) == cloud.alice.pk


def test_login_honours_next(cloud, client):
    target = reverse("compute:vm_list")
    response = client.post(reverse("ui:login") + f"?next={target}",
                           {"username": "alice", "password": TEST_PASSWORD, "next": target})
    assert response.status_code == 302 and response.url == target


def test_logout_is_post_only(cloud, login):
    client = login(cloud.alice)

    assert client.get(reverse("ui:logout")).status_code == 405
    assert client.get(reverse("ui:dashboard")).status_code == 200  # still signed in

    response = client.post(reverse("ui:logout"))
    assert response.status_code == 302 and response.url == reverse("ui:login")
    assert client.get(reverse("ui:dashboard")).status_code == 302


def test_logout_form_is_csrf_protected(cloud):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cloud.alice)

    assert client.post(reverse("ui:logout")).status_code == 403
    assert client.get(reverse("ui:dashboard")).status_code == 200


@pytest.mark.parametrize("url", [
    "/", "/jobs/", "/jobs/00000000-0000-0000-0000-000000000000/", "/vms/", "/vms/deploy/",
    "/vms/00000000-0000-0000-0000-000000000000/",
])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('ui:login')}?next={url}"


def test_anonymous_post_to_an_action_is_sent_to_login(cloud, client, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")

    response = client.post(reverse("compute:vm_stop", args=[vm.uuid]))

    assert response.status_code == 302 and response.url.startswith(reverse("ui:login"))
    vm.refresh_from_db()
    assert vm.state == "Running"
