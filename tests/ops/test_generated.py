"""The example TOML and the table in docs/configuration.md are exactly what the options table
generates, and the example loads as a valid configuration."""

from __future__ import annotations

from kiosk.config import defaults, load_config
from kiosk.config.render import example_toml, markdown_table
from tests.ops.sync_generated import BEGIN, DOCS, END, EXAMPLE

HINT = "out of date: run python -m tests.ops.sync_generated"


def test_example_toml_is_in_sync() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == example_toml(), HINT


def test_docs_table_is_in_sync() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    table = text.split(BEGIN)[1].split(END)[0]
    assert table == markdown_table(), HINT


def test_example_loads_to_the_defaults() -> None:
    loaded = load_config(EXAMPLE, {})
    assert loaded.catalogue == defaults().catalogue
    assert loaded == type(loaded)(**{**vars(defaults()), "sources": loaded.sources})
