"""Encryption at rest: a session's data sealed with AES-256-GCM.

A sealed ``data`` attribute is :data:`SEALED`, a fresh 96-bit nonce, then
the AES-GCM ciphertext (and its 16-byte tag) of the session as
:mod:`.serialization` encodes it. The associated data is the item's key
(``id``): sealed data copied onto another item does not open.

A :class:`Keyring` holds the keys: the first seals, every one opens, so that
keys can be rotated. They are the ``encryption_keys`` option, or derived with
HKDF-SHA256 from the app's ``SECRET_KEY`` and each of its
``SECRET_KEY_FALLBACKS`` (:func:`derive_keys`). Each key also gives, derived
from it, the key of an HMAC-SHA256 of user ids: with encryption on, the
``uid`` attribute holds that hash instead of the user id.

The ``cryptography`` package is imported only when a keyring is built; it is
the optional extra ``flask-dynamodb-session[encryption]``.
"""

from __future__ import annotations

import hmac
import os
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Sequence

#: Header byte of sealed session data (:mod:`.serialization` uses 0x00, 0x01).
SEALED = b"\x02"
#: Bytes of an AES-256 key.
KEY_SIZE = 32
#: Bytes of an AES-GCM nonce: 96 bits, new for every write.
NONCE_SIZE = 12
#: Bytes of the AES-GCM authentication tag.
TAG_SIZE = 16
#: The extra that installs what encryption needs.
EXTRA = "flask-dynamodb-session[encryption]"

_SECRET_KEY_INFO = b"flask-dynamodb-session data key"
_USER_ID_INFO = b"flask-dynamodb-session user id key"


def cryptography_missing() -> bool:
    """Whether the ``cryptography`` package (with AES-GCM) cannot be imported."""
    try:
        import cryptography  # noqa: F401
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401
    except ImportError:
        return True
    return False


def hkdf(key_material: bytes, info: bytes) -> bytes:
    """A 32-byte key derived from ``key_material`` with HKDF-SHA256 (RFC 5869).

    :param info: what the key is for, so that keys for different uses differ.
    """
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=SHA256(), length=KEY_SIZE, salt=None, info=info).derive(
        key_material
    )


def derive_keys(secret_keys: Sequence[str | bytes]) -> tuple[bytes, ...]:
    """The encryption keys of an app's secret keys, in the same order.

    :param secret_keys: ``SECRET_KEY``, then each of ``SECRET_KEY_FALLBACKS``.
    """
    return tuple(
        hkdf(
            secret.encode("utf-8") if isinstance(secret, str) else bytes(secret),
            _SECRET_KEY_INFO,
        )
        for secret in secret_keys
    )


class Keyring:
    """Seals and opens session data, and hashes user ids, with a list of keys.

    :param keys: 32-byte keys; the first seals, every one opens.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._ciphers = [AESGCM(key) for key in keys]
        self._first = self._ciphers[0]
        self._invalid_tag = InvalidTag
        self._user_id_keys = [hkdf(key, _USER_ID_INFO) for key in keys]

    def seal(self, payload: bytes, key: str) -> bytes:
        """``payload`` sealed with the first key, for the item ``key``."""
        nonce = os.urandom(NONCE_SIZE)
        return SEALED + nonce + self._first.encrypt(nonce, payload, key.encode("utf-8"))

    def open(self, sealed: bytes, key: str) -> tuple[bytes, int] | None:
        """What :meth:`seal` sealed for the item ``key``, and the place of the
        key that opened it (0: the first); ``None`` if no key opens it
        (another key, another item, or altered)."""
        if sealed[:1] != SEALED or len(sealed) < 1 + NONCE_SIZE + TAG_SIZE:
            return None
        nonce, body = sealed[1 : 1 + NONCE_SIZE], sealed[1 + NONCE_SIZE :]
        associated = key.encode("utf-8")
        try:  # the first key, without a loop: what a read almost always needs
            return self._first.decrypt(nonce, body, associated), 0
        except self._invalid_tag:
            pass
        for place, cipher in enumerate(self._ciphers[1:], 1):
            try:
                return cipher.decrypt(nonce, body, associated), place
            except self._invalid_tag:
                continue
        return None

    def user_hash(self, user_id: str) -> str:
        """The keyed hash of a user id under the first key, as hex."""
        return self._hash(self._user_id_keys[0], user_id)

    def user_hashes(self, user_id: str) -> list[str]:
        """The keyed hashes of a user id under every key, the first key's first."""
        return [self._hash(key, user_id) for key in self._user_id_keys]

    @staticmethod
    def _hash(key: bytes, user_id: str) -> str:
        return hmac.digest(key, user_id.encode("utf-8"), "sha256").hex()
