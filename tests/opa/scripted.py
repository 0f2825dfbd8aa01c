"""A socket-free HTTP transport for client tests: scripted answers, every request recorded.

It implements ``kiosk.opa.http_transport.HttpTransport`` (``send`` and ``close``), so the
client's real signing, answer judging and retry policy run on top of it exactly as they run on
urllib3. Each step of the script is an ``HttpAnswer``, a ``NoAnswer`` to raise, or a function
of the request (to echo it, or to check it).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

from kiosk.opa.http_transport import HttpAnswer, HttpRequest, Limits, NoAnswer

Step = HttpAnswer | NoAnswer | Callable[[HttpRequest], HttpAnswer]
JSON = {"Content-Type": "application/json"}


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
    """An answer with a JSON body (dict or list) or raw bytes/str, JSON content type."""
    if isinstance(body, dict | list):
        raw = json.dumps(body).encode()
    else:
        raw = body.encode() if isinstance(body, str) else body
    return HttpAnswer(status, JSON | (headers or {}), raw)


def success(data: Any = None, status: int = 200, code: str = "SUCCESS") -> HttpAnswer:
    return answer(status, {"resultInfo": {"code": code, "codeId": "08100001"}, "data": data})


class ScriptedTransport:
    def __init__(self, *steps: Step) -> None:
        self.steps: deque[Step] = deque(steps)
        self.sent: list[tuple[HttpRequest, Limits]] = []
        self.closed = False

    def send(self, request: HttpRequest, limits: Limits) -> HttpAnswer:
        self.sent.append((request, limits))
        step = self.steps.popleft()
        if isinstance(step, NoAnswer):
            raise step
        return step if isinstance(step, HttpAnswer) else step(request)

    def close(self) -> None:
        self.closed = True
