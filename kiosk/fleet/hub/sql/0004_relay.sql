-- The PayPay relay (kiosk.fleet.relay): per-kiosk keys and what their limits count, shared by
-- every relay behind a load balancer (a relay keeps nothing else).
CREATE TABLE relay_keys (
    key_id text PRIMARY KEY,                 -- the kiosk's API key (public)
    kiosk text NOT NULL,                     -- terminal id: its merchantPaymentIds start "<kiosk>-"
    secret_sealed bytea NOT NULL,            -- AES-GCM under the hub master key, never in clear
    rate_per_min integer NOT NULL,
    daily_refund_limit_yen bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX relay_keys_kiosk ON relay_keys (kiosk);

CREATE TABLE relay_nonces (                  -- a nonce is accepted once per key
    key_id text NOT NULL,
    nonce text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX relay_nonces_seen ON relay_nonces (seen_at);

CREATE TABLE relay_rate (                    -- calls per key per minute window
    key_id text NOT NULL,
    window_start bigint NOT NULL,
    calls integer NOT NULL,
    PRIMARY KEY (key_id, window_start)
);

CREATE TABLE relay_payments (                -- paid sales PayPay confirmed through the relay
    payment_id text PRIMARY KEY,
    merchant_payment_id text NOT NULL,
    kiosk text NOT NULL,
    amount_yen bigint NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE relay_refunds (                 -- refunds forwarded (held back only when refused)
    merchant_refund_id text PRIMARY KEY,
    payment_id text NOT NULL,
    kiosk text NOT NULL,
    amount_yen bigint NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relay_refunds_kiosk_day ON relay_refunds (kiosk, requested_at);

CREATE TABLE relay_refusals (                -- every refusal, for the operator (no secrets)
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    key_id text,
    kiosk text,
    method text NOT NULL,
    path text NOT NULL,
    code text NOT NULL,
    reason text NOT NULL
);

CREATE TABLE relay_codes (                   -- codes created through the relay: who may delete
    code_id text PRIMARY KEY,
    merchant_payment_id text NOT NULL,
    kiosk text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
