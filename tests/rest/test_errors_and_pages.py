"""The one error body for failures raised below the views, and page-number pagination."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import RequestFactory

from portal.rest.errors import exception_handler
from tests import factories
from tests.rest.helpers import assert_error

pytestmark = pytest.mark.django_db

ZONES = "/api/v1/zones/"


@pytest.mark.parametrize(("exc", "fields"), [
    (DjangoValidationError({"zone": ["Enter a valid UUID."]}), {"zone": ["Enter a valid UUID."]}),
    (DjangoValidationError("Bad value."), {"non_field_errors": ["Bad value."]}),
])
def test_a_django_validation_error_is_a_400_with_fields(exc, fields):
    response = exception_handler(exc, {"view": None, "request": RequestFactory().get("/")})

    assert response.status_code == 400
    assert response.data["error"]["errorcode"] == 431
    assert response.data["error"]["fields"] == fields


def test_pages(cloud, alice_api):
    for number in range(4):
        factories.ZoneFactory(name=f"zonex{number}")

    first = alice_api.get(ZONES, {"page_size": 2, "ordering": "name"}).json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None
    second = alice_api.get(first["next"]).json()
    third = alice_api.get(second["next"]).json()
    assert third["next"] is None
    names = [zone["name"] for page in (first, second, third) for zone in page["results"]]
    assert names == sorted(names) and len(set(names)) == 5

    # Filters and ordering survive in the page links.
    assert "ordering=name" in first["next"]
    assert_error(alice_api.get(ZONES, {"page": 9}), 404, 431)
    assert_error(alice_api.get(ZONES, {"page": "last-but-one"}), 404, 431)
