"""Kiosk secrets at rest: sealed with AES-GCM under the hub's master key.

Why encrypted and not hashed: the relay must recompute each kiosk's HMAC, so it needs the
secret itself; a hash would not do. The master key comes only from the hub's credentials
(never the database or the TOML file), so a copy of the database alone reveals no secret.
Invariants: a fresh 96-bit nonce per seal; the key id is the associated data, so a sealed
secret moved to another key's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(ValueError):
    """A master key or sealed secret is unusable; the message never holds key material."""


def parse_master_key(text: str) -> bytes:
    """The master key from its base64 text (32 bytes: `openssl rand -base64 32`)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealError("the relay master key is not base64") from None
    if len(raw) != KEY_BYTES:
        raise SealError(f"the relay master key is {len(raw)} bytes, expected {KEY_BYTES}")
    return raw


class Sealer:
    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return "Sealer([redacted])"

    def seal(self, key_id: str, secret: str, nonce: bytes | None = None) -> bytes:
        nonce = nonce or secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), key_id.encode("utf-8"))

    def open(self, key_id: str, sealed: bytes) -> str:
        try:
            clear = self._aead.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key_id.encode("utf-8")
            )
        except (InvalidTag, ValueError):
            raise SealError(
                f"the secret of key {key_id} does not open with this master key"
            ) from None
        return clear.decode("utf-8")
