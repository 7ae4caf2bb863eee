"""Credentials: the admin login, login sessions and API keys.

No default password exists: the first start creates an admin password and an API key and hands
them back once (`bootstrap`). Passwords and API keys are stored as argon2 hashes; session tokens,
short-lived and random, as SHA-256.
"""

from __future__ import annotations

import hashlib
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
# API keys carry 256 random bits: no guessing to slow down, so a light argon2 cost is enough and
# keeps creating/checking a key (on the GUI's loop thread, or on a first request) to a few ms.
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
        # sha256(key) -> key id, for keys whose argon2 hash already verified in this process:
        # argon2 is deliberately slow (~50 ms) and must not run on every request.
        self._verified: dict[str, str] = {}
        self._lock = threading.Lock()
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
        record = ApiKey(id=f"key_{public}", name=name, key_hash=_key_hasher.hash(key), role=role)
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
            self._verified = {h: k for h, k in self._verified.items() if k != key_id}
        return data

    def verify_key_cached(self, key: str) -> Identity | None | bool:
        """Fast path: an Identity, None (known bad), or False when an argon2 check is needed."""
        key_id = self._verified.get(_sha256(key))
        if key_id is None:
            return False
        return self._active_key_identity(key_id, touch=True)

    def verify_key(self, key: str) -> Identity | None:
        """Full check (argon2: run it off the event loop)."""
        cached = self.verify_key_cached(key)
        if cached is not False:
            return cached
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        key_id = f"key_{parts[1]}"
        with self.db.session() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.revoked_at is not None:
                return None
            key_hash = record.key_hash
        try:
            _key_hasher.verify(key_hash, key)  # the parameters are read from the stored hash
        except (VerificationError, InvalidHashError):
            return None
        with self._lock:
            self._verified[_sha256(key)] = key_id
        return self._active_key_identity(key_id, touch=True)

    def _active_key_identity(self, key_id: str, touch: bool) -> Identity | None:
        with self.db.session() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.revoked_at is not None:
                return None
            now = utcnow()
            # last_used_at is informative: one write a minute per key is plenty.
            if touch and (record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1)):
                record.last_used_at = now
            return Identity("api_key", key_id, record.role)

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
