"""Who may call the REST API: token, ApiKey and session authentication; everything else is a 401."""

from __future__ import annotations

import pytest
from django.middleware.csrf import get_token
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import user_keys_register
from compute.models import VirtualMachine
from tests.factories import TEST_PASSWORD
from tests.rest.helpers import VMS, assert_error

pytestmark = pytest.mark.django_db


def test_unauthenticated_is_401_with_a_challenge(cloud):
    response = APIClient().get(VMS)

    error = assert_error(response, 401, 401)
    assert "credentials" in error["message"].lower()
    assert response["WWW-Authenticate"].startswith("Token")


def test_unauthenticated_write_is_401_and_creates_nothing(cloud):
    body = {"zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
            "template": str(cloud.template.uuid)}
    assert_error(APIClient().post(VMS, body, format="json"), 401, 401)
    assert not VirtualMachine.objects.exists()


def test_token_authentication(cloud):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=cloud.alice).key}")
    assert client.get(VMS).status_code == 200

    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_error(client.get(VMS), 401, 401)


def test_token_of_a_disabled_user_is_refused(cloud):
    token = Token.objects.create(user=cloud.alice)
    cloud.alice.is_active = False
    cloud.alice.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert_error(client.get(VMS), 401, 401)


def test_api_key_authentication(cloud, alice_api, deploy):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    api_key, secret_key = user_keys_register(user=cloud.alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key}:{secret_key}")

    response = client.get(VMS)

    assert response.status_code == 200
    assert [vm["id"] for vm in response.json()["results"]] == [vm_id]
    # Writes work too (no CSRF: the keys are not ambient credentials).
    assert client.post(f"{VMS}{vm_id}/reboot/").status_code == 202


@pytest.mark.parametrize("header", [
    "ApiKey {api_key}:wrong-secret",
    "ApiKey {api_key}:{secret_key}x",
    "ApiKey unknown-key:{secret_key}",
    "ApiKey {api_key}",
    "ApiKey {api_key}:",
    "ApiKey :{secret_key}",
    "ApiKey {api_key}: {secret_key}",
])
def test_api_key_with_wrong_or_malformed_credentials_is_401(cloud, header):
    api_key, secret_key = user_keys_register(user=cloud.alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(api_key=api_key, secret_key=secret_key))

    assert_error(client.get(VMS), 401, 401)


def test_api_key_of_a_user_without_keys_never_matches(cloud):
    # bob has no key pair: an empty secret must not match an empty stored secret.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="ApiKey :")
    assert_error(client.get(VMS), 401, 401)
    assert cloud.bob.api_key is None


def test_api_key_of_a_disabled_user_is_refused(cloud):
    api_key, secret_key = user_keys_register(user=cloud.alice)
    cloud.alice.is_active = False
    cloud.alice.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key}:{secret_key}")

    error = assert_error(client.get(VMS), 401, 401)
    assert "inactive" in error["message"]


def test_old_keys_stop_working_when_new_ones_are_registered(cloud):
    old = user_keys_register(user=cloud.alice)
    user_keys_register(user=cloud.alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="ApiKey {}:{}".format(*old))

    assert_error(client.get(VMS), 401, 401)


def test_session_authentication_enforces_csrf_on_writes(cloud, alice_api, deploy):
    vm_id = deploy(alice_api, name="web1").json()["resource"]["id"]
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password=TEST_PASSWORD)

    assert client.get(VMS).json()["count"] == 1

    error = assert_error(client.post(f"{VMS}{vm_id}/reboot/"), 403, 531)
    assert "CSRF" in error["message"]

    token = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = token
    assert client.post(f"{VMS}{vm_id}/reboot/", HTTP_X_CSRFTOKEN=token).status_code == 202
