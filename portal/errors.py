"""Errors every door understands. Each carries CloudStack's HTTP error code and cserrorcode so the
CloudStack API, the REST API and the UI report the same failure the same way.

The numbers are CloudStack's own: `errorcode` from its ApiErrorCode enum (530 internal, 531 account,
532 account resource limit, 533 insufficient capacity, 534 resource unavailable, 535 resource allocation,
536 resource in use, 537 network rule conflict) and `cserrorcode` from CSExceptionErrorCode for the
exception CloudStack raises in the same situation. CloudStack reports an exceeded resource limit as a
ResourceAllocationException (535 / 4370), so LimitExceeded does too.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A refusal or failure of a service call. Raised before anything is changed, or rolled back."""

    errorcode = 530
    cserrorcode = 4250  # CloudRuntimeException
    http_status = 500
    default_message = _("The operation failed.")

    def __init__(self, message: str | None = None) -> None:
        self.message = str(message if message is not None else self.default_message)
        super().__init__(self.message)


class InvalidParameter(ServiceError):
    errorcode, cserrorcode, http_status = 431, 4350, 400
    default_message = _("Invalid parameter value.")


class NotFound(InvalidParameter):
    """CloudStack reports unknown ids as invalid parameter values (431); clients rely on that."""

    http_status = 404
    default_message = _("Unable to find the requested object.")


class InvalidState(InvalidParameter):
    http_status = 409
    default_message = _("The object is not in a state that allows this operation.")


class PermissionDenied(ServiceError):
    errorcode, cserrorcode, http_status = 531, 4365, 403
    default_message = _("You do not have permission to perform this action.")


class NotAuthenticated(ServiceError):
    errorcode, cserrorcode, http_status = 401, 4365, 401
    default_message = _("Unable to verify user credentials and/or request signature.")


class Unsupported(ServiceError):
    errorcode, cserrorcode, http_status = 432, 4355, 400
    default_message = _("This operation is not supported.")


class InsufficientCapacity(ServiceError):
    errorcode, cserrorcode, http_status = 533, 4325, 409
    default_message = _("Insufficient capacity to complete the operation.")


class ResourceUnavailable(ServiceError):
    errorcode, cserrorcode, http_status = 534, 4380, 503
    default_message = _("The resource is unavailable.")


class LimitExceeded(ServiceError):
    errorcode, cserrorcode, http_status = 535, 4370, 409
    default_message = _("A resource limit would be exceeded.")


class ResourceInUse(ServiceError):
    errorcode, cserrorcode, http_status = 536, 4375, 409
    default_message = _("The resource is in use.")


class NetworkRuleConflict(ServiceError):
    errorcode, cserrorcode, http_status = 537, 4360, 409
    default_message = _("The rule conflicts with an existing network rule.")


class OperationFailed(ServiceError):
    errorcode, cserrorcode, http_status = 530, 4250, 500
