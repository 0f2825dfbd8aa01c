"""Client call latency and throughput against the simulator on loopback.

``client_call_ms_median``: the median of every single call (QR create and QR details, >= 200 of
each), measured around ``client.Code.*`` so it includes validation, signing, JSON, the HTTP
round trip on one kept-alive connection, the simulator's work and the envelope check.
``client_calls_per_s``: the same calls back to back, sequential, one connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from bench.common import figure, median_ms, percentile_ms
from kiosk import opa

CALLS = 300  # of each kind
WARMUP = 20


def _order(merchant_payment_id: str) -> dict[str, object]:
    return {
        "merchantPaymentId": merchant_payment_id,
        "amount": {"amount": 500, "currency": "JPY"},
        "codeType": "ORDER_QR",
        "orderDescription": "Coffee",
    }


def run() -> Iterator[dict[str, object]]:
    from kiosk.simulator import SimulatorConfig, start_simulator

    config = SimulatorConfig(seed=1)
    with start_simulator(config) as sim:
        client = opa.Client(auth=(config.api_key, config.api_secret), base_url=sim.base_url)
        with client:
            client.set_assume_merchant(config.merchant_id)
            for index in range(WARMUP):
                client.Code.create_qr_code(_order(f"BENCH-WARM-{index}"))
                client.Code.get_payment_details(f"BENCH-WARM-{index}")
            creates: list[float] = []
            gets: list[float] = []
            started = time.perf_counter()
            for index in range(CALLS):
                mpid = f"BENCH-{index:05d}"
                t0 = time.perf_counter()
                client.Code.create_qr_code(_order(mpid))
                t1 = time.perf_counter()
                client.Code.get_payment_details(mpid)
                t2 = time.perf_counter()
                creates.append(t1 - t0)
                gets.append(t2 - t1)
            elapsed_s = time.perf_counter() - started
            connections = _connections_opened(client)
    both = creates + gets
    yield figure(
        "client_call_ms_median",
        median_ms(both),
        "ms",
        calls=len(both),
        create_ms_median=round(median_ms(creates), 3),
        get_ms_median=round(median_ms(gets), 3),
        p99_ms=round(percentile_ms(both, 99), 3),
    )
    yield figure("client_calls_per_s", len(both) / elapsed_s, "calls/s", connections=connections)


def _connections_opened(client: opa.Client) -> int:
    """TCP connections the client's pool opened in total (1 means perfect keep-alive)."""
    pools = client._transport.http.pool_manager.pools  # type: ignore[attr-defined]
    # urllib3's RecentlyUsedContainer refuses plain iteration; keys() is its API
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118
