"""Credentials: the admin login, login sessions and API keys.

No default password exists: the first start creates an admin password and an API key and hands
them back once (`bootstrap`). Passwords are stored as argon2 hashes; API keys (256
random bits) as keyed SHA-256 digests, checked on every request without a password hash's cost
(keys from older versions, argon2, are rewritten on their first use); session tokens as SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from studio.db import Database
from studio.db.models import ApiKey, LoginSession, User
from studio.timeutil import iso, utcnow

ADMIN_USERNAME = "admin"
KEY_PREFIX = "sk"
ROLES = ("admin", "user")
_hasher = PasswordHasher()  # passwords: argon2's default cost, they may be guessable
# Only to read API keys stored by versions before keyed digests (they are rewritten on first use).
_key_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class AuthError(Exception):
    """Wrong credentials; the message is safe to show."""


class TooManyAttempts(AuthError):
    """Logins from this client failed too often: wait `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Too many failed logins: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


LOGIN_FAILURES_ALLOWED = 5  # per client within LOGIN_WINDOW_S; then logins wait (guessing passwords takes years)
LOGIN_WINDOW_S = 300.0


@dataclass(frozen=True)
class Identity:
    kind: str  # "api_key" or "session"
    subject: str  # key id or username
    role: str

    @property
    def key_id(self) -> str | None:
        return self.subject if self.kind == "api_key" else None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class FirstRunCredentials:
    username: str
    password: str
    api_key: str


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


KEY_DIGEST = "hmac-sha256$"
KNOWN_KEY_TTL_S = 2.0
# Domain separation for key digests; the secret is the key's own 256 random bits.
_KEY_DOMAIN = b"studio api key v1"


def _key_digest(key: str) -> str:
    return KEY_DIGEST + hmac.new(_KEY_DOMAIN, key.encode(), hashlib.sha256).hexdigest()


def _key_id(key: str) -> str | None:
    """`key_<public part>` of a key shaped `sk_<public>_<secret>`; None for anything else."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return f"key_{parts[1]}"


def key_to_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked": key.revoked_at is not None,
        "revoked_at": iso(key.revoked_at),
    }


class AuthService:
    def __init__(self, db: Database, session_ttl_s: int = 3600) -> None:
        self.db = db
        self.session_ttl_s = session_ttl_s
        self._lock = threading.Lock()
        # digest -> (identity, until): a valid key is re-read at most every KNOWN_KEY_TTL_S, so a
        # request costs one HMAC; revoking here drops it at once, from another process within the TTL.
        self._known: dict[str, tuple[Identity, float]] = {}
        self._login_failures: dict[str, list[float]] = {}  # client -> monotonic times of failed logins

    # --- first start ----------------------------------------------------------------------------
    def needs_bootstrap(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(User.id).limit(1)) is None

    def bootstrap(self) -> FirstRunCredentials | None:
        """Create the admin password and a first API key when none exist; None otherwise."""
        if not self.needs_bootstrap():
            return None
        password = secrets.token_urlsafe(12)
        with self.db.session() as s:
            s.add(User(username=ADMIN_USERNAME, password_hash=_hasher.hash(password), role="admin"))
        api_key, _ = self.create_key("default", role="admin")
        return FirstRunCredentials(ADMIN_USERNAME, password, api_key)

    def reset_password(self, username: str = ADMIN_USERNAME) -> str:
        password = secrets.token_urlsafe(12)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                raise AuthError(f"no user named {username!r}")
            user.password_hash = _hasher.hash(password)
            s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        return password

    # --- API keys -------------------------------------------------------------------------------
    def create_key(self, name: str, role: str = "admin") -> tuple[str, dict[str, Any]]:
        """Returns the key (shown once, never stored) and its public record."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("name must be 1-100 characters")
        if role not in ROLES:
            raise ValueError(f"role must be one of: {', '.join(ROLES)}")
        public = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = f"{KEY_PREFIX}_{public}_{secret}"
        record = ApiKey(id=f"key_{public}", name=name, key_hash=_key_digest(key), role=role)
        with self.db.session() as s:
            s.add(record)
            s.flush()
            data = key_to_dict(record)
        return key, data

    def list_keys(self, include_revoked: bool = False) -> list[dict[str, Any]]:
        with self.db.session() as s:
            query = select(ApiKey).order_by(ApiKey.created_at)
            if not include_revoked:
                query = query.where(ApiKey.revoked_at.is_(None))
            return [key_to_dict(k) for k in s.scalars(query)]

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            key = s.get(ApiKey, key_id)
            if key is None:
                raise KeyError(key_id)
            if key.revoked_at is None:
                key.revoked_at = utcnow()
            data = key_to_dict(key)
        with self._lock:
            self._known = {d: known for d, known in self._known.items() if known[0].subject != key_id}
        return data

    def verify_key_cached(self, key: str) -> Identity | None | bool:
        """The per-request check: an Identity, or None for a wrong, unknown or revoked key, from one
        keyed SHA-256 and a read of the key's row at most every KNOWN_KEY_TTL_S (no password hash:
        a key is 256 random bits, nothing to slow a guesser down). False when the key still has an
        argon2 hash from before (or is not a key): then `verify_key` must run, off the loop."""
        key_id = _key_id(key)
        if key_id is None:
            return False
        digest = _key_digest(key)
        known = self._known.get(digest)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        with self.db.session() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.revoked_at is not None:
                return None
            if not record.key_hash.startswith(KEY_DIGEST):
                return False
            if not hmac.compare_digest(record.key_hash, digest):
                return None
            identity = self._identity(record)
        with self._lock:
            if len(self._known) > 10_000:  # only valid keys get here; a bound all the same
                self._known.clear()
            self._known[digest] = (identity, time.monotonic() + KNOWN_KEY_TTL_S)
        return identity

    def verify_key(self, key: str) -> Identity | None:
        """Full check, also of keys stored as argon2 hashes by older versions (slow: run it off the
        event loop), which are rewritten to the keyed SHA-256 form once they verify."""
        cached = self.verify_key_cached(key)
        if cached is not False:
            return cached
        key_id = _key_id(key)
        if key_id is None:
            return None
        with self.db.session() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.revoked_at is not None:
                return None
            try:
                _key_hasher.verify(record.key_hash, key)  # the parameters are read from the stored hash
            except (VerificationError, InvalidHashError):
                return None
            record.key_hash = _key_digest(key)
            return self._identity(record)

    def _identity(self, record: ApiKey) -> Identity:
        now = utcnow()
        # last_used_at is informative: one write a minute per key is plenty.
        if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
            record.last_used_at = now
        return Identity("api_key", record.id, record.role)

    # --- login sessions -------------------------------------------------------------------------
    def login(self, username: str, password: str, *, client: str = "local") -> tuple[str, int]:
        """Returns (session token, seconds until it expires); AuthError on bad credentials,
        TooManyAttempts after LOGIN_FAILURES_ALLOWED failures from `client` within LOGIN_WINDOW_S."""
        now_s = time.monotonic()
        with self._lock:
            recent = [t for t in self._login_failures.get(client, []) if now_s - t < LOGIN_WINDOW_S]
            self._login_failures[client] = recent
            if len(recent) >= LOGIN_FAILURES_ALLOWED:
                raise TooManyAttempts(int(LOGIN_WINDOW_S - (now_s - recent[0])) + 1)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            stored = user.password_hash if user else None
            user_id = user.id if user else None
        try:
            if stored is None:
                _hasher.verify(_hasher.hash("x"), "y")  # same cost either way: no user enumeration
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError, TypeError):
            with self._lock:
                self._login_failures.setdefault(client, []).append(now_s)
            raise AuthError("Invalid username or password") from None
        with self._lock:
            self._login_failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        with self.db.session() as s:
            now = utcnow()
            s.execute(delete(LoginSession).where(LoginSession.expires_at < now))
            s.add(LoginSession(token_hash=_sha256(token), user_id=user_id, created_at=now,
                               expires_at=now + timedelta(seconds=self.session_ttl_s)))
        return token, self.session_ttl_s

    def verify_session(self, token: str) -> Identity | None:
        with self.db.session() as s:
            session = s.get(LoginSession, _sha256(token))
            if session is None or session.expires_at < utcnow():
                return None
            user = s.get(User, session.user_id)
            return Identity("session", user.username, user.role) if user else None

    def logout(self, token: str) -> bool:
        with self.db.session() as s:
            return s.execute(delete(LoginSession).where(LoginSession.token_hash == _sha256(token))).rowcount > 0

    def authenticate(self, token: str) -> Identity | None:
        """An API key or a session token (the WebSocket `auth` message accepts either)."""
        if token.startswith(f"{KEY_PREFIX}_"):
            return self.verify_key(token)
        return self.verify_session(token)
