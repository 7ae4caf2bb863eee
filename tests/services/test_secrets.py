"""Secrets: the OS keyring when one is usable (an in-memory keyring stands in for it here), else a
private file in the data dir; values masked for display and never logged."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail

from studio.services.system.secrets import (
    FILE_BACKEND,
    SERVICE,
    Secrets,
    backend_label,
    usable_keyring,
)

VALUE = "0123456789abcdef0123456789abcdef"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict (keyring's own test pattern)."""

    priority = 1
    viable = False  # never picked by keyring's own detection in later tests: only set_keyring uses it

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.refuse = False

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        if self.refuse:
            raise keyring.errors.PasswordSetError("the keyring is locked")
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("not stored")
        del self.store[(service, username)]


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_the_os_keyring_when_there_is_one(memory_keyring, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = Secrets(tmp_path)
    assert secrets.uses_keyring and secrets.backend.endswith("MemoryKeyring")  # keyring's own name
    assert secrets.get("trends:lastfm") is None and not secrets.has("trends:lastfm")
    assert secrets.masked("trends:lastfm") is None

    secrets.set("trends:lastfm", f"  {VALUE}\n")
    assert memory_keyring.store == {(SERVICE, "trends:lastfm"): VALUE}  # service "studio", trimmed
    assert secrets.get("trends:lastfm") == VALUE and secrets.has("trends:lastfm")
    assert secrets.masked("trends:lastfm") == "••••cdef"
    assert not (tmp_path / "secrets.json").exists()

    secrets.delete("trends:lastfm")
    secrets.delete("trends:lastfm")  # twice: no error
    assert memory_keyring.store == {} and secrets.get("trends:lastfm") is None
    assert VALUE not in caplog.text and VALUE not in repr(secrets)


def test_a_private_file_when_no_keyring_is_usable(no_keyring, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = Secrets(tmp_path / "home")
    assert not secrets.uses_keyring and secrets.backend == FILE_BACKEND

    secrets.set("trends:youtube", VALUE)
    secrets.set("trends:lastfm", "short")
    path = tmp_path / "home" / "secrets.json"
    assert json.loads(path.read_text()) == {"trends:lastfm": "short", "trends:youtube": VALUE}
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Secrets(tmp_path / "home").get("trends:youtube") == VALUE  # survives a restart
    assert secrets.masked("trends:lastfm") == "••••"  # a short value shows nothing of itself

    secrets.delete("trends:youtube")
    assert json.loads(path.read_text()) == {"trends:lastfm": "short"}
    assert VALUE not in caplog.text


def test_what_counts_as_no_keyring():
    assert usable_keyring(fail.Keyring()) is None
    empty_chain = chainer.ChainerBackend()
    if not empty_chain.backends:  # on this machine and in CI
        assert usable_keyring(empty_chain) is None
    memory = MemoryKeyring()
    assert usable_keyring(memory) is memory


def test_known_stores_are_named_as_users_know_them():
    secret_service = type("Keyring", (MemoryKeyring,), {"__module__": "keyring.backends.SecretService"})
    keychain = type("Keyring", (MemoryKeyring,), {"__module__": "keyring.backends.macOS.api"})
    assert backend_label(secret_service()) == "Secret Service"
    assert backend_label(keychain()) == "macOS Keychain"


def test_a_keyring_that_refuses_falls_back_to_the_file(memory_keyring, tmp_path):
    secrets = Secrets(tmp_path)
    memory_keyring.refuse = True
    secrets.set("trends:lastfm", VALUE)
    assert memory_keyring.store == {} and secrets.get("trends:lastfm") == VALUE
    assert json.loads((tmp_path / "secrets.json").read_text()) == {"trends:lastfm": VALUE}

    memory_keyring.refuse = False
    secrets.set("trends:lastfm", VALUE[::-1])  # the keyring works again: the file copy goes
    assert memory_keyring.store == {(SERVICE, "trends:lastfm"): VALUE[::-1]}
    assert json.loads((tmp_path / "secrets.json").read_text()) == {}
    secrets.delete("trends:lastfm")
    assert secrets.get("trends:lastfm") is None


def test_names_and_values_are_checked(no_keyring, tmp_path):
    secrets = Secrets(tmp_path)
    with pytest.raises(ValueError):
        secrets.set("trends:lastfm", "   ")
    with pytest.raises(ValueError):
        secrets.get("")
    (tmp_path / "secrets.json").write_text("not json")
    assert secrets.get("trends:lastfm") is None  # a damaged file reads as empty
