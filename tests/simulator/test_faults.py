"""Fault injection: error answers, applied-but-lost, latency, counts and probability."""

from __future__ import annotations

import pytest
import requests

from kiosk.simulator import ENDPOINTS, SimulatorControl
from tests.simulator.signed import Signed
from tests.waiting import wait_until


def code(response: requests.Response) -> str:
    return str(response.json()["resultInfo"]["code"])


@pytest.mark.parametrize(
    ("status", "fault_code", "code_id"),
    [
        (500, None, "08101000"),
        (500, "INTERNAL_SERVER_ERROR", "08101000"),
        (502, None, "08101000"),
        (503, "MAINTENANCE_MODE", "08100999"),
        (504, None, "08101000"),
        (429, "RATE_LIMIT", "08100998"),
    ],
)
def test_error_fault_is_not_applied(
    api: Signed, ctl: SimulatorControl, status: int, fault_code: str | None, code_id: str
) -> None:
    ctl.add_fault(endpoint="create_code", status=status, code=fault_code)
    response = api.create("F-1")
    assert response.status_code == status
    assert response.json()["resultInfo"]["codeId"] == code_id
    ledger = ctl.ledger()
    assert ledger["codes"] == [] and ledger["creates_applied"] == {}
    assert ledger["create_attempts"] == {"F-1": 1}
    assert api.create("F-1").status_code == 201  # times=1: gone after firing


