"""CloudStack's createConsoleEndpoint (4.18+): a console URL for a VM, plus the WebSocket's parts for clients
that connect their own noVNC. Parsing and rendering only; compute.console_links mints the ticket.

As in CloudStack, a VM whose console cannot be opened (not running) is answered with success=false and the
reason in `details`, not with an error; a VM the caller may not open is an error (531) like any other.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from compute.console_links import console_endpoint
from compute.selectors import vm_get
from portal.cloudstack.registry import Call, Command, Param, ParamType, register
from portal.errors import InvalidState

ENDPOINT_FIELDS = ("success", "details", "url", "websocket")


def create_console_endpoint(call: Call) -> dict[str, Any]:
    vm = vm_get(caller=call.caller, vm_id=call.get("virtualmachineid"))
    try:
        endpoint = console_endpoint(call.request, caller=call.caller, vm=vm)
    except InvalidState as exc:
        return {"consoleendpoint": {"success": False, "details": str(exc)}}
    websocket = {**endpoint["websocket"], "extra": call.get("token") or ""}
    return {"consoleendpoint": {"success": True, "url": endpoint["url"], "websocket": websocket}}


register(Command(
    name="createConsoleEndpoint",
    description=gettext_lazy("Creates a console endpoint for a VM: a URL that opens its console in a browser "
                             "logged in as the caller, usable once within a minute."),
    action="vm.console",
    handler=create_console_endpoint,
    response_object="consoleendpoint",
    response_fields=ENDPOINT_FIELDS,
    since="4.18.0",
    params=(
        Param("virtualmachineid", ParamType.UUID, required=True,
              description=gettext_lazy("ID of the VM.")),
        Param("token", description=gettext_lazy(
            "Extra validation token (consoleproxy.extra.security.validation.enabled): echoed as websocket.extra.")),
    ),
))
