"""The remote catalogue: checked whole, refused unless newer, kept across restarts, and shown
by the screen between sales."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.fleet.catalogue import Catalogue, CatalogueStore, parse_catalogue, to_document
from kiosk.fleet.schema import PayloadError

GOOD = {
    "version": 3,
    "items": [
        {"sku": "latte", "name_ja": "ラテ", "name_en": "Latte", "price_yen": 380},
        {"sku": "tea", "name_ja": "お茶", "name_en": "Tea", "price_yen": 150},
    ],
}


def with_item(**change: object) -> dict[str, object]:
    item = {**GOOD["items"][0], **change}  # type: ignore[index]
    return {"version": 3, "items": [item]}


def test_a_good_document_round_trips(tmp_path: Path) -> None:
    catalogue = parse_catalogue(GOOD)
    assert catalogue.version == 3
    assert [(i.sku, i.price_yen) for i in catalogue.items] == [("latte", 380), ("tea", 150)]
    store = CatalogueStore(tmp_path / "catalogue.json")
    assert store.load() is None
    store.save(catalogue)
    assert store.load() == catalogue
    assert to_document(catalogue) == GOOD
    assert not (tmp_path / "catalogue.tmp").exists()


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "not a JSON object"),
        ({"items": GOOD["items"]}, "version is missing"),
        ({"version": 0, "items": GOOD["items"]}, "version is missing"),
        ({"version": 1, "items": []}, "not a list of 1 to 200"),
        ({"version": 1, "items": [GOOD["items"][0]] * 2}, "same sku twice"),  # type: ignore[index]
        (with_item(price_yen=0), "item 1:"),
        (with_item(price_yen=10_000_000), "item 1:"),
        (with_item(price_yen="380"), "price_yen is not a whole number"),
        (with_item(name_en=" "), "name_en is missing or empty"),
        (with_item(sku=""), "sku is missing or empty"),
    ],
)
def test_bad_documents_name_the_problem(document: object, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        parse_catalogue(document)


def test_a_damaged_kept_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text("{not json")
    with pytest.raises(PayloadError, match="cannot be read"):
        CatalogueStore(path).load()


def test_the_screen_takes_a_new_catalogue_between_sales(tmp_path: Path) -> None:
    from kiosk.commands.fleetrun import take_catalogue
    from kiosk.engine.journal import Journal
    from kiosk.fleet.link import FleetLink
    from kiosk.fleet.publisher import BrokerSettings
    from tests.ui.test_app import Kiosk

    kiosk = Kiosk()
    journal = Journal(tmp_path / "j.sqlite3")
    store = CatalogueStore(tmp_path / "catalogue.json")
    store.save(parse_catalogue(GOOD))  # accepted earlier, kept across a restart
    link = FleetLink(
        BrokerSettings(url="mqtt://127.0.0.1:9", kiosk="k1"),
        journal,
        kiosk.backend,  # type: ignore[arg-type]
        store=store,
    )  # never started: no broker needed to hand the screen its catalogue
    take_catalogue(kiosk.app, link, kiosk.backend)  # type: ignore[arg-type]
    assert [i.sku for i in kiosk.app.controller.settings.catalogue] == ["latte", "tea"]
    kiosk.tap("start")
    kiosk.app.turn()
    assert sorted(h.arg for h in kiosk.app.hits if h.action == "item") == ["latte", "tea"]
    assert link.take_catalogue() is None  # taken once
    link.publisher.reader.close()
    journal.close()
    assert isinstance(link.catalogue, Catalogue) and link.catalogue.version == 3
    assert json.loads(store.path.read_text())["version"] == 3
