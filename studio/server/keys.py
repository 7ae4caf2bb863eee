"""Typed keys for what the app and each request carry (aiohttp AppKey / RequestKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    pass

SERVICES = web.AppKey("services", "Services")
SETTINGS = web.AppKey("settings", "Settings")
RATE_LIMITER = web.AppKey("rate_limiter", "RateLimiter")
REQUEST_LOG = web.AppKey("request_log", "RequestLogRecorder")
ROUTE_SPECS = web.AppKey("route_specs", list)
OPENAPI_CACHE = web.AppKey("openapi_cache", dict)  # filled on first /openapi.json

REQUEST_ID = web.RequestKey("request_id", str)
IDENTITY = web.RequestKey("identity", "Identity")

__all__ = ["SERVICES", "SETTINGS", "RATE_LIMITER", "REQUEST_LOG", "ROUTE_SPECS", "OPENAPI_CACHE", "REQUEST_ID", "IDENTITY", "Any"]
