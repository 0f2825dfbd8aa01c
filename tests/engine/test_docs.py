"""The state diagram in docs/money-safety.md is the one generated from the transition table."""

from pathlib import Path

from kiosk.sale.machine import mermaid

DOC = Path(__file__).resolve().parents[2] / "docs" / "money-safety.md"


def test_the_documented_diagram_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"```mermaid\n{mermaid()}```" in text, (
        "regenerate: python -c 'from kiosk.sale.machine import mermaid; print(mermaid())'"
    )
