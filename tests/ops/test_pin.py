"""The attendant PIN is stored as a salted hash and checked in constant time."""

import pytest

from kiosk.ops.pin import hash_pin, is_pin_hash, verify_pin

SALT = b"0123456789abcdef"


def test_hash_round_trip_and_rejects_wrong_pin() -> None:
    stored = hash_pin("2468", SALT, iterations=1000)
    assert is_pin_hash(stored)
    assert "2468" not in stored
    assert verify_pin("2468", stored)
    assert not verify_pin("2469", stored)


def test_same_pin_different_salt_differs() -> None:
    assert hash_pin("2468", SALT, 1000) != hash_pin("2468", b"fedcba9876543210", 1000)


@pytest.mark.parametrize("pin", ["123", "12a4", "1234567890123", "１２３４"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin(pin, SALT)


def test_malformed_hash_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="pbkdf2_sha256"):
        verify_pin("1234", "plaintext-pin")
