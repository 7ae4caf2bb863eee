"""Google's installed-app sign-in against a fake Google: the consent URL, the loopback redirect a
browser makes (driven by `open_browser`), PKCE checked by a fake token endpoint the way Google
checks it, refresh, and the readable failures (declined, state mismatch, timeout, invalid_grant).
Nothing secret reaches a reason, a repr or a log line."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import httpx
import pytest
from aiohttp import web

from studio.connectors.google_oauth import (
    YOUTUBE_FORCE_SSL,
    OAuthError,
    Token,
    authorization_url,
    code_challenge,
    exchange_code,
    refresh,
    run_loopback_flow,
)

CLIENT_ID = "1234567890-abcdef.apps.googleusercontent.com"
SECRET = "GOCSPX-fake-client-secret-0123"
CODE = "4/0AeanS0fake-authorization-code"
ACCESS = "ya29.a0AfB_fake-access-token"
REFRESH = "1//0gFake-refresh-token"


class FakeGoogle:
    """Google's consent page is the test's `open_browser`; this is its token endpoint."""

    def __init__(self) -> None:
        self.challenges: dict[str, str] = {}  # code -> the code_challenge it was issued for
        self.redirect_uris: dict[str, str] = {}
        self.forms: list[dict] = []
        self.script: list[tuple[dict, int]] = []

    def issue(self, challenge: str, redirect_uri: str) -> str:
        self.challenges[CODE] = challenge
        self.redirect_uris[CODE] = redirect_uri
        return CODE

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.forms.append(form)
        if self.script:
            body, status = self.script.pop(0)
            return web.json_response(body, status=status)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != SECRET:
            return web.json_response({"error": "invalid_client", "error_description": "Unauthorized"}, status=401)
        if form.get("grant_type") == "authorization_code":
            code = form.get("code", "")
            if (code not in self.challenges or code_challenge(form.get("code_verifier", "")) != self.challenges[code]
                    or form.get("redirect_uri") != self.redirect_uris[code]):
                return web.json_response({"error": "invalid_grant", "error_description": "Bad Request"}, status=400)
            del self.challenges[code]  # a code works once
            return web.json_response({"access_token": ACCESS, "expires_in": 3599, "refresh_token": REFRESH,
                                      "scope": YOUTUBE_FORCE_SSL, "token_type": "Bearer"})
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") == REFRESH:
            return web.json_response({"access_token": ACCESS + "-2", "expires_in": 3599,
                                      "scope": YOUTUBE_FORCE_SSL, "token_type": "Bearer"})
        return web.json_response({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                                 status=400)


@pytest.fixture
async def google(aiohttp_server):
    fake = FakeGoogle()
    app = web.Application()
    app.router.add_post("/token", fake.token)
    server = await aiohttp_server(app)
    fake.token_url = f"http://127.0.0.1:{server.port}/token"
    fake.auth_url = f"http://127.0.0.1:{server.port}/o/oauth2/v2/auth"
    return fake


@dataclass
class Page:
    status_code: int
    text: str


class Browser:
    """Opens the consent URL like a person who clicks "Allow" (or not): Google then sends the browser
    to the loopback address with the answer in the query."""

    def __init__(self, google: FakeGoogle, *, answer: str = "allow", favicon: bool = False) -> None:
        self.google = google
        self.answer = answer
        self.favicon = favicon
        self.url: str | None = None
        self.page: Page | None = None

    async def __call__(self, url: str) -> None:
        self.url = url
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        redirect_uri, state = query["redirect_uri"], query["state"]
        if self.answer == "allow":
            answer = {"code": self.google.issue(query["code_challenge"], redirect_uri), "state": state,
                      "scope": query["scope"]}
        elif self.answer == "deny":
            answer = {"error": "access_denied", "state": state}
        else:  # a redirect forged by another page
            answer = {"code": "4/forged", "state": "not-the-state"}
        # aiohttp's client logs nothing itself: the log check below sees only what the studio logs
        async with aiohttp.ClientSession() as session:
            if self.favicon:
                async with session.get(redirect_uri + "favicon.ico") as resp:
                    assert resp.status == 404
            async with session.get(redirect_uri, params=answer) as resp:
                self.page = Page(resp.status, await resp.text())


async def test_the_loopback_flow_signs_in_with_pkce(google, caplog):
    caplog.set_level(logging.DEBUG)
    browser = Browser(google, favicon=True)
    before = datetime.now(UTC)
    token = await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], open_browser=browser, timeout_s=10,
                                    auth_url=google.auth_url, token_url=google.token_url)
    assert (token.access_token, token.refresh_token, token.scope) == (ACCESS, REFRESH, YOUTUBE_FORCE_SSL)
    assert before + timedelta(seconds=3590) < token.expires_at < datetime.now(UTC) + timedelta(seconds=3600)
    assert token.has_scope(YOUTUBE_FORCE_SSL) and not token.expired()

    sent = urlsplit(browser.url)
    query = {k: v[0] for k, v in parse_qs(sent.query).items()}
    assert f"{sent.scheme}://{sent.netloc}{sent.path}" == google.auth_url
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["scope"] == YOUTUBE_FORCE_SSL
    assert query["redirect_uri"].startswith("http://127.0.0.1:") and len(query["state"]) >= 32
    assert SECRET not in browser.url

    (form,) = google.forms
    assert form["grant_type"] == "authorization_code" and form["redirect_uri"] == query["redirect_uri"]
    assert 43 <= len(form["code_verifier"]) <= 128
    assert browser.page.status_code == 200 and "close this tab" in browser.page.text

    with pytest.raises(httpx.ConnectError):  # the loopback server is gone
        async with httpx.AsyncClient() as client:
            await client.get(query["redirect_uri"])
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert all(secret not in logged for secret in (SECRET, CODE, quote(CODE, safe=""), ACCESS, REFRESH))


async def test_a_plain_function_may_open_the_browser(google):
    browser = Browser(google)
    tasks = []
    token = await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], timeout_s=10,
                                    open_browser=lambda url: tasks.append(asyncio.ensure_future(browser(url))),
                                    auth_url=google.auth_url, token_url=google.token_url)
    await asyncio.gather(*tasks)
    assert token.access_token == ACCESS


async def test_declining_in_the_browser(google):
    browser = Browser(google, answer="deny")
    with pytest.raises(OAuthError) as caught:
        await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], open_browser=browser, timeout_s=10,
                                auth_url=google.auth_url, token_url=google.token_url)
    error = caught.value
    assert error.error == "access_denied" and error.sign_in_again and "declined" in error.reason
    assert browser.page.status_code == 200 and google.forms == []


async def test_a_redirect_with_another_state_is_refused(google):
    browser = Browser(google, answer="forged")
    with pytest.raises(OAuthError) as caught:
        await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], open_browser=browser, timeout_s=10,
                                auth_url=google.auth_url, token_url=google.token_url)
    assert caught.value.error == "state_mismatch" and "state mismatch" in caught.value.reason
    assert browser.page.status_code == 400 and google.forms == []  # the forged code was never traded


async def test_no_answer_times_out(google):
    with pytest.raises(OAuthError) as caught:
        await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], open_browser=lambda url: None,
                                timeout_s=0.2, auth_url=google.auth_url, token_url=google.token_url)
    assert caught.value.error == "timeout" and "within 0.2 s" in caught.value.reason

    def broken(url: str) -> None:
        raise OSError("no display")
    with pytest.raises(OAuthError) as caught:
        await run_loopback_flow(CLIENT_ID, SECRET, [YOUTUBE_FORCE_SSL], open_browser=broken, timeout_s=5,
                                auth_url=google.auth_url, token_url=google.token_url)
    assert caught.value.error == "browser"


async def test_refresh_keeps_the_refresh_token(google):
    old = Token(ACCESS, REFRESH, datetime.now(UTC) - timedelta(minutes=1), YOUTUBE_FORCE_SSL)
    assert old.expired()
    fresh = await refresh(old, CLIENT_ID, SECRET, token_url=google.token_url)
    assert fresh.access_token == ACCESS + "-2" and fresh.refresh_token == REFRESH and not fresh.expired()
    assert google.forms[-1] == {"grant_type": "refresh_token", "refresh_token": REFRESH, "client_id": CLIENT_ID,
                                "client_secret": SECRET}


async def test_a_revoked_sign_in_says_sign_in_again(google):
    revoked = Token(ACCESS, "1//0gRevoked", datetime.now(UTC), YOUTUBE_FORCE_SSL)
    with pytest.raises(OAuthError) as caught:
        await refresh(revoked, CLIENT_ID, SECRET, token_url=google.token_url)
    error = caught.value
    assert error.error == "invalid_grant" and error.sign_in_again and error.fatal
    assert error.reason == "the Google sign-in has expired or was revoked: sign in again"

    with pytest.raises(OAuthError) as caught:
        await refresh(Token(ACCESS, None, datetime.now(UTC), ""), CLIENT_ID, SECRET, token_url=google.token_url)
    assert caught.value.sign_in_again

    with pytest.raises(OAuthError) as caught:
        await refresh(Token(ACCESS, REFRESH, datetime.now(UTC), ""), CLIENT_ID, "wrong", token_url=google.token_url)
    assert caught.value.error == "invalid_client" and "client id and secret" in caught.value.reason

    google.script = [({"error": "internal_failure"}, 503)]
    with pytest.raises(OAuthError) as caught:
        await refresh(Token(ACCESS, REFRESH, datetime.now(UTC), ""), CLIENT_ID, SECRET, token_url=google.token_url)
    assert not caught.value.fatal and caught.value.status == 503

    with pytest.raises(OAuthError) as caught:
        await refresh(Token(ACCESS, REFRESH, datetime.now(UTC), ""), CLIENT_ID, SECRET,
                      token_url="http://127.0.0.1:9/token")
    assert not caught.value.fatal and "cannot reach" in caught.value.reason


async def test_exchange_errors_hide_what_google_echoes(google):
    google.script = [({"error": "invalid_grant", "error_description": f"code {CODE} for {SECRET} is bad"}, 400)]
    with pytest.raises(OAuthError) as caught:
        await exchange_code(CODE, CLIENT_ID, SECRET, redirect_uri="http://127.0.0.1:1/", code_verifier="v" * 43,
                            token_url=google.token_url)
    assert caught.value.sign_in_again and CODE not in str(caught.value) and SECRET not in str(caught.value)


def test_pkce_challenge_and_consent_url():
    verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert code_challenge(verifier) == challenge  # RFC 7636 appendix B
    url = authorization_url(CLIENT_ID, "http://127.0.0.1:5000/", ["a", "b"], state="s", code_challenge="c")
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["a b"]


def test_the_token_round_trips_through_json_and_hides_its_secrets():
    token = Token(ACCESS, REFRESH, datetime(2026, 12, 4, 12, 0, tzinfo=UTC), YOUTUBE_FORCE_SSL)
    assert Token.from_json(token.to_json()) == token
    assert ACCESS not in repr(token) and REFRESH not in repr(token)
    assert token.expired(now=datetime(2026, 12, 4, 11, 59, 30, tzinfo=UTC))  # within the minute's margin
    assert not token.expired(now=datetime(2026, 12, 4, 11, 58, tzinfo=UTC))
    with pytest.raises(OAuthError) as caught:
        Token.from_json("{not json")
    assert caught.value.sign_in_again
