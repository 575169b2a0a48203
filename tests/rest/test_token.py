"""POST /api/v1/auth/token/: a user obtains (and rotates) their own REST API token."""

from __future__ import annotations

import logging

import pytest
from django.middleware.csrf import get_token
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account
from accounts.services import user_keys_register, user_token_rotate
from portal.errors import PermissionDenied
from tests.factories import TEST_PASSWORD
from tests.rest.helpers import VMS, assert_error

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_signed_in_user_obtains_a_token_that_works(cloud):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password=TEST_PASSWORD)

    # Session authentication needs the CSRF token on a POST, as every unsafe method.
    error = assert_error(client.post(TOKEN), 403, 531)
    assert "CSRF" in error["message"]
    assert not Token.objects.exists()

    csrf = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = csrf
    response = client.post(TOKEN, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    key = response.json()["token"]
    assert set(response.json()) == {"token"}
    assert Token.objects.get(user=cloud.alice).key == key
    assert with_token(key).get(VMS).status_code == 200


def test_rotating_with_an_api_key_replaces_the_previous_token(cloud):
    old = Token.objects.create(user=cloud.alice).key
    api_key, secret_key = user_keys_register(user=cloud.alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key}:{secret_key}")

    new = client.post(TOKEN).json()["token"]

    assert new != old
    assert with_token(new).get(VMS).status_code == 200
    assert_error(with_token(old).get(VMS), 401, 401)
    assert Token.objects.filter(user=cloud.alice).count() == 1


def test_a_token_can_rotate_itself(cloud):
    old = Token.objects.create(user=cloud.alice).key

    new = with_token(old).post(TOKEN).json()["token"]

    assert_error(with_token(old).get(VMS), 401, 401)
    assert with_token(new).get(VMS).status_code == 200
    # Each user has their own: bob's token is untouched by alice's rotation.
    bobs = Token.objects.create(user=cloud.bob).key
    with_token(new).post(TOKEN)
    assert with_token(bobs).get(VMS).status_code == 200


def test_anonymous_callers_get_no_token(cloud):
    assert_error(APIClient().post(TOKEN), 401, 401)
    assert not Token.objects.exists()


def test_only_post(cloud):
    client = with_token(Token.objects.create(user=cloud.alice).key)
    assert_error(client.get(TOKEN), 405, 432)


def test_a_disabled_account_gets_no_new_token(cloud):
    old = Token.objects.create(user=cloud.alice).key
    Account.objects.filter(pk=cloud.alice.account_id).update(state=Account.State.DISABLED)

    assert_error(with_token(old).post(TOKEN), 403, 531)
    assert Token.objects.get(user=cloud.alice).key == old


def test_the_service_keeps_the_key_out_of_the_logs(cloud, caplog):
    caplog.set_level(logging.DEBUG)

    key = user_token_rotate(user=cloud.alice)

    assert Token.objects.get(user=cloud.alice).key == key
    assert caplog.records  # the rotation is recorded ...
    assert all(key not in record.getMessage() for record in caplog.records)  # ... without the secret


def test_the_service_refuses_a_user_of_a_disabled_account(cloud):
    Account.objects.filter(pk=cloud.alice.account_id).update(state=Account.State.DISABLED)
    cloud.alice.account.refresh_from_db()

    with pytest.raises(PermissionDenied):
        user_token_rotate(user=cloud.alice)
    assert not Token.objects.exists()
