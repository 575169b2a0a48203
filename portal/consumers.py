"""WebSocket consumers. /ws/jobs/ pushes job and VM changes to the signed-in user's browser.

A door like the views: it authenticates (the session, through AuthMiddlewareStack in portal.asgi), asks
portal.live which groups the user may follow (the same decision as listing jobs, portal.authz) and
forwards what arrives on them. Browsers only listen; anything they send is ignored.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from portal import live, relay
from portal.errors import NotAuthenticated, PermissionDenied

# Close codes in the application range (4000-4999), mirroring HTTP 401 and 403.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class LiveConsumer(AsyncJsonWebsocketConsumer):
    # Declared like the UI views' (portal.ui.access): the action portal.live.viewer_groups authorizes.
    authz_action = live.WATCH_ACTION

    async def connect(self) -> None:
        self.live_groups: list[str] = []
        self.relay: relay.Relay | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)  # before accept(): the handshake is refused
            return
        try:
            groups = await database_sync_to_async(live.viewer_groups)(user)
        except NotAuthenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        except PermissionDenied:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.live_groups = groups
        await self.accept()
        if live.relay_mode():
            self.relay = relay.watch(self.channel_layer)
        # After joining: a change between the snapshot's read and now arrives as a message too.
        jobs = await database_sync_to_async(live.snapshot)(user)
        await self.send_json({"type": "snapshot", "jobs": jobs})

    async def disconnect(self, code: int) -> None:
        for group in self.live_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.live_groups = []
        if self.relay is not None:
            relay.unwatch(self.relay)
            self.relay = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Nothing to receive: the socket only pushes (and must not fail on what a client sends)."""

    async def live_push(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
