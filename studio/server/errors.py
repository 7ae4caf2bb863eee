"""API errors and the two documented response families.

- `/api/v1/...` (seeds 001, 003, 004) and seed 002's paths (`/api/characters/...`,
  `/api/voice/generate`, `/api/voice/list`): `{success, data, message, timestamp, request_id}`,
  errors `{success: false, error: {code, message, details}, timestamp, request_id}`.
- everything else under `/api/...` (seed 000): `{"status": "success", ...}`, errors
  `{"status": "error", "error": {code, message, details, timestamp, request_id}}`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from studio.server.keys import REQUEST_ID
from studio.timeutil import now_iso

# HTTP status -> seed 000 error code.
DEFAULT_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "SERVICE_UNAVAILABLE",
    503: "MAINTENANCE_MODE",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: Any = None, headers: dict[str, str] | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "ERROR")
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.extra = extra or {}  # fields placed inside `error` beside code/message (e.g. retry_after)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} '{ident}' was not found", details={"resource": what, "id": ident})


def insufficient_credits(exc: Exception) -> ApiError:
    """402 for the music service's InsufficientCredits (`needed`, `balance`), seed 001's error 1001."""
    return ApiError(402, str(exc), code="INSUFFICIENT_CREDITS",
                    details={"error_code": 1001, "credits_needed": exc.needed, "credits_available": exc.balance})


ENVELOPE_PREFIXES = ("/api/v1/", "/api/characters/")
ENVELOPE_PATHS = frozenset({"/api/v1", "/api/characters", "/api/voice/generate", "/api/voice/list"})


def uses_envelope(path: str) -> bool:
    """Whether `path` answers in the `{success, data, ...}` envelope (else seed 000's shape)."""
    return path in ENVELOPE_PATHS or path.startswith(ENVELOPE_PREFIXES)


def error_body(path: str, err: ApiError, request_id: str) -> dict[str, Any]:
    timestamp = now_iso()
    inner: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.details is not None:
        inner["details"] = err.details
    inner.update(err.extra)
    if uses_envelope(path):
        return {"success": False, "error": inner, "timestamp": timestamp, "request_id": request_id}
    inner.update({"timestamp": timestamp, "request_id": request_id})
    return {"status": "error", "error": inner}


def ok(payload: dict[str, Any] | None = None, *, status: str = "success", http_status: int = 200) -> web.Response:
    """A seed-000 style success: `{"status": "success", ...payload}`."""
    return web.json_response({"status": status, **(payload or {})}, status=http_status, dumps=_dumps)


def envelope(request: web.Request, data: Any, message: str = "OK", *, http_status: int = 200) -> web.Response:
    """A seed-001 style success envelope."""
    body = {"success": True, "data": data, "message": message, "timestamp": now_iso(),
            "request_id": request.get(REQUEST_ID, "")}
    return web.json_response(body, status=http_status, dumps=_dumps)


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=str, ensure_ascii=False)
