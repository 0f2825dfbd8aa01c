"""The fleet hub: the PostgreSQL ledger, alerts, commands and the status page."""
