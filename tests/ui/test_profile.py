"""The profile page (details, API keys shown once, password change) and the throttled sign-in form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import user_keys_register
from portal.models import Event
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PROFILE = "/profile/"
KEYS = "/profile/keys/"
PASSWORD = "/profile/password/"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.CIRROSTACK_LOGIN_FAILURE_LIMIT = 3
    settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT = 10


def test_routes():
    assert reverse("accounts:profile") == PROFILE
    assert reverse("accounts:profile_keys") == KEYS
    assert reverse("accounts:profile_password") == PASSWORD


def test_the_profile_shows_the_users_details_and_is_linked_from_the_header(cloud, login):
    client = login(cloud.alice)
    html = client.get(reverse("ui:dashboard")).content.decode()
    assert f'href="{PROFILE}"' in html

    response = client.get(PROFILE)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("alice", "alice@example.test", str(cloud.alice.uuid), "ROOT", "You have no API keys yet."):
        assert text in html


def test_the_profile_needs_a_signed_in_user(cloud, client):
    response = client.get(PROFILE)
    assert response.status_code == 302 and reverse("ui:login") in response["Location"]


def test_generated_keys_show_the_secret_once(cloud, login):
    client = login(cloud.alice)
    old_key, old_secret = user_keys_register(user=cloud.alice)
    before = client.get(PROFILE).content.decode()
    assert old_key in before and old_secret not in before

    response = client.post(KEYS)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    alice = User.objects.get(pk=cloud.alice.pk)
    html = response.content.decode()
    assert alice.api_key in html and alice.secret_key in html
    assert "shown only this once" in html
    assert (alice.api_key, alice.secret_key) != (old_key, old_secret)
    # Later visits show the API key only.
    later = client.get(PROFILE).content.decode()
    assert alice.api_key in later and alice.secret_key not in later
    assert Event.objects.get(type="REGISTER.USER.KEY").user == alice


def test_generating_keys_asks_first_and_needs_post_and_csrf(cloud, login):
    client = login(cloud.alice)
    html = client.get(PROFILE).content.decode()
    assert "stop working at once" in html  # the confirmation question of the form
    assert client.get(KEYS).status_code == 405

    strict = login(cloud.alice, enforce_csrf_checks=True)
    assert strict.post(KEYS).status_code == 403
    assert User.objects.get(pk=cloud.alice.pk).api_key is None


def test_old_keys_stop_working_after_generating_new_ones(cloud, login):
    client = login(cloud.alice)
    old_key, old_secret = user_keys_register(user=cloud.alice)
    client.post(KEYS)
    api = Client()
    assert api.get("/api/v1/profile/", HTTP_AUTHORIZATION=f"ApiKey {old_key}:{old_secret}").status_code == 401
    alice = User.objects.get(pk=cloud.alice.pk)
    assert api.get("/api/v1/profile/",
                   HTTP_AUTHORIZATION=f"ApiKey {alice.api_key}:{alice.secret_key}").status_code == 200


def test_changing_the_password_keeps_the_session(cloud, login):
    client = login(cloud.alice)
    response = client.post(PASSWORD, {"current_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})

    assert response.status_code == 302 and response["Location"] == PROFILE
    assert User.objects.get(pk=cloud.alice.pk).check_password(NEW_PASSWORD)
    followed = client.get(PROFILE)
    assert followed.status_code == 200 and "Your password was changed." in followed.content.decode()
    assert Event.objects.get(type="USER.UPDATE").user == cloud.alice


def test_other_sessions_end_when_the_password_changes(cloud, login):
    elsewhere = Client()
    assert elsewhere.post(reverse("ui:login"), {"username": "alice", "password": TEST_PASSWORD}).status_code == 302
    client = login(cloud.alice)
    client.post(PASSWORD, {"current_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD,
                           "new_password2": NEW_PASSWORD})

    assert elsewhere.get(PROFILE).status_code == 302


def test_a_wrong_current_password_is_an_inline_error_and_changes_nothing(cloud, login):
    client = login(cloud.alice)
    response = client.post(PASSWORD, {"current_password": "wrong password", "new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_current_password_error"' in html and "Your current password is not correct." in html
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)
    assert not Event.objects.filter(type="USER.UPDATE").exists()
    assert client.get(PROFILE).status_code == 200  # still signed in


@pytest.mark.parametrize(("new1", "new2", "field", "message"), [
    (NEW_PASSWORD, NEW_PASSWORD + "x", "new_password2", "do not match"),
    ("short", "short", "new_password1", "too short"),
    ("password123", "password123", "new_password1", "too common"),
])
def test_bad_new_passwords_are_inline_errors(cloud, login, new1, new2, field, message):
    client = login(cloud.alice)
    response = client.post(PASSWORD, {"current_password": TEST_PASSWORD, "new_password1": new1,
                                      "new_password2": new2})

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)


def test_ldap_users_get_no_password_form(cloud, login):
    User.objects.filter(pk=cloud.alice.pk).update(source="ldap")
    html = login(User.objects.get(pk=cloud.alice.pk)).get(PROFILE).content.decode()
    assert PASSWORD not in html


# --- signing in and out -----------------------------------------------------------------------------------

def test_the_sign_in_form_locks_after_too_many_failures(cloud, client):
    for _ in range(3):
        response = client.post(reverse("ui:login"), {"username": "alice", "password": "wrong password"})
        assert "Please enter a correct username and password" in response.content.decode()

    response = client.post(reverse("ui:login"), {"username": "alice", "password": TEST_PASSWORD})

    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # An unknown name locked the same way gets the same answer.
    for _ in range(3):
        client.post(reverse("ui:login"), {"username": "ghost", "password": "wrong password"})
    ghost = client.post(reverse("ui:login"), {"username": "ghost", "password": TEST_PASSWORD})
    assert "Too many failed sign-in attempts" in ghost.content.decode()


def test_sign_in_and_out_are_events_with_the_actor(cloud, client):
    client.post(reverse("ui:login"), {"username": "alice", "password": TEST_PASSWORD})
    client.post(reverse("ui:logout"))

    assert [(event.type, event.user) for event in Event.objects.order_by("id")] == [
        ("USER.LOGIN", cloud.alice), ("USER.LOGOUT", cloud.alice)]


def test_an_idle_ui_session_times_out(cloud, client):
    assert settings.SESSION_COOKIE_AGE == settings.CIRROSTACK_SESSION_TIMEOUT
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    client.post(reverse("ui:login"), {"username": "alice", "password": TEST_PASSWORD})

    # Each request renews the session: the expiry is a full timeout away after a request.
    client.get(PROFILE)
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = (session.expire_date - timezone.now()).total_seconds()
    assert settings.CIRROSTACK_SESSION_TIMEOUT - 10 < remaining <= settings.CIRROSTACK_SESSION_TIMEOUT

    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(PROFILE)
    assert response.status_code == 302 and reverse("ui:login") in response["Location"]
