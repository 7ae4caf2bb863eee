"""Success bodies of the system area: auth, status/config/jobs/backups, docs, logs/errors,
models, maintenance and services, monitoring and resources."""

from __future__ import annotations

from pydantic import Field

from studio.server.schemas import Out


# --- auth -----------------------------------------------------------------------------------
class LoginOut(Out):
    message: str
    session_id: str = Field(description="The session token: send it as 'Authorization: Bearer <token>' "
                                        "(also set as the session_id cookie)")
    expires_in: int = Field(description="Seconds until the session ends")


class MessageOut(Out):
    message: str


class ApiKeyRecord(Out):
    id: str
    name: str
    role: str = Field(description="'admin' or 'user'")
    created_at: str
    last_used_at: str | None
    revoked: bool
    revoked_at: str | None


class KeyListOut(Out):
    keys: list[ApiKeyRecord]


class KeyCreatedOut(Out):
    api_key: str = Field(description="The secret, shown this once")
    key: ApiKeyRecord
    message: str


class KeyRevokedOut(Out):
    key: ApiKeyRecord
