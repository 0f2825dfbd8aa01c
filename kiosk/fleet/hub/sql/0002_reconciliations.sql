-- Nightly reconciliation: each sale of a day (JST) against PayPay's own answer.
CREATE TABLE reconciliations (
    id bigserial PRIMARY KEY,
    day date NOT NULL,
    run_at timestamptz NOT NULL,
    kiosk text NOT NULL,
    merchant_payment_id text NOT NULL,
    ledger_state text NOT NULL,
    ledger_net_yen integer NOT NULL,
    paypay_status text NOT NULL,
    paypay_net_yen integer NOT NULL,
    verdict text NOT NULL CHECK (verdict IN ('ok', 'explained', 'flagged', 'unknown')),
    detail text NOT NULL
);
CREATE INDEX reconciliations_day ON reconciliations (day, kiosk);
