"""Google sign-in for a desktop app: OAuth 2.0 for installed applications with a loopback redirect
and PKCE (S256), the flow Google documents for "Desktop app" OAuth clients.

1. `authorization_url` sends the browser to `{auth_url}?client_id&redirect_uri=http://127.0.0.1:<port>/
   &response_type=code&scope&state&code_challenge&code_challenge_method=S256&access_type=offline
   &prompt=consent` (offline + consent: Google sends a refresh token every time, not only the first).
2. Google redirects the browser to the loopback address with `?code=…&state=…`, or `?error=access_denied
   &state=…` when the person declines. `run_loopback_flow` listens on 127.0.0.1 with a port the system
   picks, checks `state` (a redirect that did not come from this request is refused) and answers the
   browser with a short page.
3. `exchange_code`: `POST {token_url}` form `code, client_id, client_secret, redirect_uri,
   grant_type=authorization_code, code_verifier` -> `{"access_token", "expires_in": 3599,
   "refresh_token", "scope", "token_type": "Bearer", "id_token"?}`.
4. `refresh`: `POST {token_url}` form `grant_type=refresh_token, refresh_token, client_id,
   client_secret` -> the same without `refresh_token` (the old one stays valid).
   Errors: HTTP 400/401 `{"error": "invalid_grant" | "invalid_client" | ..., "error_description"}`;
   `invalid_grant` on refresh means the sign-in was revoked or expired (refresh tokens of an app left
   in "Testing" publishing status expire after 7 days): the person signs in again.

A desktop client's secret is not confidential in Google's model (it ships with the app), but it is
still kept out of every reason and log line, as are the tokens and the authorization code (the
loopback server keeps no access log: the code travels in its request line).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from aiohttp import web

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, SourceError
from studio.timeutil import utcnow

SOURCE = "google"
AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
YOUTUBE_FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
YOUTUBE_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
YT_ANALYTICS_READONLY = "https://www.googleapis.com/auth/yt-analytics.readonly"
YT_ANALYTICS_MONETARY = "https://www.googleapis.com/auth/yt-analytics-monetary.readonly"
LOOPBACK_HOST = "127.0.0.1"
FLOW_TIMEOUT_S = 300.0
DEFAULT_EXPIRES_IN_S = 3600.0  # when a token answer leaves expires_in out
EXPIRY_MARGIN_S = 60.0  # refresh this long before Google's expiry, so no call races it

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Studio</title></head>
<body style="font-family: sans-serif; margin: 3em"><h2>{title}</h2><p>{text}</p></body></html>"""

_TOKEN_ERRORS = {
    "invalid_client": "Google does not know this OAuth client (check the client id and secret of the "
                      "'Desktop app' client you created)",
    "unauthorized_client": "this OAuth client may not use this sign-in (create a client of type 'Desktop app')",
    "invalid_request": "Google refused the sign-in request as malformed",
    "unsupported_grant_type": "Google refused the sign-in request as malformed",
    "invalid_scope": "Google refused the requested permissions (enable the YouTube Data API v3 for the project)",
    "redirect_uri_mismatch": "Google refused the loopback address (create a client of type 'Desktop app')",
}


class OAuthError(SourceError):
    """The sign-in failed. `reason` says why in words a person can act on; `error` is the OAuth
    error code (`access_denied`, `invalid_grant`, ... or `state_mismatch`, `timeout`,
    `no_refresh_token`, `browser`); `sign_in_again` when only a new sign-in can help."""

    def __init__(self, reason: str, *, error: str, sign_in_again: bool = False, fatal: bool = True,
                 status: int | None = None) -> None:
        super().__init__(SOURCE, reason, fatal=fatal, status=status)
        self.error = error
        self.sign_in_again = sign_in_again


