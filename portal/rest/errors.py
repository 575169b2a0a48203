"""One error body for every failure of the REST API.

    {"error": {"code": <HTTP status>, "errorcode": <CloudStack errorcode>, "cserrorcode": <CloudStack
     cserrorcode>, "message": "...", "fields": {"<field>": ["..."]}}}

Service errors carry their own codes (portal.errors); DRF's and Django's exceptions are mapped to the
service error they correspond to, so a client can branch on `errorcode` whichever layer refused it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from portal import authz, errors

logger = logging.getLogger(__name__)

# DRF exception -> the service error whose errorcode/cserrorcode it reports.
_DRF_EQUIVALENTS: tuple[tuple[type[exceptions.APIException], type[errors.ServiceError]], ...] = (
    (exceptions.ValidationError, errors.InvalidParameter),
    (exceptions.ParseError, errors.InvalidParameter),
    (exceptions.NotAuthenticated, errors.NotAuthenticated),
    (exceptions.AuthenticationFailed, errors.NotAuthenticated),
    (exceptions.PermissionDenied, errors.PermissionDenied),
    (exceptions.NotFound, errors.NotFound),
    (exceptions.MethodNotAllowed, errors.Unsupported),
    (exceptions.NotAcceptable, errors.Unsupported),
    (exceptions.UnsupportedMediaType, errors.Unsupported),
    (exceptions.Throttled, errors.LimitExceeded),
)


def error_body(*, status: int, errorcode: int, cserrorcode: int, message: str,
               fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "errorcode": errorcode, "cserrorcode": cserrorcode,
                             "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def flatten_detail(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested validation errors become dotted keys ("items.0.name"), so `fields` has one simple type."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            for name, messages in flatten_detail(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    key = prefix or api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {key: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for name, messages in flatten_detail(item, f"{prefix}.{index}" if prefix else str(index)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    return {key: [str(detail)]}


def _validation_message(fields: dict[str, list[str]]) -> str:
    parts = [f"{name}: {messages[0]}" if name != api_settings.NON_FIELD_ERRORS_KEY else messages[0]
             for name, messages in fields.items() if messages]
    return _("Invalid request: %(errors)s") % {"errors": " ".join(parts)} if parts else _("Invalid request.")


def _equivalent(exc: exceptions.APIException) -> type[errors.ServiceError]:
    for drf_class, service_class in _DRF_EQUIVALENTS:
        if isinstance(exc, drf_class):
            return service_class
    return errors.OperationFailed if exc.status_code >= 500 else errors.InvalidParameter


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: render any exception of a REST view as the error body."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # A model or form field refusing a value (a filter's, say) is the caller's mistake, not a 500.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, errors.ServiceError):
        set_rollback()
        return Response(error_body(status=exc.http_status, errorcode=exc.errorcode,
                                   cserrorcode=exc.cserrorcode, message=exc.message), status=exc.http_status)

    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        equivalent = _equivalent(exc)
        fields: dict[str, list[str]] | None = None
        if isinstance(exc, exceptions.ValidationError):
            fields = flatten_detail(exc.detail)
            message = _validation_message(fields)
        else:
            message = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        set_rollback()
        return Response(error_body(status=exc.status_code, errorcode=equivalent.errorcode,
                                   cserrorcode=equivalent.cserrorcode, message=message, fields=fields),
                        status=exc.status_code, headers=headers)

    if settings.DEBUG:
        return None  # Django's debug page shows the traceback.
    logger.exception("unhandled error in REST view %s", context.get("view").__class__.__name__)
    set_rollback()
    return Response(error_body(status=500, errorcode=errors.OperationFailed.errorcode,
                               cserrorcode=errors.OperationFailed.cserrorcode,
                               message=_("Internal error; the incident has been logged.")), status=500)


def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/v1/ answer with the error body too, not Django's HTML page. This view
    matches every path, so Django's APPEND_SLASH redirect never happens: the message says instead."""
    message = _("No API endpoint at %(path)s.") % {"path": request.path}
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found_view:
            message = _("No API endpoint at %(path)s; the URL ends with a slash: %(path)s/") % {
                "path": request.path}
    return JsonResponse(error_body(status=404, errorcode=errors.NotFound.errorcode,
                                   cserrorcode=errors.NotFound.cserrorcode, message=message), status=404)


not_found_view.authz_action = authz.PUBLIC  # type: ignore[attr-defined]  # it only says "no such endpoint"


# --- schema ---------------------------------------------------------------------------------------------

class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text=gettext_lazy("The HTTP status code."))
    errorcode = serializers.IntegerField(
        help_text=gettext_lazy(
            "CloudStack's errorcode: 401 unauthenticated, 431 invalid parameter or unknown id, "
            "432 unsupported, 530 internal error, 531 permission denied, 533 insufficient capacity, "
            "534 resource unavailable, 535 resource allocation or limit exceeded, 536 resource in use, "
            "537 network rule conflict."))
    cserrorcode = serializers.IntegerField(help_text=gettext_lazy("CloudStack's cserrorcode (the exception class)."))
    message = serializers.CharField(help_text=gettext_lazy("A human-readable, translated message."))

    def get_fields(self) -> dict[str, serializers.Field]:
        # `fields` is also the name of Serializer's own field mapping, so it is added here, not declared.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False,
            help_text=gettext_lazy("Validation errors by request field (dotted for nested fields); only on 400."))
        return fields


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ErrorDetailSerializer()
