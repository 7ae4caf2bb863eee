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
        assert key not in stored.key_hash and stored.key_hash.startswith("$argon2")
    assert services.auth.verify_key(key).role == "user"
    assert services.auth.verify_key(key[:-2] + "xx") is None
    assert services.auth.verify_key("garbage") is None
    services.auth.revoke_key(record["id"])
    assert services.auth.verify_key(key) is None
    assert record["id"] not in [k["id"] for k in services.auth.list_keys()]
    with pytest.raises(ValueError):
        services.auth.create_key("  ")