@dataclass
class Token:
    """A Google sign-in: the access token (about an hour), the refresh token that gets new ones,
    when the access token expires (aware UTC) and the scopes granted (space-separated)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scope: str

    def expired(self, *, now: datetime | None = None, margin_s: float = EXPIRY_MARGIN_S) -> bool:
        """Whether the access token is (about to be) too old to use."""
        return (now or utcnow()) >= self.expires_at - timedelta(seconds=margin_s)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope.split()

    def to_json(self) -> str:
        """The token as JSON text, for the OS keyring (never for a log or an API answer)."""
        return json.dumps({"access_token": self.access_token, "refresh_token": self.refresh_token,
                           "expires_at": self.expires_at.isoformat(), "scope": self.scope})

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> Token:
        try:
            data = json.loads(text) if isinstance(text, (str, bytes)) else text
            expires_at = datetime.fromisoformat(data["expires_at"])
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            return cls(access_token=str(data["access_token"]), refresh_token=data.get("refresh_token") or None,
                       expires_at=expires_at, scope=str(data.get("scope") or ""))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise OAuthError("the stored Google sign-in is unreadable: sign in again", error="unreadable",
                             sign_in_again=True) from None


def new_code_verifier() -> str:
    """A PKCE code verifier: 86 characters of [A-Za-z0-9_-] (RFC 7636 allows 43 to 128)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of `verifier`: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(client_id: str, redirect_uri: str, scopes: Sequence[str], *, state: str,
                      code_challenge: str, auth_url: str = AUTH_URL) -> str:
    """The address of Google's consent page for this request."""
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": " ".join(scopes), "state": state, "code_challenge": code_challenge,
                       "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent"})
    return f"{auth_url}{'&' if '?' in auth_url else '?'}{query}"


async def exchange_code(code: str, client_id: str, client_secret: str, *, redirect_uri: str, code_verifier: str,
                        token_url: str = TOKEN_URL, timeout_s: float = TIMEOUT_S) -> Token:
    """The sign-in's tokens for the authorization code the browser brought back."""
    form = {"code": code, "client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri,
            "grant_type": "authorization_code", "code_verifier": code_verifier}
    body = await _post(token_url, form, timeout_s=timeout_s, refreshing=False, hide=(code, client_secret))
    return _token(body, previous_refresh_token=None, hide=(code, client_secret))


async def refresh(token: Token, client_id: str, client_secret: str, *, token_url: str = TOKEN_URL,
                  timeout_s: float = TIMEOUT_S) -> Token:
    """A new access token for `token` (the refresh token stays the same unless Google sends another)."""
    if not token.refresh_token:
        raise OAuthError("the stored Google sign-in has no refresh token: sign in again", error="no_refresh_token",
                         sign_in_again=True)
    form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token, "client_id": client_id,
            "client_secret": client_secret}
    hide = (token.refresh_token, token.access_token, client_secret)
    body = await _post(token_url, form, timeout_s=timeout_s, refreshing=True, hide=hide)
    fresh = _token(body, previous_refresh_token=token.refresh_token, hide=hide)
    if not fresh.scope:
        fresh.scope = token.scope
    return fresh


