"""The attendant PIN, stored only as a salted PBKDF2 hash.

Why: the config file is readable by the operator and may be copied around; a hash in it gives
nothing away. Format: ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``. The salt comes in
as a parameter so tests are exact; `kiosk hash-pin` passes ``os.urandom(16)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 200_000
MIN_PIN_DIGITS = 4
MAX_PIN_DIGITS = 12


def validate_pin(pin: str) -> str:
    if not (pin.isdigit() and pin.isascii() and MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS):
        raise ValueError(f"a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits")
    return pin


def hash_pin(pin: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    validate_pin(pin)
    if len(salt) < 8:
        raise ValueError("the salt must be at least 8 bytes")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("ascii"), salt, iterations)
    salt_text = base64.b64encode(salt).decode("ascii")
    return f"{ALGORITHM}${iterations}${salt_text}${base64.b64encode(digest).decode('ascii')}"


def is_pin_hash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 4 and parts[0] == ALGORITHM and parts[1].isdigit()


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored``. A malformed hash is a configuration error."""
    if not is_pin_hash(stored):
        raise ValueError("the attendant PIN hash is not in pbkdf2_sha256$... form")
    _, iterations, salt_text, expected = stored.split("$")
    candidate = hashlib.pbkdf2_hmac(
        "sha256", pin.encode("utf-8"), base64.b64decode(salt_text), int(iterations)
    )
    return hmac.compare_digest(base64.b64encode(candidate).decode("ascii"), expected)
