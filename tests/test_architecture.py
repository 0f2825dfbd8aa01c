"""The dependency rule of docs/architecture.md, checked on the source itself.

`violations(path, source)` judges one module; the tests run it over the whole package, and
feed it modules that break each rule to show that it would notice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kiosk"

# docs/architecture.md, "The dependency rule": a package imports only packages in lower rows
ROWS: dict[str, int] = {
    "domain": 0,
    "sale": 1,
    "opa": 2,
    "hardware": 2,
    "resources": 2,
    "engine": 3,
    "ops": 3,
    "fleet": 5,  # the optional fleet: builds on engine, ops and config; only commands import it
    "config": 4,
    "ui": 5,
    "commands": 6,
    "cli": 7,
    "__main__": 8,
}
# no I/O, no pygame, no clock, no randomness
PURE = ("domain", "sale", "opa.signing", "opa.retry", "opa.answers", "opa.models")
IMPURE = {
    "pygame",
    "urllib3",
    "requests",
    "urllib",
    "http",
    "socket",
    "ssl",
    "sqlite3",
    "subprocess",
    "threading",
    "asyncio",
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "time",
    "random",
    "secrets",
    "uuid",
}
SIMULATOR_MAY_IMPORT = {"domain", "opa.signing", "simulator"}
SIMULATOR_IMPORTED_BY = {"cli", "commands", "simulator"}  # the composition root (and tests)
PYGAME_ALLOWED = {"ui", "hardware", "ops.doctor", "commands", "cli"}  # doctor: the display


def module_name(path: Path) -> str:
    """kiosk/sale/model.py -> 'sale.model'; kiosk/sale/__init__.py -> 'sale'."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, source: str) -> set[str]:
    """Every module `source` imports, absolute, anywhere in the file (lazy imports too).

    Relative imports are resolved against `path`; `from kiosk import opa` names `kiosk.opa`.
    """
    package = ["kiosk", *module_name(path).split(".")]
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.update(f"{module}.{a.name}" if a.name != "*" else module for a in node.names)
    return found


def _owner(name: str) -> str:
    """The unit a kiosk module belongs to: its package, or 'opa.signing' and 'ops.doctor'."""
    parts = name.split(".")
    if parts[:2] in (["opa", "signing"], ["ops", "doctor"]):
        return ".".join(parts[:2])
    return parts[0]


def _row(unit: str) -> int | None:
    return ROWS.get(unit.split(".")[0])


def violations(path: Path, source: str) -> list[str]:
    """What is wrong with the imports of the module at `path` (inside kiosk/) holding `source`."""
    me = _owner(module_name(path))
    problems = []
    for name in sorted(imported(path, source)):
        root = name.split(".")[0]
        if me in PURE and root in IMPURE:
            problems.append(f"pure {me} imports {name}")
        if root == "pygame" and not {me, me.split(".")[0]} & PYGAME_ALLOWED:
            problems.append(f"{me} imports pygame (only the UI and hardware draw or beep)")
        if root != "kiosk" or name == "kiosk.__version__":
            continue
        target = _owner(name.removeprefix("kiosk."))
        if target.split(".")[0] == me.split(".")[0]:
            continue
        if target == "simulator" and me.split(".")[0] not in SIMULATOR_IMPORTED_BY:
            problems.append(f"{me} imports {name} (only the composition root may)")
        elif me == "simulator" and target not in SIMULATOR_MAY_IMPORT:
            problems.append(f"the simulator imports {name} (it stands apart from the kiosk)")
        elif me != "simulator" and target != "simulator":
            mine, theirs = _row(me), _row(target)
            if mine is None or theirs is None:
                problems.append(f"{me} -> {name}: a package missing from ROWS")
            elif theirs >= mine:
                problems.append(f"{me} (row {mine}) imports {name} (row {theirs})")
    return problems


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_keeps_the_dependency_rule() -> None:
    found = {
        str(p.relative_to(ROOT)): violations(p, p.read_text(encoding="utf-8")) for p in _modules()
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_every_package_has_a_row() -> None:
    units = {module_name(p).split(".")[0] for p in _modules() if module_name(p)}
    assert units - set(ROWS) - {"simulator"} == set()


def _at(relative: str) -> Path:
    return PACKAGE / relative


@pytest.mark.parametrize(
    ("relative", "source", "complaint"),
    [
        ("sale/model.py", "import time\n", "pure sale imports time"),
        ("sale/handlers.py", "from random import random\n", "pure sale imports random"),
        ("domain.py", "import sqlite3\n", "pure domain imports sqlite3"),
        ("opa/signing.py", "import urllib3\n", "pure opa.signing imports urllib3"),
        ("sale/machine.py", "def f():\n    import pygame\n", "pure sale imports pygame"),
        ("domain.py", "from kiosk.engine.journal import Journal\n", "domain (row 0) imports"),
        ("sale/model.py", "from kiosk.opa import Client\n", "sale (row 1) imports kiosk.opa"),
        ("engine/worker.py", "from kiosk.ui.app import run\n", "engine (row 3) imports"),
        ("engine/runner.py", "from kiosk import config\n", "engine (row 3) imports kiosk.config"),
        ("ui/app.py", "from kiosk.commands import run\n", "ui (row 5) imports"),
        ("opa/client.py", "from kiosk.hardware import vend\n", "opa (row 2) imports"),
        ("sale/handlers.py", "from ..engine import clock\n", "sale (row 1) imports kiosk.engine"),
        ("ui/app.py", "from kiosk.simulator import start\n", "only the composition root"),
        ("engine/effects.py", "import kiosk.simulator.app\n", "only the composition root"),
        ("simulator/app.py", "from kiosk.engine.clock import JST\n", "the simulator imports"),
        ("config/load.py", "import pygame\n", "config imports pygame"),
    ],
)
def test_the_checker_catches_a_violating_import(relative: str, source: str, complaint: str) -> None:
    problems = violations(_at(relative), source)
    assert any(complaint in p for p in problems), problems


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        ("engine/worker.py", "from kiosk.sale.machine import step\nimport time\n"),
        ("ui/app.py", "import pygame\nfrom kiosk.domain import Phase\n"),
        ("cli.py", "from kiosk.simulator.command import run_simulator\n"),
        ("commands/run.py", "from kiosk.ui.app import run\nfrom kiosk.engine import runner\n"),
        ("simulator/server.py", "from kiosk.opa.signing import verify\nimport socket\n"),
        ("sale/handlers.py", "from .model import Sale\nfrom kiosk.domain import Order\n"),
        ("opa/client.py", "from kiosk import __version__\nimport urllib3\n"),
    ],
)
def test_the_checker_lets_allowed_imports_through(relative: str, source: str) -> None:
    assert violations(_at(relative), source) == []


def test_library_code_never_prints() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    allowed_prefixes = ("cli.py", "commands/")
    assert [o for o in offenders if not o.startswith(allowed_prefixes)] == []
