"""The status file (atomic, readable by `kiosk status`) and the localhost /healthz."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kiosk.commands.run import LoopNotify
from kiosk.domain import Totals
from kiosk.ops.notify import Notifier
from kiosk.ops.status import (
    HealthServer,
    Status,
    StatusError,
    StatusKeeper,
    describe,
    place_status,
    read_status,
    write_status,
)

T0 = 1_800_000_000.0


def status(**changes: object) -> Status:
    base = Status(state="idle", pid=4242, mode="demo", started_at=T0, updated_at=T0)
    return Status(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_round_trip_and_no_temporary_files_left(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    written = status(totals=Totals(3, 450, 150, day="2027-01-15"), last_paypay_ok_at=T0 - 5)
    write_status(path, written)
    write_status(path, written)
    assert read_status(path) == written
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_missing_and_corrupt_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StatusError, match="does not exist: the kiosk has not run"):
        read_status(tmp_path / "status.json")
    (tmp_path / "status.json").write_text("{half")
    with pytest.raises(StatusError, match="is not a kiosk status file"):
        read_status(tmp_path / "status.json")


def test_under_systemd_the_status_lives_on_run_behind_a_symlink(tmp_path: Path) -> None:
    """The heartbeat goes to RuntimeDirectory (a tmpfs), never the SD card; a reader that only
    knows the state directory still finds it, and says where it looked once /run is empty."""
    state, run = tmp_path / "var-lib-kiosk", tmp_path / "run-kiosk"
    state.mkdir()
    run.mkdir()
    (state / "status.json").write_text("left by an older release")
    written_to = place_status(state, str(run))
    assert written_to == run / "status.json"
    assert (state / "status.json").readlink() == run / "status.json"
    write_status(written_to, status())
    assert read_status(state / "status.json") == status()
    assert place_status(state, str(run)) == written_to  # idempotent across restarts
    (run / "status.json").unlink()  # a reboot empties /run
    with pytest.raises(StatusError, match=f"status.json -> {run}/status.json does not exist"):
        read_status(state / "status.json")
    assert place_status(state, None) == state / "status.json"  # by hand: a plain file
    assert not (state / "status.json").is_symlink()


def test_describe_running_and_stale() -> None:
    s = status(
        state="awaiting_payment",
        merchant_payment_id="kiosk-1-0007",
        totals=Totals(3, 450, 150, day="2027-01-15"),
        last_paypay_ok_at=T0 - 4,
    )
    lines = describe(s, now=T0 + 5)
    assert lines[0] == "kiosk:            running, pid 4242, mode demo"
    assert lines[1] == "state:            awaiting_payment sale kiosk-1-0007"
    assert lines[2].startswith("last PayPay call: ") and lines[2].endswith("(9 s ago)")
    assert lines[3] == "today (2027-01-15): 3 sales, 450 yen, 150 yen refunded"
    assert lines[4] == "journal:          ok"
    assert describe(s, now=T0 + 600)[0].startswith("kiosk:            NOT RUNNING (no update")


def test_describe_shows_times_in_the_display_time_zone() -> None:
    """Japan time by default whatever the host's zone (it was the host's); another zone when
    display_time_zone says so."""
    from kiosk.domain import time_zone

    s = status(last_paypay_ok_at=T0 - 4)
    assert describe(s, now=T0)[2] == "last PayPay call: 2027-01-15T16:59:56+09:00 (4 s ago)"
    utc = describe(s, now=T0, zone=time_zone("UTC"))
    assert utc[2] == "last PayPay call: 2027-01-15T07:59:56+00:00 (4 s ago)"
    assert utc[-1] == "status updated:   2027-01-15T08:00:00+00:00 (0 s ago)"


def test_describe_a_cleanly_stopped_kiosk_is_not_running() -> None:
    """Right after a SIGTERM the file is fresh but says "stopped": the first line must not
    claim "running" (is_running, the exit code and stderr already say it is not)."""
    lines = describe(status(state="stopped"), now=T0 + 2)
    assert lines[0] == "kiosk:            NOT RUNNING (stopped), pid 4242, mode demo"


def test_keeper_writes_on_change_and_heartbeat(tmp_path: Path) -> None:
    now = [T0]
    path = tmp_path / "status.json"
    keeper = StatusKeeper(path, status(), clock=lambda: now[0])
    assert read_status(path).state == "idle"
    now[0] = T0 + 1
    keeper.update(state="creating", merchant_payment_id="m1")
    assert (read_status(path).state, read_status(path).updated_at) == ("creating", T0 + 1)
    now[0] = T0 + 5
    keeper.heartbeat()  # too soon: not rewritten
    assert read_status(path).updated_at == T0 + 1
    now[0] = T0 + 12
    keeper.heartbeat()
    assert read_status(path).updated_at == T0 + 12
    assert keeper.current == read_status(path)


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}") if error.code == 503 else {}


def test_healthz_on_localhost(tmp_path: Path) -> None:
    current = [status()]
    server = HealthServer(0, lambda: current[0], clock=lambda: T0 + 1)
    server.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        assert get(base + "/healthz") == (200, {"ok": True, "state": "idle", "issue": None})
        current[0] = status(state="out_of_service", issue="network")
        assert get(base + "/healthz") == (
            503,
            {"ok": False, "state": "out_of_service", "issue": "network"},
        )
        assert get(base + "/other")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


class Shop:
    """What LoopNotify reads from the runner: no sale in progress, and today's totals."""

    def __init__(self) -> None:
        self.totals = Totals(count=2, amount_yen=300, refunded_yen=0, day="2027-01-15")

    def current_sale(self) -> None:
        return None

    def service_issue(self) -> None:
        return None

    def engine_alive(self) -> bool:
        return True

    def totals_today(self) -> Totals:
        return self.totals


def test_totals_in_the_status_are_at_most_10_s_old(tmp_path: Path) -> None:
    """A refund made by `kiosk refund` (another process) changes the journal's totals; the
    status shows it at the first loop ping 10 s after the last read (it was 30 s)."""
    now = [T0]
    shop = Shop()
    keeper = StatusKeeper(tmp_path / "status.json", status(), clock=lambda: now[0])
    notify = LoopNotify(Notifier(None), keeper, shop, clock=lambda: now[0])  # type: ignore[arg-type]
    notify("WATCHDOG=1")
    assert read_status(tmp_path / "status.json").totals.refunded_yen == 0
    shop.totals = Totals(count=2, amount_yen=300, refunded_yen=150, day="2027-01-15")
    now[0] = T0 + 9.9
    notify("WATCHDOG=1")
    assert read_status(tmp_path / "status.json").totals.refunded_yen == 0
    now[0] = T0 + 10.0
    notify("WATCHDOG=1")
    assert read_status(tmp_path / "status.json").totals.refunded_yen == 150
