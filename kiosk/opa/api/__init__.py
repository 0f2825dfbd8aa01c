"""One module per PayPay resource, each a thin, stateless layer over the transport."""
