"""The CloudStack `login` command goes through the login throttle; API sessions time out when idle; keys
stay usable by signing clients although the secret is stored encrypted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import User
from portal.models import Event
from tests.cloudstack.conftest import ENDPOINT
from tests.cloudstack.test_sessions import FAILED_LOGIN
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts: signing in is blocked for 15 minutes. Try again later."


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.CIRROSTACK_LOGIN_FAILURE_LIMIT = 3
    settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.CIRROSTACK_LOGIN_LOCKOUT = 900


def error_of(response) -> dict:
    return response.json()["loginresponse"]


def test_login_locks_after_too_many_failures_even_with_the_right_password(cloud, login):
    for _ in range(3):
        response = login("alice", "wrong password")
        assert response.status_code == 531 and FAILED_LOGIN.match(error_of(response)["errortext"])

    response = login("alice")

    assert response.status_code == 531
    body = error_of(response)
    assert body["errorcode"] == 531 and body["errortext"] == LOCKED
    assert "JSESSIONID" not in response.cookies or not response.cookies["JSESSIONID"].value
    assert not Session.objects.exists()


def test_a_locked_unknown_user_gets_the_same_answer(cloud, login):
    for name in ("alice", "ghost"):
        for _ in range(3):
            login(name, "wrong password")
    assert error_of(login("ghost")) == error_of(login("alice"))


def test_one_address_guessing_many_users_is_locked(cloud, login):
    for index in range(6):
        login(f"guess{index}", "wrong password")

    assert error_of(login("bob"))["errortext"] == LOCKED
    other_address = Client(REMOTE_ADDR="198.51.100.44")
    response = other_address.post(ENDPOINT, {"command": "login", "username": "bob", "password": TEST_PASSWORD,
                                             "response": "json"})
    assert response.status_code == 200


def test_a_wrong_domain_counts_as_a_failure(cloud, login):
    for _ in range(3):
        assert login("alice", domain="/NoSuchDomain").status_code == 531
    assert error_of(login("alice"))["errortext"] == LOCKED


def test_a_successful_login_resets_the_count(cloud, login):
    for _ in range(2):
        login("alice", "wrong password")
    assert login("alice").status_code == 200
    for _ in range(2):
        login("alice", "wrong password")
    assert login("alice").status_code == 200


def test_login_and_logout_are_events_with_the_actor(cloud, client, login):
    login("alice")
    client.get(ENDPOINT, {"command": "logout", "response": "json"})

    assert [(event.type, event.user) for event in Event.objects.order_by("id")] == [
        ("USER.LOGIN", cloud.alice), ("USER.LOGOUT", cloud.alice)]


def test_the_session_timeout_is_the_setting_and_idle_sessions_end(cloud, client, login, settings):
    settings.CIRROSTACK_API_SESSION_TIMEOUT = 600
    body = login("alice").json()["loginresponse"]
    assert body["timeout"] == 600
    session = {"response": "json", "sessionkey": body["sessionkey"]}

    # A call renews the session to a full timeout from now.
    stored = Session.objects.get()
    Session.objects.filter(pk=stored.pk).update(expire_date=timezone.now() + timedelta(seconds=5))
    assert client.get(ENDPOINT, {"command": "listZones", **session}).status_code == 200
    remaining = (Session.objects.get().expire_date - timezone.now()).total_seconds()
    assert 590 < remaining <= 600

    # Idle past the timeout: the session no longer authenticates.
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(ENDPOINT, {"command": "listZones", **session})
    assert response.status_code == 401


def test_keys_bootstrapped_over_a_session_sign_requests_although_stored_encrypted(cloud, client, login, api_json):
    body = login("alice").json()["loginresponse"]
    session = {"response": "json", "sessionkey": body["sessionkey"]}
    registered = client.get(ENDPOINT, {"command": "registerUserKeys", "id": str(cloud.alice.uuid),
                                       **session}).json()["registeruserkeysresponse"]["userkeys"]
    fetched = client.get(ENDPOINT, {"command": "getUserKeys", "id": str(cloud.alice.uuid),
                                    **session}).json()["getuserkeysresponse"]["userkeys"]

    # getUserKeys still returns the secret: cloudmonkey and cs bootstrap with it.
    assert fetched == registered
    assert registered["secretkey"] not in User.objects.get(pk=cloud.alice.pk).secret_key_encrypted
    from tests.cloudstack.conftest import cs_sign

    signed = cs_sign({"command": "listZones", "response": "json"}, registered["apikey"], registered["secretkey"])
    assert Client().get(ENDPOINT, signed).status_code == 200
