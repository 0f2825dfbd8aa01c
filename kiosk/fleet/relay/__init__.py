"""The hub's PayPay relay: kiosks call it as they would PayPay, with per-kiosk keys and scopes;
only the hub holds the merchant's secret. See docs/relay.md."""
