"""Fixtures of the REST API tests: clients authenticated as the `cloud` fixture's users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from tests.rest.helpers import VMS


@pytest.fixture
def client_for(db) -> Callable[[User], APIClient]:
    """An APIClient sending the user's DRF token, as an integration would."""

    def make(user: User) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def alice_api(cloud, client_for) -> APIClient:
    return client_for(cloud.alice)


@pytest.fixture
def deploy(cloud, run_jobs) -> Callable[..., Any]:
    """POST a deploy as `client` with the cloud's zone/offering/template; jobs run when the request commits."""

    def post(client: APIClient, **body: Any) -> Any:
        payload = {"zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
                   "template": str(cloud.template.uuid), **body}
        with run_jobs():
            return client.post(VMS, payload, format="json")

    return post
