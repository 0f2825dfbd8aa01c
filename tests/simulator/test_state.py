"""``--state FILE``: every mutation is saved atomically; a restart keeps the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.simulator import SimulatorConfig, SimulatorControl, start_simulator
from tests.simulator.conftest import KEY, MERCHANT, SECRET, FakeWall
from tests.simulator.signed import Signed


def config(path: Path, wall: FakeWall) -> SimulatorConfig:
    return SimulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        merchant_id=MERCHANT,
        control=True,
        wall=wall,
        state_file=path,
        seed=1,
    )


def test_restart_keeps_codes_payments_refunds_counts_and_clock(
    tmp_path: Path, wall: FakeWall
) -> None:
    path = tmp_path / "sim.json"
    first = start_simulator(config(path, wall))
    api = Signed(first.base_url, KEY, SECRET, MERCHANT, epoch=wall)
    control = SimulatorControl(first.base_url)
    code_id = api.create("S-1", 900).json()["data"]["codeId"]
    api.create("S-2")
    payment_id = control.pay(code_id)["paymentId"]
    api.request(
        "POST",
        "/v2/refunds",
        {
            "merchantRefundId": "SR-1",
            "paymentId": payment_id,
            "amount": {"amount": 100, "currency": "JPY"},
        },
    )
    api.request("DELETE", "/v2/payments/S-2")
    control.advance_clock(60)
    saved = json.loads(path.read_text())  # saved on each mutation, before any stop
    assert len(saved["codes"]) == 2 and saved["clock_offset_s"] == 60
    before = control.ledger()
    # A crash: no stop(), no final save. The next process reads what was saved.
    second = start_simulator(config(path, wall))
    try:
        with SimulatorControl(second.base_url) as second_control:
            after = second_control.ledger()
        for key in ("codes", "payments", "creates_applied", "create_attempts", "clock_offset_s"):
            if key == "codes":
                strip = [{k: v for k, v in c.items() if k != "url"} for c in after[key]]
                assert strip == [{k: v for k, v in c.items() if k != "url"} for c in before[key]]
            else:
                assert after[key] == before[key], key
        api2 = Signed(second.base_url, KEY, SECRET, MERCHANT, epoch=wall)
        assert api2.create("S-1").json()["resultInfo"]["code"] == "DUPLICATE_DYNAMIC_QR_REQUEST"
        refund = api2.request("GET", "/v2/refunds/SR-1").json()
        assert refund["data"]["amount"]["amount"] == 100
    finally:
        control.close()
        second.stop()
        first.stop()
    assert not list(tmp_path.glob(".*.tmp"))


def test_corrupt_state_file_refuses_to_start(tmp_path: Path, wall: FakeWall) -> None:
    path = tmp_path / "sim.json"
    path.write_text('{"version": 99}')
    with pytest.raises(ValueError, match="version 1"):
        start_simulator(config(path, wall))


def test_concurrent_changes_leave_a_complete_state_file(tmp_path: Path, wall: FakeWall) -> None:
    import threading

    path = tmp_path / "sim.json"
    sim = start_simulator(config(path, wall))
    try:

        def kiosk(index: int) -> None:
            api = Signed(sim.base_url, KEY, SECRET, MERCHANT, epoch=wall)
            for n in range(5):
                assert api.create(f"CS-{index}-{n}").status_code == 201

        threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saved = json.loads(path.read_text())
        assert len(saved["codes"]) == 30 and sum(saved["creates_applied"].values()) == 30
    finally:
        sim.stop()
