"""Simulator load: 200 kiosks polling payment details, compressed in time; then saturation.

The simulator runs as its own process (`python -m kiosk simulator`), as on a kiosk's LAN, so
the load generator does not share its interpreter lock. Phase 1 paces 200 kiosks that each
poll every 4 s, compressed 2x (one poll per kiosk every 2 s: 100 req/s offered, twice the
real load; BENCH_SIM_COMPRESSION changes it) and reports
the p99 latency; phase 2 runs closed-loop clients back to back and reports requests/s.
Bounded: about 15 s in all.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator

import requests

from bench.common import figure, median_ms, percentile_ms, simulator_process
from kiosk.opa.signing import auth_header

KEY, SECRET, MERCHANT = "bench_key", "bench_secret", "bench_merchant"
KIOSKS = 200
POLL_S = 4.0
COMPRESSION = float(os.environ.get("BENCH_SIM_COMPRESSION", "2"))
PACED_S = 8.0
SATURATION_S = 4.0
LOAD_THREADS = 20
CLOSED_LOOP_CLIENTS = 8


class Signer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self._nonces = (f"{i:08x}" for i in itertools.count())

    def call(self, method: str, path: str, body: str | None = None) -> requests.Response:
        content_type = "application/json;charset=UTF-8" if body else None
        header = auth_header(
            api_key=KEY,
            api_secret=SECRET,
            method=method,
            path=path,
            nonce=next(self._nonces),
            epoch=int(time.time()),
            content_type=content_type,
            body=body,
        )
        headers = {"Authorization": header, "X-ASSUME-MERCHANT": MERCHANT}
        if content_type:
            headers["Content-Type"] = content_type
        return self.session.request(
            method, self.base_url + path, data=body, headers=headers, timeout=15
        )


def _create_codes(base_url: str) -> list[str]:
    signer = Signer(base_url)
    mpids = [f"BENCH-{i:04d}" for i in range(KIOSKS)]
    for mpid in mpids:
        body = (
            f'{{"merchantPaymentId":"{mpid}","amount":{{"amount":500,"currency":"JPY"}},'
            f'"codeType":"ORDER_QR","requestedAt":{int(time.time())}}}'
        )
        assert signer.call("POST", "/v2/codes", body).status_code == 201
    return mpids


def _paced(base_url: str, mpids: list[str]) -> tuple[list[float], int]:
    interval_s = POLL_S / COMPRESSION
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def worker(index: int) -> None:
        signer = Signer(base_url)
        mine = mpids[index::LOAD_THREADS]
        # Each kiosk starts at its own offset inside the interval, as real kiosks would.
        schedule = [
            (start + interval_s * (k * LOAD_THREADS + index) / len(mpids), m)
            for k, m in enumerate(mine)
        ]
        local: list[float] = []
        while True:
            schedule.sort()
            due, mpid = schedule[0]
            if due - start > PACED_S:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            sent = time.monotonic()
            status = signer.call("GET", f"/v2/codes/payments/{mpid}").status_code
            local.append(time.monotonic() - sent)
            if status != 200:
                errors[0] += 1
            schedule[0] = (due + interval_s, mpid)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def _saturate(base_url: str, mpids: list[str]) -> int:
    counts = [0] * CLOSED_LOOP_CLIENTS
    stop_at = time.monotonic() + SATURATION_S

    def worker(index: int) -> None:
        signer = Signer(base_url)
        for mpid in itertools.cycle(mpids[index::CLOSED_LOOP_CLIENTS]):
            if time.monotonic() >= stop_at:
                return
            signer.call("GET", f"/v2/codes/payments/{mpid}")
            counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLOSED_LOOP_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def run() -> Iterator[dict[str, object]]:
    env = {"PAYPAY_API_KEY": KEY, "PAYPAY_API_SECRET": SECRET, "PAYPAY_MERCHANT_ID": MERCHANT}
    with simulator_process(env) as base_url:
        mpids = _create_codes(base_url)
        latencies, errors = _paced(base_url, mpids)
        offered = KIOSKS * COMPRESSION / POLL_S
        yield figure(
            "simulator_p99_ms",
            percentile_ms(latencies, 99),
            "ms",
            median_ms=round(median_ms(latencies), 3),
            requests=len(latencies),
            errors=errors,
            kiosks=KIOSKS,
            offered_req_per_s=offered,
            compression=COMPRESSION,
        )
        done = _saturate(base_url, mpids)
        yield figure(
            "simulator_req_per_s",
            done / SATURATION_S,
            "req/s",
            clients=CLOSED_LOOP_CLIENTS,
            endpoint="get_code_payment",
        )


if __name__ == "__main__":
    import json

    for result in run():
        print(json.dumps(result))
