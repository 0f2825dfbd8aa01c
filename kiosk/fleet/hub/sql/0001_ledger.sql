-- The fleet ledger, version 1. Every table that holds a kiosk's fact is keyed by the kiosk too:
-- one kiosk can never overwrite another's sale, even by reusing its ids.
CREATE TABLE kiosks (
    kiosk text PRIMARY KEY,
    online boolean NOT NULL DEFAULT false,
    last_seen timestamptz,
    screen text NOT NULL DEFAULT '',
    out_of_service boolean NOT NULL DEFAULT false,
    out_of_service_reason text NOT NULL DEFAULT '',
    held integer NOT NULL DEFAULT 0,
    backlog integer NOT NULL DEFAULT 0,
    last_seq bigint NOT NULL DEFAULT 0,
    service_seq bigint NOT NULL DEFAULT 0,
    health_seq bigint NOT NULL DEFAULT 0
);

-- every fact as received; (kiosk, key) makes a redelivery a no-op
CREATE TABLE events (
    kiosk text NOT NULL,
    key text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    data jsonb NOT NULL,
    PRIMARY KEY (kiosk, key)
);
CREATE INDEX events_kiosk_seq ON events (kiosk, seq);

-- each sale's latest state: a fact with a lower seq than the stored one changes nothing
CREATE TABLE sales (
    kiosk text NOT NULL,
    merchant_payment_id text NOT NULL,
    amount_yen integer NOT NULL CHECK (amount_yen >= 0),
    description text NOT NULL DEFAULT '',
    state text NOT NULL,
    paid boolean NOT NULL,
    payment_id text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (kiosk, merchant_payment_id)
);
CREATE INDEX sales_created ON sales (created_at);

CREATE TABLE refunds (
    kiosk text NOT NULL,
    merchant_refund_id text NOT NULL,
    merchant_payment_id text NOT NULL,
    amount_yen integer NOT NULL CHECK (amount_yen >= 0),
    status text NOT NULL,
    at timestamptz NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (kiosk, merchant_refund_id)
);
CREATE INDEX refunds_sale ON refunds (kiosk, merchant_payment_id);

-- open alerts have cleared_at NULL; at most one open alert per kiosk, kind and subject
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    kiosk text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL DEFAULT '',
    detail text NOT NULL,
    raised_at timestamptz NOT NULL,
    cleared_at timestamptz
);
CREATE UNIQUE INDEX alerts_open ON alerts (kiosk, kind, subject) WHERE cleared_at IS NULL;

-- commands the hub sent and the kiosks' replies
CREATE TABLE commands (
    command_id text PRIMARY KEY,
    kiosk text NOT NULL,
    kind text NOT NULL,
    body jsonb NOT NULL,
    sent_at timestamptz NOT NULL,
    result text,
    reason text,
    replied_at timestamptz
);

-- payloads the hub could not read: kept for the operator, never silently dropped
CREATE TABLE rejected (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    error text NOT NULL,
    payload text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
