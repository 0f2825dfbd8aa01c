"""The dependency rules of docs/architecture.md, checked on the source itself."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kiosk"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


PURE = [
    "domain.py",
    "sale/__init__.py",
    "sale/machine.py",
    "sale/model.py",
    "sale/handlers.py",
    "opa/signing.py",
]
IMPURE_ROOTS = {
    "pygame",
    "requests",
    "urllib3",
    "http",
    "time",
    "random",
    "socket",
    "sqlite3",
    "threading",
}


@pytest.mark.parametrize("relative", PURE)
def test_pure_modules_import_no_io_clock_or_randomness(relative: str) -> None:
    path = PACKAGE / relative
    if not path.exists():
        pytest.skip(f"{relative} not written yet")
    roots = {name.split(".")[0] for name in _imports(path)}
    assert not roots & IMPURE_ROOTS, f"{relative} imports {sorted(roots & IMPURE_ROOTS)}"


def test_only_cli_imports_the_simulator() -> None:
    allowed = {PACKAGE / "cli.py"}
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path not in allowed
        and "simulator" not in path.relative_to(PACKAGE).parts
        and any(name.startswith("kiosk.simulator") for name in _imports(path))
    ]
    assert offenders == []


def test_nothing_below_the_ui_imports_pygame() -> None:
    below_ui = [
        p
        for p in _modules()
        if not ({"ui", "hardware"} & set(p.relative_to(PACKAGE).parts))
        and p.name not in {"cli.py", "doctor.py"}
    ]
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in below_ui
        if any(n.split(".")[0] == "pygame" for n in _imports(p))
    ]
    assert offenders == []


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
    allowed_prefixes = ("cli.py", "chaos.py", "commands/")
    assert [o for o in offenders if not o.startswith(allowed_prefixes)] == []
