"""The remote catalogue: a versioned price list the hub sends, checked, kept, applied between
sales.

Why / invariants: a catalogue that reaches the screen sets what customers are charged, so a
document is applied only whole and only after every item passed the same checks as the
configuration's (`kiosk.domain.Item`: sku, tax-inclusive price in range); a version not newer
than the one in use is refused (a late or replayed command never rolls prices back); the last
good document is kept in the state directory (written atomically), so a restart keeps selling
at the last accepted prices, and a bad document changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.domain import Item
from kiosk.fleet.schema import PayloadError

MAX_ITEMS = 200


@dataclass(frozen=True)
class Catalogue:
    version: int
    items: tuple[Item, ...]


def parse_catalogue(document: Any) -> Catalogue:
    """A catalogue document: {"version": n, "items": [{"sku", "name_ja", "name_en",
    "price_yen"}, ...]}; PayloadError naming the first problem."""
    if not isinstance(document, dict):
        raise PayloadError("catalogue document is not a JSON object")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PayloadError("catalogue version is missing or not a whole number from 1")
    raw = document.get("items")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        raise PayloadError(f"catalogue items is not a list of 1 to {MAX_ITEMS} items")
    items = [_item(n, entry) for n, entry in enumerate(raw, 1)]
    skus = [i.sku for i in items]
    if len(set(skus)) != len(skus):
        raise PayloadError("catalogue has the same sku twice")
    return Catalogue(version, tuple(items))


def _item(n: int, entry: Any) -> Item:
    if not isinstance(entry, dict):
        raise PayloadError(f"catalogue item {n} is not an object")
    names = ("sku", "name_ja", "name_en")
    for name in names:
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            raise PayloadError(f"catalogue item {n}: {name} is missing or empty")
    price = entry.get("price_yen")
    if not isinstance(price, int) or isinstance(price, bool):
        raise PayloadError(f"catalogue item {n}: price_yen is not a whole number of yen")
    try:
        return Item(entry["sku"], entry["name_ja"], entry["name_en"], price)
    except ValueError as exc:
        raise PayloadError(f"catalogue item {n}: {exc}") from None


def to_document(catalogue: Catalogue) -> dict[str, Any]:
    items = [
        {"sku": i.sku, "name_ja": i.name_ja, "name_en": i.name_en, "price_yen": i.price_yen}
        for i in catalogue.items
    ]
    return {"version": catalogue.version, "items": items}


class CatalogueStore:
    """The last good catalogue, as one JSON file beside the journal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Catalogue | None:
        try:
            return parse_catalogue(json.loads(self.path.read_text("utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # PayloadError is a ValueError
            raise PayloadError(f"the kept catalogue {self.path} cannot be read: {exc}") from None

    def save(self, catalogue: Catalogue) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(to_document(catalogue), f, ensure_ascii=False, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
