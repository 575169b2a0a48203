"""WebSocket routes, served by portal.asgi behind the session authentication and the allowed-origins check:
live job updates, and the VM console proxy."""

from django.urls import path

from compute.consumers import ConsoleConsumer
from portal.consumers import LiveConsumer
from portal.live import WS_PATH

CONSOLE_WS_PATH = "ws/console/"

websocket_urlpatterns = [
    path(WS_PATH.lstrip("/"), LiveConsumer.as_asgi()),
    path(CONSOLE_WS_PATH, ConsoleConsumer.as_asgi()),
]
