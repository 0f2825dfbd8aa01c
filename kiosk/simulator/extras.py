"""The rest of the client's surface (payments, preauthorize, pending, subscriptions, ...)."""

from __future__ import annotations

from kiosk.simulator.routes import Route

EXTRA_ROUTES: list[Route] = []