async def run_loopback_flow(client_id: str, client_secret: str, scopes: Sequence[str], *,
                            open_browser: Callable[[str], Any], timeout_s: float = FLOW_TIMEOUT_S,
                            auth_url: str = AUTH_URL, token_url: str = TOKEN_URL) -> Token:
    """The whole sign-in: listen on 127.0.0.1 (a free port), open the consent page with
    `open_browser(url)` (a plain function or a coroutine function), wait up to `timeout_s` for
    Google's redirect, then trade the code for tokens."""
    verifier = new_code_verifier()
    state = secrets.token_urlsafe(24)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def redirect(request: web.Request) -> web.Response:
        query = request.query
        if not {"code", "error", "state"}.intersection(query):
            return web.Response(status=404, text="not found")  # the browser's /favicon.ico and the like
        if answer.done():
            return _page("Already handled", "This sign-in is over. You can close this tab.", status=409)
        if not secrets.compare_digest(query.get("state", "").encode(), state.encode()):
            answer.set_exception(OAuthError("the answer from the browser did not belong to this sign-in "
                                            "(state mismatch): start the sign-in again", error="state_mismatch"))
            return _page("Sign-in refused", "This answer does not belong to the studio's sign-in request. "
                                            "Start the sign-in again from the studio.", status=400)
        if "error" in query:
            error = query["error"][:100]
            if error == "access_denied":
                reason = "access was declined in the browser: sign in again and allow it"
            else:
                reason = f"Google refused the sign-in ({error}): sign in again"
            answer.set_exception(OAuthError(reason, error=error, sign_in_again=True))
            return _page("Not signed in", "The studio did not get access. You can close this tab.")
        code = query.get("code", "")
        if not code:
            answer.set_exception(OAuthError("Google's answer carried no authorization code: sign in again",
                                            error="no_code", sign_in_again=True))
            return _page("Not signed in", "Google's answer was incomplete. You can close this tab.", status=400)
        answer.set_result(code)
        return _page("Signed in", "The studio has what it needs. You can close this tab and return to the studio.")

    app = web.Application()
    app.router.add_get("/", redirect)
    app.router.add_get("/{tail:.*}", redirect)
    runner = web.AppRunner(app, access_log=None)  # the request line carries the authorization code
    await runner.setup()
    try:
        site = web.TCPSite(runner, LOOPBACK_HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        redirect_uri = f"http://{LOOPBACK_HOST}:{port}/"
        url = authorization_url(client_id, redirect_uri, scopes, state=state,
                                code_challenge=code_challenge(verifier), auth_url=auth_url)
        try:
            opened = open_browser(url)
            if inspect.isawaitable(opened):
                await opened
        except Exception as exc:  # noqa: BLE001 - whatever the browser launcher raises, say so plainly
            raise OAuthError(f"could not open a web browser ({type(exc).__name__})", error="browser",
                             fatal=False) from None
        try:
            code = await asyncio.wait_for(answer, timeout_s)
        except TimeoutError:
            raise OAuthError(f"no answer from the browser within {timeout_s:g} s: sign in again",
                             error="timeout", sign_in_again=True, fatal=False) from None
    finally:
        if not answer.done():
            answer.cancel()
        elif not answer.cancelled():
            answer.exception()  # read, so an answer nobody waited for is not reported as lost
        await runner.cleanup()
    return await exchange_code(code, client_id, client_secret, redirect_uri=redirect_uri, code_verifier=verifier,
                               token_url=token_url)


def _page(title: str, text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=_PAGE.format(title=title, text=text), status=status, content_type="text/html")


async def _post(token_url: str, form: dict, *, timeout_s: float, refreshing: bool, hide: tuple) -> dict:
    host = urlsplit(token_url).netloc or token_url
    try:
        async with httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT,
                                                                 "Accept": "application/json"}) as client:
            resp = await client.post(token_url, data=form)
    except httpx.TimeoutException:
        raise OAuthError(f"{host} did not answer within {timeout_s:g} s", error="timeout", fatal=False) from None
    except httpx.HTTPError as exc:
        raise OAuthError(f"cannot reach {host} ({type(exc).__name__})", error="network", fatal=False) from None
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    status = resp.status_code
    if status < 400 and isinstance(body, dict):
        return body
    if status >= 500 or status == 429:
        raise OAuthError(f"{host} had a server error (HTTP {status}): try again later", error="server",
                         fatal=False, status=status)
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    description = _hidden(str(body.get("error_description") or ""), hide)[:200] if isinstance(body, dict) else ""
    said = f" ({description})" if description else ""
    if error == "invalid_grant":
        if refreshing:
            raise OAuthError("the Google sign-in has expired or was revoked: sign in again", error=error,
                             sign_in_again=True, status=status)
        raise OAuthError(f"Google refused the authorization code{said}: sign in again", error=error,
                         sign_in_again=True, status=status)
    reason = _TOKEN_ERRORS.get(error) or f"Google refused the sign-in (HTTP {status}{', ' + error if error else ''})"
    raise OAuthError(reason + said, error=error or f"http_{status}", status=status)


def _token(body: dict, *, previous_refresh_token: str | None, hide: tuple) -> Token:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("Google's token answer carried no access token", error="no_access_token", fatal=False)
    expires_in = number(body.get("expires_in"))
    lifetime_s = expires_in if expires_in is not None and expires_in > 0 else DEFAULT_EXPIRES_IN_S
    refresh_token = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None
    return Token(access_token=access, refresh_token=refresh_token or previous_refresh_token,
                 expires_at=utcnow() + timedelta(seconds=lifetime_s), scope=str(body.get("scope") or ""))


def _hidden(text: str, secrets_: tuple) -> str:
    for secret in secrets_:
        if secret:
            text = text.replace(secret, "***")
    return text
