"""`kiosk check-config`: load everything `kiosk run` would, report it, start nothing."""

from __future__ import annotations

import argparse
import os
import sys

from kiosk.commands.common import (
    ExitCode,
    load_secrets,
    load_settings,
    require_credentials,
    say,
    state_source,
)
from kiosk.resources import example_config


def run_check_config(args: argparse.Namespace) -> int:
    if args.print_example:
        sys.stdout.write(
            example_config()
        )  # package data, kept equal to the options table by a test
        return ExitCode.OK
    env = os.environ
    config = load_settings(args, env)
    credentials = load_secrets(env)
    require_credentials(config, credentials)
    if credentials is None:
        creds = "none (demo mode uses the built-in simulator)"
    elif config.mode.value == "demo":
        creds = f"found in {credentials.source}; demo mode signs simulator calls with them"
    else:
        creds = f"found in {credentials.source}"
    entry = (
        f"{len(config.catalogue)} catalogue items"
        if config.entry == "catalogue"
        else f"amount entry up to {config.amount_max_yen} yen"
    )
    say("configuration OK")
    say(f"  read from:   {'; '.join(config.sources)}")
    say(f"  mode:        {config.mode.value}  merchant: {config.merchant_id or '-'}")
    say(f"  sale:        {entry}; QR {config.qr_timeout_s} s, poll {config.poll_interval_s} s")
    say(f"  vend:        {config.vend.adapter.value}; preauth {str(config.preauth).lower()}")
    pin = "PIN set" if config.attendant.pin_hash else "demo PIN 1234 (set pin_hash)"
    say(f"  attendant:   {pin}")
    state, why = state_source(config, env)
    say(f"  state dir:   {state} ({why})")
    say(f"  credentials: {creds}")
    return ExitCode.OK
