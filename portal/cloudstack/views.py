"""The single endpoint of the CloudStack-compatible API: /client/api.

Order of checks, as CloudStack: the command must exist (else 401, without saying why), the caller must
authenticate and be allowed the command (401), parameters must parse (431), then the handler runs and
its ServiceError, if any, becomes the error answer with HTTP status = errorcode.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from portal.authz import can
from portal.cloudstack.auth import authenticate, unverified
from portal.cloudstack.listing import run_listing
from portal.cloudstack.params import parse_params
from portal.cloudstack.registry import Call, Command, get_command
from portal.cloudstack.render import respond, respond_error
from portal.errors import NotAuthenticated, OperationFailed, ServiceError
from portal.models import AsyncJob

logger = logging.getLogger(__name__)

ERROR_ANSWER = "errorresponse"


class MethodNotAllowed(ServiceError):
    errorcode, cserrorcode, http_status = 405, 9999, 405


def request_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """Query string and form body merged, one value per name (the first, as CloudStack takes)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    sources = [request.GET]
    if request.method == "POST":
        sources.append(request.POST)
    for source in sources:
        for name, values in source.lists():
            if name not in seen and values:
                seen.add(name)
                pairs.append((name, values[0]))
    return pairs


@csrf_exempt
def api(request: HttpRequest) -> HttpResponse:
    """Signed requests carry their own proof, so Django's CSRF check does not apply; session requests must
    repeat the session's key as the sessionkey parameter, CloudStack's CSRF defence (see sessions.py)."""
    pairs = request_pairs(request)
    raw: dict[str, str] = {}
    for name, value in pairs:
        raw.setdefault(name.lower(), value)
    as_json = raw.get("response", "").lower() == "json"
    command = get_command(raw.get("command", "")) if raw.get("command") else None
    if command is None:
        return respond_error(ERROR_ANSWER, unverified(), as_json=as_json)

    call: Call | None = None
    try:
        if request.method not in command.http_methods:
            raise MethodNotAllowed(_("%(command)s must be sent with %(methods)s.") % {
                "command": command.name, "methods": "/".join(sorted(command.http_methods))})
        caller = authenticate(request, pairs, raw) if command.requires_auth else None
        if command.requires_auth and command.action and not can(caller, command.action):
            raise NotAuthenticated(_("The given command '%(command)s' either does not exist or is not available "
                                     "for user.") % {"command": command.name})
        call = Call(request=request, command=command, caller=caller, params=parse_params(command, raw))
        body = answer_body(call, command.handler(call))
    except ServiceError as exc:
        return respond_error(command.answer_name, exc, as_json=as_json)
    except Exception:
        logger.exception("CloudStack API command %s failed", command.name)
        return respond_error(command.answer_name, OperationFailed(
            _("Internal error executing command, please contact your system administrator.")), as_json=as_json)

    response = respond(command.answer_name, body, as_json=as_json)
    for hook in call.response_hooks:
        hook(response)
    return response


def answer_body(call: Call, result: Any) -> dict:
    """What the handler returned, in CloudStack's shape for the kind of command."""
    command: Command = call.command
    if command.listing is not None:
        return run_listing(call, command.listing, result)
    if command.is_async:
        created: Model | None = None
        if isinstance(result, tuple):
            created, result = result
        if not isinstance(result, AsyncJob):
            raise TypeError(f"{command.name}: an async handler returns its AsyncJob")
        body = {"id": str(created.uuid)} if command.creates and created is not None else {}
        body["jobid"] = str(result.uuid)
        return body
    if not isinstance(result, dict):
        raise TypeError(f"{command.name}: a handler returns a dict body")
    return result
