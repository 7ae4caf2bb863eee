import pytest

from studio.services.auth import AuthError


def test_bootstrap_once_and_credentials_work(ctx):
    first = ctx.auth.bootstrap()
    assert first is not None and first.username == "admin" and len(first.password) >= 12
    assert ctx.auth.bootstrap() is None
    identity = ctx.auth.verify_key(first.api_key)
    assert identity and identity.is_admin
    token, ttl = ctx.auth.login("admin", first.password)
    assert ttl == ctx.settings.session_ttl_s
    assert ctx.auth.verify_session(token).subject == "admin"
    with pytest.raises(AuthError):
        ctx.auth.login("admin", "wrong")
    assert ctx.auth.logout(token) and ctx.auth.verify_session(token) is None


def test_keys_are_stored_hashed_and_revocable(ctx):
    key, record = ctx.auth.create_key("script", role="user")
    from studio.db.models import ApiKey

    with ctx.db.session() as s:
        stored = s.get(ApiKey, record["id"])
        assert key not in stored.key_hash and stored.key_hash.startswith("$argon2")
    assert ctx.auth.verify_key(key).role == "user"
    assert ctx.auth.verify_key(key[:-2] + "xx") is None
    assert ctx.auth.verify_key("garbage") is None
    ctx.auth.revoke_key(record["id"])
    assert ctx.auth.verify_key(key) is None
    assert record["id"] not in [k["id"] for k in ctx.auth.list_keys()]
    with pytest.raises(ValueError):
        ctx.auth.create_key("  ")
