"""What every resource shares: validate, then hand one call to the transport.

Why: resources hold only the transport and the clock, both shared and never written per call,
so one client is safe from many threads (the seed SDK stored the URL on the resource).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kiosk.opa import validation
from kiosk.opa.endpoints import Endpoint
from kiosk.opa.transport import Transport

Envelope = dict[str, Any]


class Resource:
    def __init__(self, transport: Transport, clock: Callable[[], float]) -> None:
        self._transport = transport
        self._clock = clock

    def _post(
        self,
        endpoint: Endpoint,
        data: object,
        rule: validation.Rule,
        *,
        query: Mapping[str, str] | None = None,
    ) -> Envelope:
        body = validation.prepare(data, rule, now_epoch=int(self._clock()))
        return self._transport.call(endpoint, query=query, body=body)

    def _by_id(
        self,
        endpoint: Endpoint,
        *fields_and_ids: tuple[str, object],
        query: Mapping[str, str] | None = None,
    ) -> Envelope:
        ids = [validation.check_id(field, value) for field, value in fields_and_ids]
        return self._transport.call(endpoint, *ids, query=query)
