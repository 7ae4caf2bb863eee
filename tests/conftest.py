"""Shared fixtures: a studio Context on a temporary data dir, and an API client with a key."""

from __future__ import annotations

import asyncio

import pytest

from studio.app import build_services, shutdown
from studio.config import Settings
from tests.support.steps_job import steps_handler


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    return Settings(home=tmp_path / "home", port=0)


@pytest.fixture
def services(settings):
    """The services with the test job kind registered; jobs are not started (see `running_services`)."""
    built = build_services(settings)
    built.context.jobs.register(steps_handler())
    yield built
    shutdown(built)


@pytest.fixture
async def running_services(services):
    services.context.jobs.start(asyncio.get_running_loop())
    yield services
    services.context.jobs.stop()


@pytest.fixture
def aiohttp_client(aiohttp_client):
    """pytest-aiohttp's client factory, with the API contract checked on every response
    (tests/support/contract.py): a response its operation does not document fails the test."""
    from aiohttp import web

    from studio.server.keys import ROUTE_SPECS
    from tests.support.contract import REPORT, ContractChecker

    checker = ContractChecker()

    async def make(app, *args, **kwargs):
        if isinstance(app, web.Application) and ROUTE_SPECS in app:
            checker.attach(app)
        return await aiohttp_client(app, *args, **kwargs)

    yield make
    if checker.violations and not REPORT:
        pytest.fail("responses outside the documented API contract:\n" + "\n".join(dict.fromkeys(checker.violations)),
                    pytrace=False)


@pytest.fixture
async def api(running_services, aiohttp_client):
    """(client, api_key) for the full app: middlewares, routes, auth."""
    from studio.server.app import build_app

    key, _ = running_services.auth.create_key("tests", role="admin")
    client = await aiohttp_client(build_app(running_services))
    client.key = key
    client.auth_headers = {"Authorization": f"Bearer {key}"}
    return client
