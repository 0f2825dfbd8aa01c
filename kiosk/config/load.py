"""Loading: defaults, then a TOML file, then `KIOSK_<OPTION>` environment variables.

Invariants:
- Load order: defaults, then the file (`--config FILE`, `$KIOSK_CONFIG` or /etc/kiosk/kiosk.toml),
  then the environment (dots become underscores: KIOSK_DISPLAY_WIDTH).
- Every problem is collected and reported at once, each naming where it came from, the option,
  the value, what is allowed and, for a typo, the nearest valid name. Nothing starts on a problem.
- Secrets never come from here: a secret-looking key in the file is refused without echoing it,
  and the PIN hash is never echoed either (a short PIN's hash can be brute-forced).
"""

from __future__ import annotations

import difflib
import math
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from kiosk.config.options import (
    BY_NAME,
    DEFAULT_PATH,
    ENV_CONFIG_PATH,
    ENV_PREFIX,
    ITEM_KEYS,
    OPTIONS,
    SECRET_WORDS,
    SECTIONS,
    Kind,
    Mode,
    Option,
    VendAdapter,
)
from kiosk.config.settings import Config, build
from kiosk.domain import MAX_AMOUNT_YEN, Item


@dataclass(frozen=True)
class Problem:
    source: str  # a file path, "environment" or "configuration"
    option: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.option}: {self.message}"


class ConfigError(Exception):
    """Every problem found; the message has one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


def nearest_name(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The closest valid name to a typo, or None when nothing is close."""
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if found:
        return found[0]
    leaf = name.rsplit(".", 1)[-1]
    leaves = {c.rsplit(".", 1)[-1]: c for c in candidates}
    found = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.75)
    return leaves[found[0]] if found else None


def _brief(value: object) -> str:
    """A value as the operator wrote it, cut short: a huge or deeply nested value is named, not
    dumped."""
    try:
        text = repr(value)
    except RecursionError:
        return f"(a deeply nested {type(value).__name__})"
    return text if len(text) <= 60 else text[:57] + "..."


def _show(option: Option, value: object) -> str:
    return "(hidden)" if option.sensitive else _brief(value)


def _coerce(option: Option, value: object) -> tuple[object, str | None]:
    """(typed value, None) or (None, why). Pure; the caller adds source and option name."""
    kind = option.kind
    if kind is Kind.BOOL:
        ok = isinstance(value, bool)
    elif kind is Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is Kind.FLOAT:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(float(value))  # type: ignore[arg-type]
        value = float(value) if ok else value  # type: ignore[arg-type]
    elif kind is Kind.CHOICE:
        ok = value in option.choices and type(value) is type(option.choices[0])
    else:
        ok = isinstance(value, str)
    if not ok:
        return None, f"{_show(option, value)} is not allowed; allowed: {option.allowed}"
    if kind in (Kind.INT, Kind.FLOAT):
        number = float(value)  # type: ignore[arg-type]
        low, high = option.minimum, option.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            return None, f"{_show(option, value)} is out of range; allowed: {option.allowed}"
    reason = option.check(value) if option.check else None
    if reason:
        return None, f"{_show(option, value)} is {reason}; allowed: {option.allowed}"
    return value, None


def _parse_env(option: Option, text: str) -> object:
    """Environment values are text: turn them into what the TOML would have held."""
    kind = option.kind
    lowered = text.strip().lower()
    if kind is Kind.BOOL:
        table = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        return table.get(lowered, text)
    if kind is Kind.INT or (kind is Kind.CHOICE and isinstance(option.choices[0], int)):
        try:
            return int(lowered)
        except ValueError:
            return text
    if kind is Kind.FLOAT:
        try:
            return float(lowered)
        except ValueError:
            return text
    return text


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS) and key not in BY_NAME


def _flatten(data: Mapping[str, Any], source: str, problems: list[Problem]) -> dict[str, Any]:
    """TOML tables to dotted names; unknown keys become problems with a suggestion."""
    flat: dict[str, Any] = {}
    names = list(BY_NAME) + list(SECTIONS)
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            for sub_key, sub_value in value.items():
                _flatten_one(f"{key}.{sub_key}", sub_value, source, problems, flat, names)
        elif key in SECTIONS:
            problems.append(Problem(source, key, f"{_brief(value)} is not a [{key}] table"))
        else:
            _flatten_one(key, value, source, problems, flat, names)
    return flat


