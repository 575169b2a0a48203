"""OpenAPI generation (drf-spectacular) tuned for this API: every operation documents the error body."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi

from portal.rest.errors import ErrorSerializer

REST_PREFIX = "/api/v1/"

ERROR_DESCRIPTIONS = {
    "400": _("Invalid request (errorcode 431); error.fields names the offending parameters."),
    "401": _("Not authenticated, or wrong credentials (errorcode 401)."),
    "403": _("Not allowed (errorcode 531), or a missing CSRF token with session authentication."),
    "404": _("No such object, or not one of yours (errorcode 431)."),
}


class AutoSchema(openapi.AutoSchema):
    """Adds the error responses every operation can give, so clients see the one error body everywhere.
    Views add their specific ones (409, 503) with @extend_schema."""

    def _error_codes(self) -> list[str]:
        codes = ["401", "403"]
        if self.method != "GET" or self._is_list_view():
            codes.append("400")
        if "{" in self.path:
            codes.append("404")
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return dict(sorted(responses.items()))


def only_rest_endpoints(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple]:
    """PREPROCESSING_HOOKS: the schema covers the REST door only, not other DRF views in the project."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(REST_PREFIX)]
