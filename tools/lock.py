"""`make lock`: write requirements.lock, the exact versions every kiosk installs.

Why: install.sh installs a release with `--constraint requirements.lock`, so every kiosk of a
fleet (and every reinstall of one) runs the same versions of pygame-ce, Pillow, urllib3 and the
rest, and a wheelhouse made from the lock installs offline. The versions are pip's own
resolution of the runtime dependencies (with the gpio and fleet extras: install.sh --fleet
installs the latter) plus the build backend, read from
`pip install --dry-run --report`, so nothing here re-implements resolution.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
BUILD = "setuptools"  # the build backend: install.sh builds the release without isolation
HEADER = (
    "# The versions install.sh installs (pip --constraint). Regenerate with `make lock`;\n"
    "# runtime dependencies with the gpio and fleet extras, and the build backend.\n"
)


def resolved(report: dict[str, object]) -> list[str]:
    """`name==version` lines for everything pip would install, the kiosk itself excepted."""
    lines = []
    install = report.get("install")
    assert isinstance(install, list), "pip report without an install list"
    for item in install:
        metadata = item["metadata"]
        if metadata["name"] != "paypay-kiosk":
            lines.append(f"{metadata['name'].lower()}=={metadata['version']}")
    return sorted(lines)


def main() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--report", "-", f"{ROOT}[gpio,fleet]", BUILD],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    LOCK.write_text(HEADER + "\n".join(resolved(json.loads(done.stdout))) + "\n", "utf-8")
    sys.stdout.write(f"wrote {LOCK}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