def _flatten_one(
    name: str,
    value: Any,
    source: str,
    problems: list[Problem],
    flat: dict[str, Any],
    names: list[str],
) -> None:
    if name in BY_NAME:
        flat[name] = value
        return
    if _looks_secret(name):
        problems.append(Problem(source, name, SECRET_IN_FILE))
        return
    hint = nearest_name(name, names)
    suffix = f' (did you mean "{hint}"?)' if hint else ""
    problems.append(Problem(source, name, f"unknown option{suffix}"))


SECRET_IN_FILE = (
    "secrets are never read from the configuration file; remove this line and put the key in "
    "PAYPAY_API_KEY / PAYPAY_API_SECRET or in /etc/kiosk/credentials (see `kiosk doctor`)"
)


def _items(value: object, source: str, problems: list[Problem]) -> tuple[Item, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(Problem(source, "catalogue", "must be a list of [[catalogue]] tables"))
        return None
    items: list[Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(value):
        where = f"catalogue[{index}]"
        before = len(problems)
        for key in entry:
            if key not in ITEM_KEYS:
                hint = nearest_name(key, ITEM_KEYS)
                suffix = f' (did you mean "{hint}"?)' if hint else ""
                problems.append(Problem(source, f"{where}.{key}", f"unknown key{suffix}"))
        for key in ITEM_KEYS[:4]:
            if key not in entry:
                problems.append(Problem(source, f"{where}.{key}", "missing"))
        if len(problems) > before:
            continue
        item = _item(entry, where, source, problems)
        if item is not None and item.sku in seen:
            problems.append(Problem(source, f"{where}.sku", f"{item.sku!r} appears twice"))
        elif item is not None:
            seen.add(item.sku)
            items.append(item)
    return tuple(items)


def _item(entry: dict[str, Any], where: str, source: str, problems: list[Problem]) -> Item | None:
    texts = ("sku", "name_ja", "name_en") + (("image",) if "image" in entry else ())
    for key in texts:
        if not isinstance(entry[key], str):
            problems.append(Problem(source, f"{where}.{key}", f"{_brief(entry[key])} is not text"))
            return None
    reason = image_problem(entry.get("image"))
    if reason:
        problems.append(Problem(source, f"{where}.image", reason))
        return None
    try:
        return Item(
            entry["sku"], entry["name_ja"], entry["name_en"], entry["price_yen"], entry.get("image")
        )
    except (ValueError, TypeError) as exc:
        problems.append(Problem(source, where, f"{exc}; allowed: price_yen 1 to {MAX_AMOUNT_YEN}"))
        return None


def image_problem(image: str | None) -> str | None:
    """A catalogue picture is a path below the configuration file's directory (where the
    operator keeps images/) or an absolute path they chose; climbing out with `..` is refused."""
    if image is None:
        return None
    path = PurePosixPath(image)
    if not image or not image.isprintable():
        return f"{_brief(image)} is not a file name"
    if not path.is_absolute() and ".." in path.parts:
        return (
            f"{_brief(image)} climbs out of the configuration's directory; allowed: a path "
            "below it (e.g. images/tea.png) or an absolute path"
        )
    return None


def _apply(
    values: dict[str, Any], raw: Mapping[str, Any], source: str, problems: list[Problem]
) -> None:
    for name, value in raw.items():
        option = BY_NAME[name]
        if option.kind is Kind.ITEMS:
            items = _items(value, source, problems)
            if items is not None:
                values[name] = items
            continue
        typed, reason = _coerce(option, value)
        if reason:
            label = option.env_name if source == "environment" else name
            problems.append(Problem(source, label, reason))
        else:
            values[name] = typed


def _from_env(env: Mapping[str, str], problems: list[Problem]) -> dict[str, Any]:
    by_env = {o.env_name: o for o in OPTIONS}
    raw: dict[str, Any] = {}
    for key, text in env.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_CONFIG_PATH:
            continue
        option = by_env.get(key)
        if option is None:
            hint = nearest_name(key, [*by_env, ENV_CONFIG_PATH])
            suffix = f' (did you mean "{hint}"?)' if hint else ""
            problems.append(Problem("environment", key, f"unknown variable{suffix}"))
        elif option.kind is Kind.ITEMS:
            problems.append(Problem("environment", key, "the catalogue is set in the file only"))
        else:
            raw[option.name] = _parse_env(option, text)
    return raw


MAX_FILE_BYTES = 1 << 20  # a kiosk.toml is a few kilobytes; this is no config file


def read_file(path: Path, problems: list[Problem]) -> dict[str, Any]:
    """The file's options, flattened; each way a file can be unusable is one problem."""
    try:
        data = _parse(path)
    except _Unusable as exc:
        problems.append(Problem(str(path), "file", str(exc)))
        return {}
    return _flatten(data, str(path), problems)


class _Unusable(Exception):
    """Why a configuration file cannot be read at all."""


def _parse(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _Unusable("is a directory; give the path of the kiosk.toml file")
        if not stat.S_ISREG(info.st_mode):
            raise _Unusable("is not a regular file; give the path of the kiosk.toml file")
        if info.st_size > MAX_FILE_BYTES:
            raise _Unusable(f"is {info.st_size} bytes, too large for a kiosk.toml (1 MiB at most)")
        text = path.read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise _Unusable("not found; create it from kiosk.example.toml") from None
    except PermissionError:
        raise _Unusable("not readable by this user; check its owner") from None
    except OSError as exc:
        raise _Unusable(f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise _Unusable(
            f"not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise _Unusable(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _Unusable("not usable TOML: tables or arrays nested too deeply") from None


def choose_path(explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    """`--config` wins, then $KIOSK_CONFIG; else /etc/kiosk/kiosk.toml if it exists."""
    if explicit is not None:
        return explicit
    if env.get(ENV_CONFIG_PATH):
        return Path(env[ENV_CONFIG_PATH])
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def load_config(path: Path | None, env: Mapping[str, str]) -> Config:
    """Defaults, then ``path`` (None: defaults only), then the environment. Raises ConfigError."""
    problems: list[Problem] = []
    values: dict[str, Any] = {o.name: o.default for o in OPTIONS}
    sources = ["defaults"]
    if path is not None:
        _apply(values, read_file(path, problems), str(path), problems)
        values["catalogue"] = _images_beside(values["catalogue"], path.parent)
        sources.append(str(path))
    from_env = _from_env(env, problems)
    _apply(values, from_env, "environment", problems)
    if from_env:
        sources.append("environment: " + ", ".join(BY_NAME[n].env_name for n in from_env))
    if not problems:
        problems.extend(cross_check(values))
    if problems:
        raise ConfigError(problems)
    return build(values, tuple(sources))


def _images_beside(items: tuple[Item, ...], base: Path) -> tuple[Item, ...]:
    """A relative image path is the operator's file beside the configuration (for
    /etc/kiosk/kiosk.toml: /etc/kiosk/images/...), outside any release, so updates keep it."""
    return tuple(
        replace(item, image=str(base.absolute() / item.image))
        if item.image and not Path(item.image).is_absolute()
        else item
        for item in items
    )


def cross_check(values: Mapping[str, Any]) -> list[Problem]:
    """Rules between options; each names the option to change."""
    found = []
    paid = values["mode"] != Mode.DEMO
    mdb = values["vend.adapter"] == VendAdapter.MDB
    rules: tuple[tuple[bool, str, str], ...] = (
        (paid and not values["merchant_id"], "merchant_id", "required in sandbox and production"),
        (
            values["mode"] == Mode.PRODUCTION and not values["attendant.pin_hash"],
            "attendant.pin_hash",
            "required in production; create one with `kiosk hash-pin`",
        ),
        (
            values["entry"] == "catalogue" and not values["catalogue"],
            "catalogue",
            'empty; add [[catalogue]] items or set entry = "amount"',
        ),
        (
            values["vend.adapter"] == VendAdapter.COMMAND and not values["vend.command"].strip(),
            "vend.command",
            'required when vend.adapter = "command"',
        ),
        (
            mdb and values["mdb.mode"] == "credit" and not values["preauth"],
            "mdb.mode",
            "credit first needs preauth = true (only the vended price is captured)",
        ),
        (
            mdb and values["mdb.port"] == "sim" and values["mode"] != Mode.DEMO,
            "mdb.port",
            '"sim" (a simulated vending machine) is for demo mode only',
        ),
        (
            mdb and values["mdb.selection_s"] >= values["qr_timeout_s"],
            "mdb.selection_s",
            "must be shorter than qr_timeout_s (the machine gives up before the QR)",
        ),
        (
            (values["display.width"] == 0) != (values["display.height"] == 0),
            "display.width",
            "set display.width and display.height together (or both 0 for the screen's own)",
        ),
        (
            values["poll_interval_s"] >= values["qr_timeout_s"],
            "poll_interval_s",
            "must be shorter than qr_timeout_s",
        ),
    )
    for broken, option, message in rules:
        if broken:
            found.append(Problem("configuration", option, message))
    return found
