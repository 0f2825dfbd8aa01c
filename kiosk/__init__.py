"""PayPay QR kiosk: a full-screen payment terminal with its own PayPay OPA client and simulator."""

__version__ = "0.1.0"
