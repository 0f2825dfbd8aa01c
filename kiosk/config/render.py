"""The example TOML and the option table in docs/configuration.md, generated from `OPTIONS`.

Why generated: hand-kept copies drift; a test compares the committed files with these outputs
(`python -m tests.ops.sync_generated` rewrites them).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from kiosk.config.options import OPTIONS, Kind, Option
from kiosk.domain import Item

HEADER = """\
# PayPay QR kiosk configuration. Generated from kiosk/config/options.py: do not edit by hand
# in the repository; copy it to /etc/kiosk/kiosk.toml and edit that copy.
# Secrets (PAYPAY_API_KEY, PAYPAY_API_SECRET) never go here: see docs "Credentials".
# Every option can be overridden by an environment variable KIOSK_<OPTION>, dots as
# underscores (display.width -> KIOSK_DISPLAY_WIDTH). Check a file: kiosk check-config.
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _comment(option: Option) -> str:
    text = f"{option.help}. Allowed: {option.allowed}."
    return "\n".join("# " + line for line in textwrap.wrap(text, 96))


def _item_table(item: Item) -> str:
    lines = ["[[catalogue]]"]
    for key in ("sku", "name_ja", "name_en", "price_yen", "image"):
        value = getattr(item, key)
        if value is not None:
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines)


def example_toml() -> str:
    """Top-level options first (TOML puts later keys in the last table), then each section,
    then the catalogue as [[catalogue]] tables."""
    blocks = [HEADER]
    section = ""
    for option in (o for o in OPTIONS if "." not in o.name and o.kind is not Kind.ITEMS):
        blocks.append(f"{_comment(option)}\n{option.name} = {toml_value(option.default)}\n")
    for option in (o for o in OPTIONS if "." in o.name):
        prefix, key = option.name.split(".", 1)
        if prefix != section:
            section = prefix
            blocks.append(f"[{section}]\n")
        blocks.append(f"{_comment(option)}\n{key} = {toml_value(option.default)}\n")
    for option in (o for o in OPTIONS if o.kind is Kind.ITEMS):
        blocks.append(_comment(option))
        blocks.extend(_item_table(item) + "\n" for item in option.default)
    return "\n".join(blocks)


def _default_text(option: Option) -> str:
    if option.kind is Kind.ITEMS:
        return f"{len(option.default)} demo items"
    return "`" + toml_value(option.default) + "`"


def markdown_table() -> str:
    rows = [
        "| option | type | default | allowed | environment | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        env = "-" if o.kind is Kind.ITEMS else f"`{o.env_name}`"
        cells = [f"`{o.name}`", o.kind.value, _default_text(o), o.allowed, env, o.help]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
