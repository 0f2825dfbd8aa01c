from __future__ import annotations

import pytest

from kiosk.commands.timespec import local_iso, parse_since

NOW = 1_800_000_000.0  # 2027-01-15T17:00:00+09:00


def test_ages() -> None:
    assert parse_since("30m", NOW) == NOW - 1800
    assert parse_since("2h", NOW) == NOW - 7200
    assert parse_since("3d", NOW) == NOW - 3 * 86400
    assert parse_since("1w", NOW) == NOW - 7 * 86400


def test_dates_are_japan_time_unless_an_offset_is_given() -> None:
    assert local_iso(NOW) == "2027-01-15T17:00:00+09:00"
    assert parse_since("2027-01-15", NOW) == NOW - 17 * 3600
    assert parse_since("2027-01-15T16:30", NOW) == NOW - 1800
    assert parse_since("2027-01-15T08:00:00+00:00", NOW) == NOW


def test_nonsense_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match=r"is not a date \(2027-01-15\), an ISO time"):
        parse_since("yesterday", NOW)


def test_another_display_zone_reads_and_shows_its_own_times() -> None:
    """display_time_zone = "Europe/London": what a person types and reads is London time."""
    from kiosk.domain import time_zone

    london = time_zone("Europe/London")
    assert local_iso(NOW, london) == "2027-01-15T08:00:00+00:00"
    assert parse_since("2027-01-15T08:00", NOW, "--since", london) == NOW
    assert parse_since("2027-01-15", NOW, "--since", london) == NOW - 8 * 3600
    assert parse_since("2027-01-15T17:00:00+09:00", NOW, "--since", london) == NOW  # offset wins
