"""WebSocket routes (job updates and consoles are added by later capabilities)."""

websocket_urlpatterns: list = []
