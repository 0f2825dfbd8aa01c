"""Our client for the PayPay Open Payment API: the official Python SDK's surface, done right."""

from kiosk.opa.errors import OpaError

__all__ = ["OpaError"]
