"""What the API doors (CloudStack's createConsoleEndpoint, REST) hand out for a console: the console page's URL
with a fresh ticket, and the WebSocket's parts for clients that bring their own noVNC.

Both need the logged-in browser session too (the consumer refuses a socket without one), so a URL leaked from
an API client's log is useless to anyone not logged in as its user, and it is single-use and short-lived.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

from accounts.models import User
from compute.models import VirtualMachine
from compute.services_console import console_token_create
from portal.routing import CONSOLE_WS_PATH


def console_ws_path() -> str:
    """The console consumer's path under the script prefix (the portal may be mounted below a path)."""
    return f"{get_script_prefix()}{CONSOLE_WS_PATH}"


def console_endpoint(request: HttpRequest, *, caller: User, vm: VirtualMachine) -> dict[str, Any]:
    """A fresh ticket for the caller, as the console page's URL and as the WebSocket's parts."""
    token, expires = console_token_create(caller=caller, vm=vm)
    page = reverse("compute:vm_console", args=[str(vm.uuid)])
    where = urlsplit(f"//{request.get_host()}")
    secure = request.is_secure()
    return {
        "url": request.build_absolute_uri(f"{page}?{urlencode({'token': token})}"),
        "expires": expires,
        "websocket": {
            "token": token,
            "host": where.hostname or "",
            "port": str(where.port or (443 if secure else 80)),
            "path": console_ws_path(),
            "extra": "",
            "scheme": "wss" if secure else "ws",
        },
    }
