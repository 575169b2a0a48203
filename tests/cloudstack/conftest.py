"""Fixtures of the CloudStack API tests: API keys for the `cloud` fixture's users, a signed caller, and a
session login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cs.client import CloudStack

from accounts.services import user_keys_register
from tests.factories import TEST_PASSWORD

ENDPOINT = "/client/api"


def cs_sign(params: dict[str, str], api_key: str, secret: str) -> dict[str, str]:
    """Sign exactly as the unmodified `cs` client does (its own signing code)."""
    signed = {**params, "apiKey": api_key}
    CloudStack(endpoint="http://testserver" + ENDPOINT, key=api_key, secret=secret)._sign(signed)
    return signed


@pytest.fixture
def keys(cloud) -> dict[str, tuple[str, str]]:
    """username -> (api_key, secret_key) for admin, alice and bob."""
    return {user.username: user_keys_register(user=user) for user in (cloud.admin, cloud.alice, cloud.bob)}


@pytest.fixture
def api(client, keys) -> Callable[..., Any]:
    """Send a signed request through Django's test client: api("alice", "listZones", response="json")."""

    def call(username: str, command: str, /, *, method: str = "get", **params: Any) -> Any:
        api_key, secret = keys[username]
        wire = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        signed = cs_sign({"command": command, **wire}, api_key, secret)
        return getattr(client, method)(ENDPOINT, signed)

    return call


@pytest.fixture
def api_json(api) -> Callable[..., tuple[int, dict]]:
    """Like `api` with response=json; returns (status, body of the single top-level key)."""

    def call(username: str, command: str, /, **params: Any) -> tuple[int, dict]:
        response = api(username, command, response="json", **params)
        assert response["Content-Type"] == "application/json; charset=utf-8"
        data = response.json()
        assert list(data) == [f"{command.lower()}response"], data
        return response.status_code, data[f"{command.lower()}response"]

    return call


@pytest.fixture
def login(client) -> Callable[..., Any]:
    """Log `client` in over the API (command=login by POST); returns the HTTP response. The test client keeps
    the JSESSIONID and sessionkey cookies for later requests."""

    def call(username: str, password: str = TEST_PASSWORD, **params: Any) -> Any:
        return client.post(ENDPOINT, {"command": "login", "username": username, "password": password,
                                      "response": "json", **params})

    return call
