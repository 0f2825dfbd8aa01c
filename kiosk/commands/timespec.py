"""`--since WHEN` / `--until WHEN` for the journal commands: a date, an ISO time, or an age like 2h.

Why Japan time: a kiosk's business day is Japan's (PayPay's cancel cut-off, the totals on the
attendant screen), whatever time zone the Pi was left in. Dates and ISO times without an
offset are read in JST; an explicit offset wins.
"""

from __future__ import annotations

import re
from datetime import datetime

from kiosk.domain import JST

_AGE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float, option: str = "--since") -> float:
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
        moment = moment.replace(tzinfo=JST)
    return moment.timestamp()


def jst_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, JST).isoformat(timespec="seconds")
