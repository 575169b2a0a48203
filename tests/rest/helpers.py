"""Helpers shared by the REST API tests."""

from __future__ import annotations

from typing import Any

VMS = "/api/v1/virtual-machines/"
JOBS = "/api/v1/jobs/"


def assert_error(response: Any, status: int, errorcode: int) -> dict[str, Any]:
    """The one error body format; returns its `error` object."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == status
    assert error["errorcode"] == errorcode
    assert isinstance(error["cserrorcode"], int)
    assert isinstance(error["message"], str) and error["message"]
    return error
