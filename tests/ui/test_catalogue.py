"""The string catalogue: both languages complete, same placeholders, every glyph in the font."""

from __future__ import annotations

import string

import pygame.freetype
import pytest

from kiosk.sale.model import TERMINAL_STATES, State
from kiosk.ui.i18n import CATALOGUE, LANGUAGES, STATUS_KEYS, Strings, format_yen, other_language
from kiosk.ui.theme import ASSETS, FONT_FILE
from tests.ui.scenes import ITEMS


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders() -> None:
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), key
        assert _placeholders(texts["ja"]) == _placeholders(texts["en"]), key


def test_the_bundled_font_has_every_glyph_the_kiosk_can_show() -> None:
    pygame.freetype.init()
    font = pygame.freetype.Font(str(ASSETS / FONT_FILE), 24)
    texts = [t for texts in CATALOGUE.values() for t in texts.values()]
    texts += [f"{i.name_ja}{i.name_en}" for i in ITEMS]
    texts += [format_yen(1234567), string.digits, string.ascii_letters, string.punctuation]
    missing = sorted(
        {
            ch
            for text in texts
            for ch, m in zip(text, font.get_metrics(text), strict=True)
            if m is None
        }
    )
    assert missing == []


def test_the_glyph_check_does_catch_a_missing_glyph() -> None:
    pygame.freetype.init()
    font = pygame.freetype.Font(str(ASSETS / FONT_FILE), 24)
    assert font.get_metrics("\U0001f600")[0] is None  # an emoji: not in IPAex


def test_the_licence_is_bundled_beside_the_font() -> None:
    licence = (ASSETS / "fonts" / "IPA_Font_License_Agreement_v1.0.txt").read_text("utf-8")
    assert "IPA Font License Agreement v1.0" in licence


def test_strings_format_and_fall_back() -> None:
    en, ja = Strings("en"), Strings("ja")
    assert en("seconds_left", seconds=5) == "5 s left"
    assert ja("seconds_left", seconds=5) == "残り 5 秒"
    assert en.reason("expired") == CATALOGUE["reason_expired"]["en"]
    assert en.reason("something_new") == CATALOGUE["reason_default"]["en"]
    assert en.reason(None) == CATALOGUE["reason_default"]["en"]
    assert en.status("COMPLETED") == "Paid" and en.status("WEIRD") == "WEIRD"
    assert all(key in CATALOGUE for key in STATUS_KEYS.values())
    assert other_language("ja") == "en" and other_language("en") == "ja"
    assert format_yen(1234567) == "¥1,234,567"
    with pytest.raises(ValueError, match="language"):
        Strings("fr")


def test_every_sale_state_reads_as_words_on_the_attendant_list() -> None:
    """An unfinished sale (a code watched in the background while the kiosk sells) says
    "In progress"; every state has words, none shows as the machine's name."""
    en = Strings("en")
    for state in State:
        words = en.status(state.value)
        assert words != state.value, state
        if state not in TERMINAL_STATES:
            assert words == "In progress", state
