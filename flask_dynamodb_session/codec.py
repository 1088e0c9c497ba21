"""A session's data and user id as one store writes them to its table.

Without the ``encrypt`` option the ``data`` attribute is the session as
:mod:`.serialization` encodes it, and ``uid`` is ``key_prefix`` + the user id.
With it, ``data`` is sealed (:mod:`.encryption`) and ``uid`` is
``key_prefix`` + a keyed hash of the user id, so the table shows neither the
session's contents nor who it belongs to.

Data is opened by its header byte, whatever the option says: sessions
written before encryption was turned on, or sealed with an older key, are
read (and sealed anew by the read, :mod:`.read_repair`); sealed sessions are
still read after it is turned off, while a key opens them.
"""

from __future__ import annotations

import typing as t

from . import serialization
from .encryption import SEALED, Keyring, cryptography_missing, derive_keys
from .exceptions import ConfigurationError
from .serialization import DecodeError

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from .options import Settings

#: Returns an app's secret keys: ``SECRET_KEY``, then ``SECRET_KEY_FALLBACKS``.
SecretKeys = t.Callable[[], "Sequence[str | bytes]"]

_KEYS_OPTION = "SESSION_DYNAMODB_ENCRYPTION_KEYS"


class Codec:
    """Encodes and decodes the ``data`` and ``uid`` of one store's items.

    Building one makes no key: the keyring is built on the first sealing or
    opening, from the ``encryption_keys`` option, else from the secret keys.

    :param settings: the store's options (``encrypt``, ``encryption_keys``,
        ``key_prefix``).
    :param secret_keys: returns the app's secret keys, to derive keys from
        when ``encryption_keys`` is not given; ``None`` outside an app.
    """

    def __init__(
        self, settings: Settings, secret_keys: SecretKeys | None = None
    ) -> None:
        #: Whether new data is sealed and user ids hashed.
        self.encrypt = settings.encrypt
        self.key_prefix = settings.key_prefix
        #: Returns the secret keys the keys are derived from, if given.
        self.secret_keys = secret_keys
        self._given = settings.encryption_keys
        self._keyring: Keyring | None = None
        self._derived: tuple[tuple[str | bytes, ...], Keyring] | None = None

    def encode(self, key: str, data: t.Mapping[str, t.Any]) -> bytes:
        """The ``data`` attribute of the item ``key`` holding ``data``.

        :raises ConfigurationError: ``encrypt`` is on and there is no key.
        :raises SessionTooLarge: see :func:`.serialization.encode`.
        """
        payload = serialization.encode(data)
        if not self.encrypt:
            return payload
        return self.keyring().seal(payload, key)

    def seal(self, key: str, payload: bytes) -> bytes:
        """A serialized session, sealed for the item ``key``.

        :raises ConfigurationError: there is no key.
        """
        return self.keyring().seal(payload, key)

    def open(self, key: str, stored: bytes) -> tuple[bytes, bool]:
        """The serialized session of a stored ``data`` attribute (sealed data
        opened, anything else as it is, for :func:`.serialization.decode`),
        and whether it is stored as it would be written now: with
        ``encrypt``, sealed with the first key.

        :raises DecodeError: sealed data that no key opens.
        :raises ConfigurationError: ``encrypt`` is on and there is no key.
        """
        if stored[:1] != SEALED:
            return stored, not self.encrypt
        keyring = self.keyring() if self.encrypt else self._keyring_to_open()
        opened = None if keyring is None else keyring.open(stored, key)
        if opened is None:
            raise DecodeError("no encryption key opens the session data")
        payload, place = opened
        return payload, not self.encrypt or place == 0

    def decode(self, key: str, stored: bytes) -> dict[str, t.Any]:
        """The session a stored ``data`` attribute holds.

        :raises DecodeError: unreadable, or sealed and no key opens it.
        """
        return serialization.decode(self.open(key, stored)[0])

    def uid(self, user_id: str | int) -> str:
        """The ``uid`` attribute of a session of ``user_id``."""
        if not self.encrypt:
            return f"{self.key_prefix}{user_id}"
        return self.key_prefix + self.keyring().user_hash(str(user_id))

    def uids(self, user_id: str | int) -> list[str]:
        """Every ``uid`` a session of ``user_id`` may have: the one written
        now first, then those of older keys and the user id in clear (a
        session not written since a key changed, or since encryption was
        turned on)."""
        plain = f"{self.key_prefix}{user_id}"
        if not self.encrypt:
            return [plain]
        hashes = self.keyring().user_hashes(str(user_id))
        return [*(self.key_prefix + digest for digest in hashes), plain]

    def keyring(self) -> Keyring:
        """The keys: ``encryption_keys``, else derived from the secret keys.

        :raises ConfigurationError: neither is there.
        """
        if self._keyring is not None:
            return self._keyring
        if self._given is not None:
            self._keyring = Keyring(self._given)
            return self._keyring
        secrets = tuple(self.secret_keys()) if self.secret_keys is not None else ()
        if not secrets:
            raise ConfigurationError(
                _KEYS_OPTION,
                None,
                "must be set to encrypt sessions where there is no app's"
                " SECRET_KEY to derive keys from (a store built outside an app)",
                shown=False,
            )
        derived = self._derived
        if derived is None or derived[0] != secrets:
            derived = (secrets, Keyring(derive_keys(secrets)))
            self._derived = derived
        return derived[1]

    def _keyring_to_open(self) -> Keyring | None:
        """The keys to open sealed data with; ``None`` if encryption is off
        and there are none (the data then reads as undecodable)."""
        if cryptography_missing():
            return None
        try:
            return self.keyring()
        except ConfigurationError:
            return None
