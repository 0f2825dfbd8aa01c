"""The README's state diagram is generated from the transition table, and stays so."""

from pathlib import Path

from kiosk.sale.machine import mermaid

DOC = Path(__file__).resolve().parents[2] / "README.md"


def test_the_documented_diagram_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"```mermaid\n{mermaid()}```" in text, (
        "regenerate: python -c 'from kiosk.sale.machine import mermaid; print(mermaid())'"
    )
