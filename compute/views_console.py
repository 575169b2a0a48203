"""Web UI of the VM console: the noVNC page, the tickets it connects with, and the serial console's text.

A door like compute.views: it parses, authorizes through the selectors and compute.services_console, and
renders. The page itself carries no ticket and no VNC password: its script (static/console/console.js) POSTs
for a fresh single-use ticket before every connection (the first one too, unless the page was opened with
CloudStack's `?token=` link) and hands it to the WebSocket consumer (compute.consumers). Tickets are minted by
POST only, with the CSRF token, so a link or an image on another site cannot mint one.

The ticket and serial endpoints answer JSON for the script, errors included ({"error": message}, with 401,
403, 404 or 409), instead of the login redirects and HTML error pages of the other views.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from compute.console_links import console_ws_path
from compute.models import VirtualMachine
from compute.selectors import vm_get
from compute.services_console import (
    console_serial_request,
    console_serial_result,
    console_token_create,
)
from portal import authz
from portal.errors import InvalidState, NotAuthenticated, NotFound, PermissionDenied, ServiceError, Unsupported
from portal.models import AsyncJob
from portal.ui.access import requires
from portal.ui.shortcuts import http_errors

ACTION = "vm.console"

# What each refusal is for the page's script. Anything else a service raises is its own status (e.g. 400).
JSON_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (NotAuthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (InvalidState, 409),
    (Unsupported, 409),
)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def json_door(view: Callable[..., JsonResponse]) -> Callable[..., HttpResponse]:
    """`requires(ACTION)` for the script's endpoints: the same checks, answered as JSON errors (a login
    redirect or an HTML 403 page would mean nothing to fetch())."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _error(_("Your session has ended: sign in again."), 401)
        try:
            authz.authorize(request.user, ACTION)
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            status = next((code for kind, code in JSON_STATUS if isinstance(exc, kind)), exc.http_status)
            return _error(exc.message, status)

    wrapper.authz_action = ACTION  # type: ignore[attr-defined]
    return wrapper


def _console_vm(request: HttpRequest, vm_id: str) -> VirtualMachine:
    """The VM, if the caller sees it (else NotFound) and may open its console (else PermissionDenied)."""
    vm = vm_get(caller=request.user, vm_id=vm_id)
    authz.authorize(request.user, ACTION, vm)
    return vm


@require_safe
@requires(ACTION)
@http_errors
def vm_console(request: HttpRequest, vm_id: str) -> HttpResponse:
    """The console page. It renders for a stopped VM too (the script then shows why it cannot connect)."""
    vm = _console_vm(request, vm_id)
    host = vm.host or vm.last_host
    return render(request, "compute/console.html", {
        "vm": vm,
        "serial_unavailable": host is not None and host.is_simulator,
        "ticket_url": reverse("compute:vm_console_ticket", args=[vm.uuid]),
        "serial_url": reverse("compute:vm_console_serial", args=[vm.uuid]),
        "ws_path": console_ws_path(),
    })


@require_POST
@json_door
def vm_console_ticket(request: HttpRequest, vm_id: str) -> JsonResponse:
    """A single-use ticket for the next console connection, and the WebSocket path to use it on."""
    vm = _console_vm(request, vm_id)
    token, expires = console_token_create(caller=request.user, vm=vm)
    return JsonResponse({"token": token, "expires": expires.isoformat(),
                         "websocket": console_ws_path()})


@require_POST
@json_door
def vm_console_serial(request: HttpRequest, vm_id: str) -> JsonResponse:
    """Ask the VM's host for the end of its serial console; the answer names the job to poll."""
    vm = _console_vm(request, vm_id)
    job = console_serial_request(caller=request.user, vm=vm)
    return JsonResponse({"jobid": str(job.uuid),
                         "result": reverse("compute:vm_console_serial_result", args=[vm.uuid, job.uuid])},
                        status=202)


@require_safe
@json_door
def vm_console_serial_result(request: HttpRequest, vm_id: str, job_id: str) -> JsonResponse:
    """Where a serial read stands: pending, or its text, or why it failed."""
    vm = _console_vm(request, vm_id)
    job = console_serial_result(caller=request.user, vm=vm, job_id=job_id)
    result = job.result if isinstance(job.result, dict) else {}
    if job.status == AsyncJob.Status.PENDING:
        return JsonResponse({"status": "pending"})
    if job.status == AsyncJob.Status.SUCCEEDED:
        return JsonResponse({"status": "succeeded", "text": result.get("text", "")})
    return JsonResponse({"status": "failed",
                         "error": result.get("errortext") or _("Reading the serial console failed.")})
