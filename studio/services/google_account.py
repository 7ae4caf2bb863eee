"""A Google sign-in the studio keeps for one purpose (replying to YouTube comments, reading the
channel's analytics): the user's own OAuth client of type "Desktop app", the loopback flow with
PKCE (studio.connectors.google_oauth), and the token kept in the OS keyring and renewed before it
expires. Each purpose has its own secret names and scopes, so signing out of one leaves the other.

`GoogleAccount(secrets_provider, settings, client_secret=..., token_secret=..., scopes=[...], clock=...)`:
- `set_client(client_id, client_secret)`, `has_client`, `signed_in`, `sign_out()`;
- `async access_token() -> str | None` (None when not signed in; renewed when about to expire);
- `async authorize(open_browser) -> None` (runs the sign-in and stores the token);
- `secret_values()`: every stored value and OAuth part, for masking them out of error texts.
Problems raise `GoogleAccountError(reason)`: the reason says what to do and never holds a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from studio.connectors import google_oauth

TOKEN_REFRESH_MARGIN_S = 120  # refresh an access token this long before Google says it expires


class GoogleAccountError(ValueError):
    def __init__(self, reason: str, *, sign_in_again: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sign_in_again = sign_in_again


class GoogleAccount:
    def __init__(self, secrets: Callable[[], Any], settings: Any, *, client_secret: str, token_secret: str,
                 scopes: list[str], clock: Callable[[], datetime]) -> None:
        self._secrets = secrets  # a provider: the keyring is opened on first use
        self.settings = settings
        self.client_secret = client_secret
        self.token_secret = token_secret
        self.scopes = list(scopes)
        self.clock = clock

    def _get(self, key: str) -> str | None:
        try:
            return self._secrets().get(key)
        except Exception:  # a locked keyring reads as "not set"
            return None

    @property
    def has_client(self) -> bool:
        return bool(self._get(self.client_secret))

    @property
    def signed_in(self) -> bool:
        return bool(self._get(self.token_secret))

    def set_client(self, client_id: str, client_secret: str) -> None:
        client_id, client_secret = (client_id or "").strip(), (client_secret or "").strip()
        if not client_id.endswith(".apps.googleusercontent.com"):
            raise GoogleAccountError("the client id ends with .apps.googleusercontent.com (Google Cloud console > "
                                     "Credentials > OAuth client ID of type Desktop app)")
        if not client_secret:
            raise GoogleAccountError("the client secret is empty")
        self._secrets().set(self.client_secret, json.dumps({"client_id": client_id, "client_secret": client_secret}))

    def sign_out(self) -> None:
        self._secrets().delete(self.token_secret)

    def client(self) -> tuple[str, str]:
        raw = self._get(self.client_secret)
        try:
            data = json.loads(raw) if raw else {}
            return str(data["client_id"]), str(data["client_secret"])
        except (ValueError, KeyError, TypeError):
            raise GoogleAccountError("add the OAuth client (client id and secret of a 'Desktop app' client) "
                                     "first") from None

    async def access_token(self) -> str | None:
        raw = self._get(self.token_secret)
        if not raw:
            return None
        token = google_oauth.Token.from_json(raw)
        if token.expires_at - timedelta(seconds=TOKEN_REFRESH_MARGIN_S) > self.clock():
            return token.access_token
        client_id, client_secret = self.client()
        try:
            fresh = await google_oauth.refresh(token, client_id, client_secret, token_url=self.settings.google_token_url)
        except google_oauth.OAuthError as exc:
            raise GoogleAccountError(f"Google refused to renew the sign-in ({self.mask(exc.reason)}): sign in again",
                                     sign_in_again=True) from None
        self._secrets().set(self.token_secret, fresh.to_json())
        return fresh.access_token

    async def authorize(self, open_browser: Callable[[str], Any]) -> None:
        client_id, client_secret = self.client()
        try:
            token = await google_oauth.run_loopback_flow(
                client_id, client_secret, self.scopes, open_browser=open_browser,
                auth_url=self.settings.google_auth_url, token_url=self.settings.google_token_url)
        except google_oauth.OAuthError as exc:
            raise GoogleAccountError(f"Google sign-in did not finish: {self.mask(exc.reason)}") from None
        self._secrets().set(self.token_secret, token.to_json())

    def secret_values(self) -> list[str]:
        values: list[str] = []
        for key in (self.client_secret, self.token_secret):
            value = self._get(key)
            if not value:
                continue
            values.append(value)
            if value.startswith("{"):
                try:
                    values += [str(v) for v in json.loads(value).values() if isinstance(v, str) and len(v) >= 8]
                except ValueError:
                    pass
        return values

    def mask(self, text: str | None) -> str | None:
        if not text:
            return text
        for value in self.secret_values():
            text = text.replace(value, "••••")
        return text
