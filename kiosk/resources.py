"""Files that ship inside the package: the bundled font (with its licence), the sounds and the
example configuration.

Why: the kiosk runs from a wheel installed anywhere (a release venv in /opt/kiosk, a developer's
checkout, a temporary venv in a test), so these are found through `importlib.resources`, never
by a path relative to a source tree. Operator content (catalogue images) is not here: it lives
beside the configuration (/etc/kiosk/images) and survives updates.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

FONT_FILE = "fonts/ipaexg.ttf"
EXAMPLE_CONFIG = "kiosk.example.toml"


def assets_dir() -> Path:
    """The package's assets directory on disk (pygame and SDL need real file paths)."""
    root = files("kiosk") / "assets"
    if not isinstance(root, Path):  # a zip import; installs and checkouts are directories
        raise RuntimeError(f"kiosk assets are not on a file system ({root}); install the wheel")
    return root


def example_config() -> str:
    return (assets_dir() / EXAMPLE_CONFIG).read_text(encoding="utf-8")
