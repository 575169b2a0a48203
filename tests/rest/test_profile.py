"""REST: /api/v1/profile/ (who am I), /api/v1/profile/keys/ (API key; a new pair shown once) and
/api/v1/profile/password/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_keys_register
from portal.models import Event
from tests.factories import TEST_PASSWORD
from tests.rest.helpers import assert_error

pytestmark = pytest.mark.django_db

PROFILE = "/api/v1/profile/"
KEYS = "/api/v1/profile/keys/"
PASSWORD = "/api/v1/profile/password/"
NEW_PASSWORD = "a brand new passphrase 42"


def test_profile_shows_the_caller(cloud, alice_api):
    response = alice_api.get(PROFILE)

    assert response.status_code == 200
    account = cloud.alice.account
    assert response.json() == {
        "id": str(cloud.alice.uuid), "username": "alice", "first_name": "", "last_name": "",
        "email": "alice@example.test", "account": "alice", "account_id": str(account.uuid), "account_type": 0,
        "domain": "ROOT", "domain_id": str(account.domain.uuid), "role_type": "User", "source": "native",
    }


def test_profile_needs_authentication(cloud):
    for method, path in (("get", PROFILE), ("get", KEYS), ("post", KEYS), ("post", PASSWORD)):
        assert_error(getattr(APIClient(), method)(path), 401, 401)


def test_keys_get_shows_the_api_key_only(cloud, alice_api):
    assert alice_api.get(KEYS).json() == {"api_key": None}
    api_key, _secret = user_keys_register(user=cloud.alice)
    assert alice_api.get(KEYS).json() == {"api_key": api_key}


def test_keys_post_issues_a_pair_shown_once(cloud, alice_api):
    old_key, old_secret = user_keys_register(user=cloud.alice)

    response = alice_api.post(KEYS)

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    pair = response.json()
    assert set(pair) == {"api_key", "secret_key"} and pair["api_key"] != old_key
    assert User.objects.get(pk=cloud.alice.pk).secret_key == pair["secret_key"]
    assert alice_api.get(KEYS).json() == {"api_key": pair["api_key"]}
    assert Event.objects.get(type="REGISTER.USER.KEY").user == cloud.alice

    with_new = APIClient()
    with_new.credentials(HTTP_AUTHORIZATION=f"ApiKey {pair['api_key']}:{pair['secret_key']}")
    assert with_new.get(PROFILE).json()["username"] == "alice"
    with_old = APIClient()
    with_old.credentials(HTTP_AUTHORIZATION=f"ApiKey {old_key}:{old_secret}")
    assert_error(with_old.get(PROFILE), 401, 401)


def test_password_change(cloud, alice_api):
    response = alice_api.post(PASSWORD, {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD},
                              format="json")

    assert response.status_code == 204
    assert User.objects.get(pk=cloud.alice.pk).check_password(NEW_PASSWORD)
    assert Event.objects.get(type="USER.UPDATE").user == cloud.alice
    assert alice_api.get(PROFILE).status_code == 200  # a token survives a password change


@pytest.mark.parametrize("body", [
    {"current_password": "wrong password", "password": NEW_PASSWORD},
    {"current_password": TEST_PASSWORD, "password": "short"},
    {"password": NEW_PASSWORD},
])
def test_a_refused_password_change_is_a_400_and_changes_nothing(cloud, alice_api, body):
    assert_error(alice_api.post(PASSWORD, body, format="json"), 400, 431)
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)
    assert not Event.objects.filter(type="USER.UPDATE").exists()


def test_a_session_stays_valid_after_changing_the_password_through_it(cloud):
    client = APIClient(enforce_csrf_checks=False)
    assert client.login(username="alice", password=TEST_PASSWORD)

    response = client.post(PASSWORD, {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD}, format="json")

    assert response.status_code == 204
    assert client.get(PROFILE).status_code == 200
