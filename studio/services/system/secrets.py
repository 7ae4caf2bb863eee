"""Connector keys and tokens: in the OS keyring when this machine has one, else in a private file.

Names are short ids such as "trends:lastfm"; each is stored in the keyring as user name `name` of
service "studio" (Secret Service on Linux, Keychain on macOS, Credential Locker on Windows). When
`keyring` finds no usable backend (its `fail` keyring, or a chainer with nothing to chain: headless
Linux, CI, containers) the values go to `<data dir>/secrets.json`, readable by the owner only
(mode 0600), and `backend` says so, so the GUI can tell the user where their keys are.

Values are never logged and never returned in clear except by `get` (the connectors need them);
`masked` is what a screen or an API answer may show.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

log = logging.getLogger("studio.secrets")

SERVICE = "studio"
FILE_NAME = "secrets.json"
FILE_BACKEND = "data folder file (no OS keyring found)"
MASK = "••••"
SHOWN_TAIL = 4  # characters of a value `masked` may show
MIN_LENGTH_TO_SHOW_TAIL = 12  # a shorter value shows nothing at all

# what the user knows these stores as
_BACKEND_NAMES = {
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KWallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Locker",
}


def usable_keyring(backend: KeyringBackend | None = None) -> KeyringBackend | None:
    """The keyring backend that can store secrets, or None when keyring found nothing usable."""
    backend = backend if backend is not None else keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    if isinstance(backend, null.Keyring):  # stores nothing on purpose
        return None
    return backend


def backend_label(backend: KeyringBackend) -> str:
    if isinstance(backend, chainer.ChainerBackend) and backend.backends:
        backend = backend.backends[0]  # the first one is the one that stores
    module = type(backend).__module__
    for prefix, label in _BACKEND_NAMES.items():
        if module == prefix or module.startswith(prefix + "."):
            return label
    return str(getattr(backend, "name", None) or type(backend).__name__)


class Secrets:
    """get / set / delete / has / masked by name; `backend` names the store in use."""

    def __init__(self, data_dir: Path, *, keyring_backend: KeyringBackend | None = None) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._keyring = usable_keyring(keyring_backend)
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return backend_label(self._keyring) if self._keyring is not None else FILE_BACKEND

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    def get(self, name: str) -> str | None:
        name = _check_name(name)
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, name)
            except keyring.errors.KeyringError as exc:  # locked or gone since start-up
                log.warning("the OS keyring could not be read for %s (%s); trying the data folder file",
                            name, type(exc).__name__)
                value = None
            if value is not None:
                return value
        # also where a value lands when the keyring refused to store it
        return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        name = _check_name(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a secret must be a non-empty text (use delete to remove one)")
        value = value.strip()
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, name, value)
            except keyring.errors.KeyringError as exc:
                log.warning("the OS keyring refused to store %s (%s); using the data folder file instead",
                            name, type(exc).__name__)
            else:
                self._drop_from_file(name)  # an older copy must not outlive the keyring's
                log.info("stored secret %s in %s", name, self.backend)
                return
        with self._lock:
            data = self._read_file()
            data[name] = value
            self._write_file(data)
        log.info("stored secret %s in %s", name, self.path)

    def delete(self, name: str) -> None:
        """Forget `name` everywhere it may be; no error when it was not stored."""
        name = _check_name(name)
        if self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, name)
            except keyring.errors.PasswordDeleteError:
                pass
            except keyring.errors.KeyringError as exc:
                log.warning("the OS keyring could not delete %s (%s)", name, type(exc).__name__)
        self._drop_from_file(name)
        log.info("deleted secret %s", name)

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def masked(self, name: str) -> str | None:
        """What may be shown for `name`: "••••abcd" (the last 4 characters of a long value),
        "••••" for a short one, None when nothing is stored."""
        value = self.get(name)
        if value is None:
            return None
        return MASK + (value[-SHOWN_TAIL:] if len(value) >= MIN_LENGTH_TO_SHOW_TAIL else "")

    def __repr__(self) -> str:
        return f"Secrets(backend={self.backend!r})"

    # --- the file store ----------------------------------------------------------------------
    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); treating it as empty", self.path, type(exc).__name__)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, str)}

    def _write_file(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        # created private: the secret is never readable by others, not even for an instant
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a file left over from a crash
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _drop_from_file(self, name: str) -> None:
        with self._lock:
            data = self._read_file()
            if name in data:
                del data[name]
                self._write_file(data)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a secret needs a name such as 'trends:lastfm'")
    return name.strip()
