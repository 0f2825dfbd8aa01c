"""`--since WHEN` / `--until WHEN` for the journal commands: a date, an ISO time, or an age like 2h.

Why one zone: what a person types is read in the zone the kiosk shows times in (the
`display_time_zone` option, Japan by default), whatever time zone the Pi was left in. Dates and
ISO times without an offset are read in that zone; an explicit offset wins.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from kiosk.domain import JST

_AGE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float, option: str = "--since", zone: tzinfo = JST) -> float:
    """Epoch seconds. ValueError names `option` and says which forms are accepted."""
    value = text.strip().lower()
    age = _AGE.match(value)
    if age:
        return now - int(age.group(1)) * _UNIT_S[age.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not a date (2027-01-15), an ISO time (2027-01-15T09:30) "
            "or an age (30m, 2h, 3d, 1w)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def local_iso(epoch: float, zone: tzinfo = JST) -> str:
    """`epoch` as an ISO time with its offset, in the zone times are shown in."""
    return datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")
