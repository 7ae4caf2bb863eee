"""Login sessions (seed 000 "Autentifikacija") and API-key management."""

from __future__ import annotations

import asyncio
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import SERVICES
from studio.server.middleware import credential
from studio.server.routing import RouteTable
from studio.server.schemas.system import KeyCreatedOut, KeyListOut, KeyRevokedOut, LoginOut, MessageOut
from studio.services.system.auth import AuthError, TooManyAttempts

routes = RouteTable()


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@routes.post("/api/auth/login", summary="Log in; returns a session token", tags=["auth"], body=LoginIn, public=True,
              response=LoginOut, responses={401: "Wrong username or password",
                                            429: "Too many failed logins from this client (see Retry-After)"})
async def login(request: web.Request, body: LoginIn) -> web.Response:
    auth = request.app[SERVICES].auth
    try:
        token, expires_in = await asyncio.to_thread(auth.login, body.username, body.password,
                                                    client=request.remote or "unknown")
    except TooManyAttempts as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)},
                       extra={"retry_after": exc.retry_after_s}) from None
    except AuthError as exc:
        raise ApiError(401, str(exc)) from None
    response = ok({"message": "Login successful", "session_id": token, "expires_in": expires_in})
    response.set_cookie("session_id", token, max_age=expires_in, httponly=True, samesite="Strict")
    return response


@routes.post("/api/auth/logout", summary="End the current session", tags=["auth"], response=MessageOut)
async def logout(request: web.Request) -> web.Response:
    # the session is read where authentication read it (Bearer, X-API-Key, ?api_key=, cookie), so
    # the token that was accepted is the one that ends
    token = credential(request)
    ended = request.app[SERVICES].auth.logout(token) if token else False
    response = ok({"message": "Logged out" if ended else "No session to end"})
    response.del_cookie("session_id")
    return response


class KeyCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Literal["admin", "user"] = "user"


@routes.get("/api/auth/keys", summary="List API keys (never the secrets)", tags=["auth"], admin=True,
             response=KeyListOut)
async def list_keys(request: web.Request) -> web.Response:
    return ok({"keys": request.app[SERVICES].auth.list_keys()})


@routes.post("/api/auth/keys", summary="Create an API key; the key is shown once", tags=["auth"], body=KeyCreateIn, admin=True,
              response=KeyCreatedOut, responses={201: "Key created"})
async def create_key(request: web.Request, body: KeyCreateIn) -> web.Response:
    try:
        key, record = await asyncio.to_thread(request.app[SERVICES].auth.create_key, body.name, body.role)
    except ValueError as exc:  # the service's rules, e.g. a name of only spaces
        raise ApiError(422, f"Invalid parameter: {exc}", details={"parameter": "name"}) from None
    return ok({"api_key": key, "key": record, "message": "Store this key now: it is not shown again"}, http_status=201)


@routes.delete("/api/auth/keys/{key_id}", summary="Revoke an API key", tags=["auth"], admin=True,
                response=KeyRevokedOut, responses={404: "No API key with that id"})
async def revoke_key(request: web.Request) -> web.Response:
    key_id = request.match_info["key_id"]
    try:
        record = request.app[SERVICES].auth.revoke_key(key_id)
    except KeyError:
        raise not_found("API key", key_id) from None
    return ok({"key": record})