def test_cancel_timeout_code_id_can_be_chosen(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(
        endpoint="cancel_payment", status=500, code="INTERNAL_SERVER_ERROR", code_id="00200034"
    )
    response = api.request("DELETE", "/v2/payments/F-2")
    assert response.status_code == 500 and response.json()["resultInfo"]["codeId"] == "00200034"


def test_applied_error_fault_changes_state_but_answers_500(
    api: Signed, ctl: SimulatorControl
) -> None:
    ctl.add_fault(endpoint="create_code", status=500, applied=True)
    assert api.create("F-3").status_code == 500
    assert ctl.ledger()["creates_applied"] == {"F-3": 1}
    again = api.create("F-3")
    assert code(again) == "DUPLICATE_DYNAMIC_QR_REQUEST"


def test_drop_response_applies_then_closes(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint="create_code", drop_response=True)
    with pytest.raises(requests.ConnectionError):
        api.create("F-4")
    ledger = ctl.ledger()
    assert ledger["creates_applied"] == {"F-4": 1} and ledger["codes"][0]["payable"] is True
    assert api.details("F-4").status_code == 200  # the next request works on a new connection


def test_latency_past_the_client_timeout(api: Signed, ctl: SimulatorControl) -> None:
    api.create("F-5")
    ctl.add_fault(endpoint="delete_code", latency_s=0.3)
    code_id = ctl.ledger()["codes"][0]["code_id"]
    with pytest.raises(requests.Timeout):
        api.request("DELETE", f"/v2/codes/{code_id}", timeout=0.05)
    wait_until(  # the request is still applied once the latency has passed
        lambda: ctl.ledger()["codes"][0]["status"] == "DELETED", what="the late delete applied"
    )


def test_latency_with_status(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint="get_code_payment", status=503, latency_s=0.01)
    assert api.details("x").status_code == 503


def test_times_none_fires_until_cleared_and_star_hits_every_endpoint(
    api: Signed, ctl: SimulatorControl
) -> None:
    ctl.add_fault(endpoint="*", status=502, times=None)
    assert api.create("F-6").status_code == 502
    assert api.details("F-6").status_code == 502
    assert api.request("DELETE", "/v2/payments/F-6").status_code == 502
    assert len(ctl.faults()) == 1
    ctl.clear_faults()
    assert ctl.faults() == []
    assert api.create("F-6").status_code == 201


def test_fault_targets_only_its_endpoint_and_counts_down(
    api: Signed, ctl: SimulatorControl
) -> None:
    ctl.add_fault(endpoint="get_code_payment", status=500, times=2)
    assert api.create("F-7").status_code == 201
    assert [api.details("F-7").status_code for _ in range(3)] == [500, 500, 200]


def test_probability_is_seeded(api: Signed, ctl: SimulatorControl) -> None:
    api.create("F-8")
    ctl.add_fault(endpoint="get_code_payment", status=500, times=None, probability=0.5)
    statuses = [api.details("F-8").status_code for _ in range(40)]
    assert 0 < statuses.count(500) < 40 and set(statuses) == {200, 500}


def test_bad_faults_are_400(ctl: SimulatorControl) -> None:
    bad = [
        {"endpoint": "nope", "status": 500},
        {"endpoint": "create_code"},
        {"endpoint": "create_code", "status": 200},
        {"endpoint": "create_code", "status": 500, "times": 0},
        {"endpoint": "create_code", "status": 500, "surprise": 1},
        {"endpoint": "create_code", "latency_s": "slow"},
        {"endpoint": "create_code", "status": 500, "probability": 2},
    ]
    for fault in bad:
        response = ctl.session.post(ctl.base_url + "/_sim/faults", json=fault, timeout=5)
        assert response.status_code == 400, fault
    assert ctl.faults() == []


def test_every_documented_endpoint_name_is_accepted(ctl: SimulatorControl) -> None:
    for endpoint in ENDPOINTS:
        ctl.add_fault(endpoint=endpoint, status=500)
    assert len(ctl.faults()) == len(ENDPOINTS)


def test_one_fault_for_a_list_of_endpoints(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint=["create_code", "get_code_payment"], status=500, times=2)
    assert api.create("F-9").status_code == 500
    assert api.request("DELETE", "/v2/payments/F-9").status_code == 202  # not in the list
    assert api.details("F-9").status_code == 500
    assert api.create("F-9").status_code == 201  # two firings in all, shared
    bad = ctl.session.post(ctl.base_url + "/_sim/faults", json={"endpoint": [], "status": 500})
    assert bad.status_code == 400


@pytest.mark.parametrize("status", [404, 502])
def test_a_proxy_page_has_no_envelope(api: Signed, ctl: SimulatorControl, status: int) -> None:
    api.create("F-10")
    code_id = ctl.ledger()["codes"][0]["code_id"]
    ctl.add_fault(endpoint="delete_code", status=status, envelope=False)
    response = api.request("DELETE", f"/v2/codes/{code_id}")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html"
    assert response.text.startswith("<html>") and "resultInfo" not in response.text
    assert ctl.ledger()["codes"][0]["payable"] is True  # not applied: the code is still live


def test_data_fault_applies_and_changes_the_answer(api: Signed, ctl: SimulatorControl) -> None:
    api.create("F-11")
    ctl.add_fault(endpoint="get_code_payment", data={"status": "PENDING_REVIEW"})
    assert api.details("F-11").json()["data"]["status"] == "PENDING_REVIEW"
    assert api.details("F-11").json()["data"]["status"] == "CREATED"  # fired once
    ctl.add_fault(endpoint="delete_code", data={"merchantPaymentId": "SOMEONE-ELSE"})
    code_id = ctl.ledger()["codes"][0]["code_id"]
    assert api.request("DELETE", f"/v2/codes/{code_id}").status_code == 200
    assert ctl.ledger()["codes"][0]["status"] == "DELETED"  # applied; data was null: unchanged


def test_data_fault_with_an_error_answer_is_left_alone(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint="get_code_payment", data={"status": "COMPLETED"})
    response = api.details("F-12")  # no such order: PayPay's 4xx, untouched
    assert response.status_code == 400 or response.status_code == 404
    assert response.json()["data"] is None


def test_bad_new_faults_are_400(ctl: SimulatorControl) -> None:
    bad = [
        {"endpoint": "create_code", "envelope": False},
        {"endpoint": "create_code", "status": 500, "envelope": "no"},
        {"endpoint": "create_code", "data": {}},
        {"endpoint": "create_code", "data": [1]},
        {"endpoint": "create_code", "status": 500, "data": {"status": "X"}},
        {"endpoint": "create_code", "drop_response": True, "data": {"status": "X"}},
    ]
    for fault in bad:
        response = ctl.session.post(ctl.base_url + "/_sim/faults", json=fault, timeout=5)
        assert response.status_code == 400, fault
    assert ctl.faults() == []


def test_fired_counts_every_changed_answer(api: Signed, ctl: SimulatorControl) -> None:
    ctl.add_fault(endpoint="get_code_payment", status=500, times=2)
    for _ in range(3):
        api.details("F-13")
    ctl.clear_faults()
    assert ctl.faults_fired() == 2
