"""WebSocket routes, served by portal.asgi behind the session authentication and the allowed-origins check
(consoles are added by a later capability)."""

from django.urls import path

from portal.consumers import LiveConsumer
from portal.live import WS_PATH

websocket_urlpatterns = [
    path(WS_PATH.lstrip("/"), LiveConsumer.as_asgi()),
]
