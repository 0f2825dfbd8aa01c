"""Properties of request preparation: the caller's data is never changed, and what is sent is
exactly the compact JSON of the prepared copy."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.opa import validation
from kiosk.opa.api.codes import CREATE_RULE
from tests.opa.conftest import FakeTime, make_client
from tests.opa.server import OpaTestServer

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=8))
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "merchantPaymentId": st.one_of(st.text(max_size=70), st.integers()),
        "amount": st.one_of(
            st.integers(-5, 10**12),
            st.fixed_dictionaries(
                {"amount": st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=False))},
                optional={"currency": st.sampled_from(["JPY", "USD"])},
            ),
        ),
        "codeType": st.sampled_from(["ORDER_QR", ""]),
        "orderDescription": st.text(max_size=300),
        "isAuthorization": st.one_of(st.booleans(), st.text(max_size=3)),
        "metadata": json_value,
        "orderItems": st.lists(json_value, max_size=2),
        "requestedAt": st.one_of(st.integers(-5, 2 * 10**9), st.text(max_size=3)),
    },
)


@settings(max_examples=150, deadline=None)
@given(payloads)
def test_prepare_never_mutates_and_either_refuses_or_returns_a_valid_copy(
    data: dict[str, Any],
) -> None:
    before = copy.deepcopy(data)
    try:
        body = validation.prepare(data, CREATE_RULE, now_epoch=1_700_000_000)
    except ValueError:
        assert data == before
        return
    assert data == before
    assert body is not data
    assert 0 < len(body["merchantPaymentId"]) <= 64
    assert isinstance(body["amount"]["amount"], int) and body["amount"]["amount"] >= 1
    assert body["amount"]["currency"] == "JPY"
    assert isinstance(body["requestedAt"], int)
    assert len(body.get("orderDescription") or "") <= 255
    assert validation.prepare(body, CREATE_RULE, now_epoch=1) == body  # idempotent


valid_payloads = st.fixed_dictionaries(
    {
        "merchantPaymentId": st.text(min_size=1, max_size=64).filter(str.isprintable),
        "amount": st.fixed_dictionaries(
            {"amount": st.integers(1, 10**6), "currency": st.just("JPY")}
        ),
        "codeType": st.just("ORDER_QR"),
    },
    optional={
        "orderDescription": st.text(max_size=255),
        "metadata": json_value,
        "isAuthorization": st.booleans(),
    },
)


@settings(max_examples=30, deadline=None)
@given(st.one_of(valid_payloads, payloads))
def test_the_bytes_sent_are_the_compact_json_of_the_prepared_copy(data: dict[str, Any]) -> None:
    try:
        expected = validation.prepare(data, CREATE_RULE, now_epoch=1_700_000_000)
        wire = json.dumps(expected, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return
    clock = FakeTime()
    with OpaTestServer(now_epoch=lambda: int(clock.epoch)) as server:
        with make_client(server, clock) as client:
            client.Code.create_qr_code(data)
        (seen,) = server.seen
    assert seen.body == wire and seen.auth_error is None
