"""The PayPay OPA-Auth HMAC header.

Why a module of its own: the client signs with it and the simulator verifies with it, so the
two can never drift apart, and it is pure (no clock, no randomness: nonce and epoch come in as
arguments) so the reference's known-answer vectors test it exactly.

Invariants:
- the body hash covers the content-type string followed by the exact body string that is sent;
- without a body, content type and body hash are both the literal ``empty``;
- the path is signed without its query string;
- the secret's UTF-8 bytes are the HMAC key as they are (never base64-decoded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

EMPTY = "empty"
SCHEME = "hmac OPA-Auth"


def body_hash(content_type: str, body: str) -> str:
    """base64(MD5(content_type + body)), or ``empty`` when there is no body."""
    if not body:
        return EMPTY
    digest = hashlib.md5((content_type + body).encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def string_to_sign(
    path: str, method: str, nonce: str, epoch: int, content_type: str, hashed_body: str
) -> str:
    path_only = path.split("?", 1)[0]
    return "\n".join((path_only, method.upper(), nonce, str(epoch), content_type, hashed_body))


def mac(api_secret: str, text: str) -> str:
    digest = hmac.new(api_secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def auth_header(
    *,
    api_key: str,
    api_secret: str,
    method: str,
    path: str,
    nonce: str,
    epoch: int,
    content_type: str | None = None,
    body: str | None = None,
) -> str:
    """The full ``Authorization`` header value for one request."""
    if body:
        if not content_type:
            raise ValueError("content_type is required when a body is sent")
        signed_type, hashed = content_type, body_hash(content_type, body)
    else:
        signed_type, hashed = EMPTY, EMPTY
    signature = mac(api_secret, string_to_sign(path, method, nonce, epoch, signed_type, hashed))
    return f"{SCHEME}:{api_key}:{signature}:{nonce}:{epoch}:{hashed}"


@dataclass(frozen=True)
class AuthFields:
    api_key: str
    mac: str
    nonce: str
    epoch: int
    body_hash: str


def parse_auth_header(value: str) -> AuthFields:
    """Split an ``Authorization`` header; ValueError names what is wrong (never the secret)."""
    prefix = SCHEME + ":"
    if not value.startswith(prefix):
        raise ValueError("Authorization header does not start with 'hmac OPA-Auth:'")
    parts = value[len(prefix) :].split(":")
    if len(parts) != 5:
        raise ValueError(f"Authorization header has {len(parts)} fields, expected 5")
    api_key, signature, nonce, epoch_text, hashed = parts
    if not epoch_text.isdigit():
        raise ValueError("Authorization header epoch is not a decimal number")
    return AuthFields(api_key, signature, nonce, int(epoch_text), hashed)


def verify(
    *,
    header: str,
    secret_for_key: dict[str, str],
    method: str,
    path: str,
    content_type_header: str | None,
    body: str,
    now_epoch: int,
    max_skew_s: int = 120,
) -> AuthFields:
    """Verify a request as PayPay does (reference section 1.7); ValueError says why it fails."""
    fields = parse_auth_header(header)
    secret = secret_for_key.get(fields.api_key)
    if secret is None:
        raise ValueError("unknown API key")
    if body:
        signed_type = content_type_header or ""
        expected_hash = body_hash(signed_type, body)
    else:
        signed_type, expected_hash = EMPTY, EMPTY
    if not hmac.compare_digest(fields.body_hash, expected_hash):
        raise ValueError("body hash does not match the body")
    expected_mac = mac(
        secret, string_to_sign(path, method, fields.nonce, fields.epoch, signed_type, expected_hash)
    )
    if not hmac.compare_digest(fields.mac, expected_mac):
        raise ValueError("signature does not match")
    if abs(now_epoch - fields.epoch) > max_skew_s:
        raise ValueError(f"epoch is more than {max_skew_s} s away from server time")
    return fields


REDACTED = "[redacted]"


class Signer:
    """Signs requests with one API key and secret, and scrubs both from text (the one holder).

    The nonce source and the clock come in as callables (this module stays pure); the secret
    is never in a repr. ``redact`` replaces the key and the secret, whole or base64-encoded,
    wherever they appear (a server echoing our headers back in an error page).
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        nonce: Callable[[], str],
        clock: Callable[[], float],
    ) -> None:
        self.api_key = api_key
        self._api_secret = api_secret
        self._nonce = nonce
        self._clock = clock
        forms = {api_key, api_secret}
        for value in (api_key, api_secret):
            forms.add(base64.b64encode(value.encode("utf-8")).decode("ascii").rstrip("="))
        self._forms = sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)

    def __repr__(self) -> str:
        return "Signer(api_key=[redacted])"

    def authorization(self, method: str, path: str, content_type: str, body: str | None) -> str:
        """The ``Authorization`` header for one request (a fresh nonce, the current epoch)."""
        return auth_header(
            api_key=self.api_key,
            api_secret=self._api_secret,
            method=method,
            path=path,
            nonce=self._nonce(),
            epoch=int(self._clock()),
            content_type=content_type,
            body=body,
        )

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text
