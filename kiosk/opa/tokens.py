"""JWTs for PayPay account linking (HS256), correct with PyJWT 2.

Why: the seed SDK's ``decode_jwt`` passes ``algorithm=`` (singular), which PyJWT 2 rejects, then
prints and swallows the error; its ``encode_jwt`` computes the default reference id once at
import. Here the algorithm list is explicit, errors are raised (``jwt.InvalidTokenError``),
and ids and expiry come from the caller's nonce source and clock.

Secret handling: PayPay's official Python, Node and Java SDKs base64-decode the API secret to
get the HMAC key for JWTs (unlike request signing, which uses the secret's bytes as they are).
``raw_secret=True`` uses the bytes as they are (the unofficial Go SDK's way).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import jwt

ALGORITHM = "HS256"


def key_for(secret: str, *, raw_secret: bool = False) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise ValueError("secret is required")
    if raw_secret:
        return secret.encode("utf-8")
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "secret is not base64 (PayPay JWTs use the base64-decoded API secret); "
            "pass raw_secret=True to use it as it is"
        ) from None


def encode(claims: dict[str, Any], secret: str, *, raw_secret: bool = False) -> str:
    return jwt.encode(claims, key_for(secret, raw_secret=raw_secret), algorithm=ALGORITHM)


def decode(
    token: str, secret: str, *, audience: str | None, raw_secret: bool = False
) -> dict[str, Any]:
    """Verified claims. ``aud`` is checked against ``audience`` when the token carries one."""
    unverified = jwt.decode(token, options={"verify_signature": False})
    options = {"verify_aud": "aud" in unverified}
    claims: dict[str, Any] = jwt.decode(
        token,
        key_for(secret, raw_secret=raw_secret),
        algorithms=[ALGORITHM],
        audience=audience if "aud" in unverified else None,
        options=options,  # type: ignore[arg-type]
    )
    return claims
