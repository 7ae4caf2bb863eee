"""A fake platform for connector tests: an aiohttp app on 127.0.0.1 that serves recorded-shape
fixtures from tests/connectors/fixtures/ and records what the client asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def reply(name: str, *, status: int = 200, content_type: str = "application/json"):
    """A handler answering with a fixture file (HTTP 200 unless told: Deezer's errors come that way)."""
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=fixture_bytes(name), status=status, content_type=content_type)
    return handler


class FakeClock:
    """A monotonic clock and a sleep that only moves it, for pacing tests."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_s += seconds


@dataclass
class FakePlatform:
    base_url: str
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def fake_platform(aiohttp_server):
    async def start(routes: dict) -> FakePlatform:
        platform = FakePlatform(base_url="")

        @web.middleware
        async def record(request: web.Request, handler):
            platform.requests.append({"path": request.path, "query": dict(request.query),
                                      "user_agent": request.headers.get("User-Agent")})
            return await handler(request)

        app = web.Application(middlewares=[record])
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        server = await aiohttp_server(app)
        platform.base_url = str(server.make_url("")).rstrip("/")
        return platform
    return start
