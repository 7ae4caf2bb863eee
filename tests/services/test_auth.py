import pytest

from studio.services.system.auth import AuthError


def test_bootstrap_once_and_credentials_work(services):
    first = services.auth.bootstrap()
    assert first is not None and first.username == "admin" and len(first.password) >= 12
    assert services.auth.bootstrap() is None
    identity = services.auth.verify_key(first.api_key)
    assert identity and identity.is_admin
    token, ttl = services.auth.login("admin", first.password)
    assert ttl == services.settings.session_ttl_s
    assert services.auth.verify_session(token).subject == "admin"
    with pytest.raises(AuthError):
        services.auth.login("admin", "wrong")
    assert services.auth.logout(token) and services.auth.verify_session(token) is None


def test_keys_are_stored_hashed_and_revocable(services):
    key, record = services.auth.create_key("script", role="user")
    from studio.db.models import ApiKey

    with services.context.db.session() as s:
        stored = s.get(ApiKey, record["id"])
        assert key not in stored.key_hash and stored.key_hash.startswith("hmac-sha256$")
    assert services.auth.verify_key(key).role == "user"
    assert services.auth.verify_key(key[:-2] + "xx") is None
    assert services.auth.verify_key("garbage") is None
    services.auth.revoke_key(record["id"])
    assert services.auth.verify_key(key) is None
    assert record["id"] not in [k["id"] for k in services.auth.list_keys()]
    with pytest.raises(ValueError):
        services.auth.create_key("  ")


def test_keys_check_without_a_password_hash_and_old_argon2_keys_are_upgraded(services):
    """Issue #19 (fast authenticated requests): a request's key check is a keyed SHA-256 and a row
    read, not argon2; a key stored by an older version as argon2 still works and is rewritten."""
    import argon2

    from studio.db.models import ApiKey
    from studio.services.system import auth as auth_module

    key, record = services.auth.create_key("fast", role="admin")
    assert services.auth.verify_key_cached(key).subject == record["id"]
    assert services.auth.verify_key_cached(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert services.auth.verify_key_cached("sk_nothing_here") is None  # no such key id
    assert services.auth.verify_key_cached("a-session-token") is False  # not a key: the full check decides

    old_key = "sk_0123456789ab_" + "x" * 43
    with services.context.db.session() as s:
        s.add(ApiKey(id="key_0123456789ab", name="from 0.x", role="user",
                     key_hash=argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(old_key)))
    assert services.auth.verify_key_cached(old_key) is False  # argon2 stays off the request path
    assert services.auth.verify_key(old_key[:-1] + "y") is None
    assert services.auth.verify_key(old_key).role == "user"
    with services.context.db.session() as s:
        assert s.get(ApiKey, "key_0123456789ab").key_hash == auth_module._key_digest(old_key)
    assert services.auth.verify_key_cached(old_key).role == "user"


def test_a_revoked_key_stops_at_once_here_and_within_seconds_elsewhere(services, monkeypatch):
    from studio.db.models import ApiKey
    from studio.services.system import auth as auth_module
    from studio.timeutil import utcnow

    key, record = services.auth.create_key("cached")
    assert services.auth.verify_key_cached(key).subject == record["id"]
    services.auth.revoke_key(record["id"])  # this process: dropped from the cache at once
    assert services.auth.verify_key_cached(key) is None

    other, other_record = services.auth.create_key("revoked by the CLI")
    assert services.auth.verify_key_cached(other) is not None
    with services.context.db.session() as s:  # another process (studio keys revoke) writes the row
        s.get(ApiKey, other_record["id"]).revoked_at = utcnow()
    clock = [auth_module.time.monotonic()]
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: clock[0])
    clock[0] += auth_module.KNOWN_KEY_TTL_S + 0.1
    assert services.auth.verify_key_cached(other) is None
