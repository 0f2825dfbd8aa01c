"""The fleet: kiosks report to an MQTT broker; a hub keeps the ledger in PostgreSQL.

kiosk side: schema (topics, payloads), outbox (rows in the journal), publisher (to the broker);
hub side: kiosk.fleet.hub. A kiosk without a `fleet.url` imports none of this.
"""
