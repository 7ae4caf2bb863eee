"""WebSocket `/ws` (seed 000 "WebSocket Events").

The client connects, sends `{"type": "auth", "token": "<api key or session token>"}` within
10 s, gets `{"event": "authenticated", ...}`, then receives every bus event as
`{"event": name, "data": {...}}`. It may narrow them with `{"type": "subscribe", "events": [...]}`.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSMsgType, web

from studio.server.keys import SERVICES, IDENTITY
from studio.server.middleware import authenticate
from studio.server.routing import RouteTable

log = logging.getLogger(__name__)
routes = RouteTable()
AUTH_TIMEOUT_S = 10.0


@routes.get("/ws", summary="WebSocket event stream (send an auth message first)", tags=["events"], public=True,
            media={}, responses={101: "Switching Protocols: the event stream follows",
                                 400: "Not a WebSocket upgrade request"})
async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    try:
        message = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except asyncio.TimeoutError:
        await _close_with_error(ws, "UNAUTHORIZED", f"send {{\"type\": \"auth\", \"token\": ...}} within {AUTH_TIMEOUT_S:.0f} s")
        return ws
    identity = None
    if message.type == WSMsgType.TEXT:
        try:
            payload = json.loads(message.data)
        except (ValueError, RecursionError):
            payload = {}
        token = payload.get("token") if isinstance(payload, dict) and payload.get("type") == "auth" else None
        if isinstance(token, str) and token:
            identity = await authenticate(request, token)
    if identity is None:
        await _close_with_error(ws, "UNAUTHORIZED", "the first message must be {\"type\": \"auth\", \"token\": \"<API key or session token>\"} with a valid token")
        return ws
    request[IDENTITY] = identity

    queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
    wanted: set[str] | None = None

    def forward(event: str, data: dict) -> None:
        if wanted is None or event in wanted:
            try:
                queue.put_nowait({"event": event, "data": data})
            except asyncio.QueueFull:
                pass  # a stalled client loses events rather than stalling the studio

    unsubscribe = request.app[SERVICES].events.subscribe(forward)
    await ws.send_json({"event": "authenticated", "data": {"subject": identity.subject, "role": identity.role}})

    async def pump() -> None:
        while True:
            await ws.send_json(await queue.get())

    sender = asyncio.ensure_future(pump())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                payload = json.loads(msg.data)
            except (ValueError, RecursionError):
                await ws.send_json({"event": "error", "data": {"message": "messages must be JSON"}})
                continue
            if isinstance(payload, dict) and payload.get("type") == "subscribe":
                events = payload.get("events")
                wanted = set(events) if isinstance(events, list) and events else None
                await ws.send_json({"event": "subscribed", "data": {"events": sorted(wanted) if wanted else "all"}})
            elif isinstance(payload, dict) and payload.get("type") == "ping":
                await ws.send_json({"event": "pong", "data": {}})
    finally:
        unsubscribe()
        sender.cancel()
    return ws


async def _close_with_error(ws: web.WebSocketResponse, code: str, message: str) -> None:
    await ws.send_json({"event": "error", "data": {"code": code, "message": message}})
    await ws.close(code=4401, message=b"unauthorized")
