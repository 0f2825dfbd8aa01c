"""Configuration: load order, typed settings, and error messages an operator can act on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kiosk.config import (
    OPTIONS,
    Config,
    ConfigError,
    Mode,
    VendAdapter,
    choose_path,
    defaults,
    load_config,
    nearest_name,
    state_dir,
    state_dir_source,
)
from kiosk.ops.pin import hash_pin

PIN_HASH = hash_pin("739184", b"0123456789abcdef", iterations=1000)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {})
    return [str(p) for p in caught.value.problems]


def test_defaults_are_a_complete_demo_config() -> None:
    config = load_config(None, {})
    assert config == dataclasses.replace(defaults(), sources=config.sources)
    assert config.mode is Mode.DEMO
    assert config.qr_timeout_s == 120
    assert config.poll_interval_s == 4.0
    assert [i.sku for i in config.catalogue] == ["coffee", "tea", "water"]
    assert config.sources == ("defaults",)


def test_sounds_are_off_by_default_and_on_only_when_asked() -> None:
    from kiosk.commands.uisettings import to_ui_settings

    assert load_config(None, {}).sounds is False  # issue 5: "off by default"
    assert to_ui_settings(load_config(None, {}), PIN_HASH).sounds is False
    assert load_config(None, {"KIOSK_SOUNDS": "true"}).sounds is True


def test_file_then_environment_override_in_that_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'qr_timeout_s = 90\nlanguage = "en"\n[display]\nwidth = 800\nheight = 480\nrotation = 90\n',
    )
    config = load_config(path, {"KIOSK_QR_TIMEOUT_S": "60", "KIOSK_DISPLAY_FULLSCREEN": "no"})
    assert config.qr_timeout_s == 60  # environment beats the file
    assert config.language == "en"  # file beats the default
    assert (config.display.width, config.display.height, config.display.rotation) == (800, 480, 90)
    assert config.display.fullscreen is False
    assert config.sources == (
        "defaults",
        str(path),
        "environment: KIOSK_QR_TIMEOUT_S, KIOSK_DISPLAY_FULLSCREEN",
    )


def test_catalogue_items_are_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[catalogue]]\nsku = "cola"\nname_ja = "コーラ"\nname_en = "Cola"\nprice_yen = 160\n'
        'image = "cola.png"\n[[catalogue]]\nsku = "chips"\nname_ja = "チップス"\n'
        'name_en = "Chips"\nprice_yen = 120\n',
    )
    config = load_config(path, {})
    assert [(i.sku, i.price_yen, i.image) for i in config.catalogue] == [
        ("cola", 160, str(path.parent / "cola.png")),
        ("chips", 120, None),
    ]


def test_typo_names_file_option_and_nearest_valid_name(tmp_path: Path) -> None:
    path = write(tmp_path, "qr_timeout = 90\n[display]\nwidht = 800\n")
    assert problems_of(path) == [
        f'{path}: qr_timeout: unknown option (did you mean "qr_timeout_s"?)',
        f'{path}: display.widht: unknown option (did you mean "display.width"?)',
    ]


def test_option_in_the_wrong_section_suggests_its_real_place(tmp_path: Path) -> None:
    path = write(tmp_path, "rotation = 90\n")
    assert problems_of(path) == [
        f'{path}: rotation: unknown option (did you mean "display.rotation"?)'
    ]


def test_unknown_option_far_from_any_name_has_no_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "zzzz = 1\n")
    assert problems_of(path) == [f"{path}: zzzz: unknown option"]


def test_wrong_type_and_out_of_range_name_value_and_what_is_allowed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'qr_timeout_s = "long"\ngrace_s = 99\nmode = "live"\n[display]\nrotation = 45\n',
    )
    assert problems_of(path) == [
        f"{path}: qr_timeout_s: 'long' is not allowed; allowed: a whole number from 30 to 290",
        f"{path}: grace_s: 99 is out of range; allowed: a whole number from 0 to 60",
        f"{path}: mode: 'live' is not allowed; allowed: one of demo, sandbox, production",
        f"{path}: display.rotation: 45 is not allowed; allowed: one of 0, 90, 180, 270",
    ]


def test_booleans_are_not_numbers_and_numbers_not_booleans(tmp_path: Path) -> None:
    path = write(tmp_path, "grace_s = true\npreauth = 1\n")
    assert problems_of(path) == [
        f"{path}: grace_s: True is not allowed; allowed: a whole number from 0 to 60",
        f"{path}: preauth: 1 is not allowed; allowed: true or false",
    ]


def test_environment_errors_name_the_variable(tmp_path: Path) -> None:
    env = {"KIOSK_QR_TIMEOUT_S": "soon", "KIOSK_DISPLAY_WIDHT": "800", "KIOSK_CATALOGUE": "x"}
    assert problems_of(None, env) == [
        'environment: KIOSK_DISPLAY_WIDHT: unknown variable (did you mean "KIOSK_DISPLAY_WIDTH"?)',
        "environment: KIOSK_CATALOGUE: the catalogue is set in the file only",
        "environment: KIOSK_QR_TIMEOUT_S: 'soon' is not allowed; "
        "allowed: a whole number from 30 to 290",
    ]


def test_secret_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, 'api_secret = "sk_live_do_not_echo"\n')
    [message] = problems_of(path)
    assert message.startswith(f"{path}: api_secret: secrets are never read from the config")
    assert "sk_live_do_not_echo" not in message


def test_pin_hash_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, '[attendant]\npin_hash = "1234"\n')
    assert problems_of(path) == [
        f"{path}: attendant.pin_hash: (hidden) is not a PIN hash; "
        "allowed: empty or the output of `kiosk hash-pin`"
    ]


def test_valid_pin_hash_is_kept_but_not_in_repr(tmp_path: Path) -> None:
    path = write(tmp_path, f'[attendant]\npin_hash = "{PIN_HASH}"\n')
    config = load_config(path, {})
    assert config.attendant.pin_hash == PIN_HASH
    assert PIN_HASH not in repr(config)


def test_catalogue_item_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[catalogue]]\nsku = "a"\nname_ja = "A"\nname_en = "A"\nprice = 100\n'
        '[[catalogue]]\nsku = "b"\nname_ja = "B"\nname_en = "B"\nprice_yen = 0\n'
        '[[catalogue]]\nsku = "c"\nname_ja = "C"\nname_en = "C"\nprice_yen = 5\n'
        '[[catalogue]]\nsku = "c"\nname_ja = "C"\nname_en = "C"\nprice_yen = 5\n',
    )
    assert problems_of(path) == [
        f'{path}: catalogue[0].price: unknown key (did you mean "price_yen"?)',
        f"{path}: catalogue[0].price_yen: missing",
        f"{path}: catalogue[1]: price of 'b' must be between 1 and 9999999 yen, got 0; "
        "allowed: price_yen 1 to 9999999",
        f"{path}: catalogue[3].sku: 'c' appears twice",
    ]


def test_rules_between_options() -> None:
    env = {"KIOSK_MODE": "production", "KIOSK_VEND_ADAPTER": "command", "KIOSK_ENTRY": "catalogue"}
    assert problems_of(None, env) == [
        "configuration: merchant_id: required in sandbox and production",
        "configuration: attendant.pin_hash: required in production; create one with "
        "`kiosk hash-pin`",
        'configuration: vend.command: required when vend.adapter = "command"',
    ]


def test_mdb_rules_between_options() -> None:
    env = {"KIOSK_MODE": "sandbox", "KIOSK_MERCHANT_ID": "m1", "KIOSK_VEND_ADAPTER": "mdb"}
    env |= {"KIOSK_MDB_MODE": "credit", "KIOSK_MDB_PORT": "sim", "KIOSK_QR_TIMEOUT_S": "60"}
    assert problems_of(None, env) == [
        "configuration: mdb.mode: credit first needs preauth = true (only the vended price "
        "is captured)",
        'configuration: mdb.port: "sim" (a simulated vending machine) is for demo mode only',
        "configuration: mdb.selection_s: must be shorter than qr_timeout_s (the machine gives "
        "up before the QR)",
    ]
    assert problems_of(None, {"KIOSK_MDB_SETCONF": "a=1,b"}) == [
        "environment: KIOSK_MDB_SETCONF: 'a=1,b' is not name=value pairs: 'b' is not "
        "name=value (letters, digits, - _ .); allowed: name=value pairs separated by commas"
    ]
    demo = load_config(None, {"KIOSK_VEND_ADAPTER": "mdb", "KIOSK_MDB_PORT": "sim"})
    assert (demo.vend.adapter.value, demo.mdb.port, demo.mdb.mode) == ("mdb", "sim", "selection")


def test_display_size_comes_in_pairs() -> None:
    assert problems_of(None, {"KIOSK_DISPLAY_WIDTH": "800"}) == [
        "configuration: display.width: set display.width and display.height together "
        "(or both 0 for the screen's own)"
    ]


def test_production_config_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'mode = "production"\nmerchant_id = "M1"\n[attendant]\npin_hash = "{PIN_HASH}"\n'
        '[vend]\nadapter = "command"\ncommand = "/usr/local/bin/vend --slot"\n',
    )
    config = load_config(path, {})
    assert config.mode is Mode.PRODUCTION
    assert config.vend.adapter is VendAdapter.COMMAND
    assert config.vend.argv == ("/usr/local/bin/vend", "--slot")


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mode = \n")
    [message] = problems_of(path)
    assert message.startswith(f"{path}: file: not valid TOML: ")
    missing = tmp_path / "nope.toml"
    assert problems_of(missing) == [
        f"{missing}: file: not found; create it from kiosk.example.toml"
    ]


def test_choose_path_prefers_flag_then_environment(tmp_path: Path) -> None:
    flag = tmp_path / "a.toml"
    assert choose_path(flag, {"KIOSK_CONFIG": "/x.toml"}) == flag
    assert choose_path(None, {"KIOSK_CONFIG": "/x.toml"}) == Path("/x.toml")


def test_state_dir_resolution(tmp_path: Path) -> None:
    config = load_config(None, {})
    assert state_dir(config, {"STATE_DIRECTORY": "/var/lib/kiosk"}, tmp_path) == Path(
        "/var/lib/kiosk"
    )
    absent = tmp_path / "not-installed"
    assert state_dir(config, {}, tmp_path, absent) == tmp_path / ".local/state/kiosk"
    pinned = load_config(None, {"KIOSK_STATE_DIR": "/srv/k"})
    assert state_dir(pinned, {"STATE_DIRECTORY": "/var/lib/kiosk"}, tmp_path) == Path("/srv/k")


def test_root_in_a_shell_finds_the_installed_service_directory(tmp_path: Path) -> None:
    """`sudo kiosk status` has no $STATE_DIRECTORY: the service's directory, when it exists,
    wins over root's home, and the reason is said."""
    installed = tmp_path / "var/lib/kiosk"
    installed.mkdir(parents=True)
    config = load_config(None, {})
    assert state_dir_source(config, {}, tmp_path / "root", installed) == (
        installed,
        "the installed service's directory",
    )
    unit = {"STATE_DIRECTORY": "/var/lib/kiosk"}
    assert state_dir_source(config, unit, tmp_path, installed)[1] == (
        "$STATE_DIRECTORY from systemd"
    )


def test_catalogue_images_are_found_beside_the_configuration(tmp_path: Path) -> None:
    """Operator images live outside releases: relative paths resolve against the file's
    directory (/etc/kiosk/images/...), absolute ones stay."""
    (tmp_path / "kiosk.toml").write_text(
        '[[catalogue]]\nsku = "tea"\nname_ja = "お茶"\nname_en = "Tea"\nprice_yen = 150\n'
        'image = "images/tea.png"\n'
        '[[catalogue]]\nsku = "cake"\nname_ja = "ケーキ"\nname_en = "Cake"\nprice_yen = 400\n'
        'image = "/srv/cake.png"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "kiosk.toml", {})
    assert [item.image for item in config.catalogue] == [
        str(tmp_path / "images/tea.png"),
        "/srv/cake.png",
    ]


def test_nearest_name() -> None:
    assert nearest_name("poll_interval", ["poll_interval_s", "grace_s"]) == "poll_interval_s"
    assert nearest_name("qqq", ["poll_interval_s"]) is None


def test_every_option_has_a_typed_field_and_back() -> None:
    config = defaults()
    for option in OPTIONS:
        target: object = config
        for part in option.name.split("."):
            assert hasattr(target, part), option.name
            target = getattr(target, part)
    leaves = {o.name.split(".")[0] for o in OPTIONS}
    top = {f.name for f in dataclasses.fields(Config)} - {"sources"}
    assert top == leaves
    for section in ("display", "vend", "attendant", "simulator"):
        cls = type(getattr(config, section))
        declared = {f.name for f in dataclasses.fields(cls)}
        assert declared == {
            o.name.split(".")[1] for o in OPTIONS if o.name.startswith(section + ".")
        }


def test_display_time_zone_is_japan_by_default_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    assert defaults().display_time_zone == "Asia/Tokyo"
    assert load_config(write(tmp_path, 'display_time_zone = "UTC"\n'), {}).display_time_zone == (
        "UTC"
    )
    allowed = "allowed: an IANA time zone name, e.g. Asia/Tokyo, UTC"
    path = write(tmp_path, 'display_time_zone = "Asia/Tokio"\n')
    assert problems_of(path) == [
        f"{path}: display_time_zone: 'Asia/Tokio' is not a known IANA time zone; {allowed}"
    ]
    assert problems_of(None, {"KIOSK_DISPLAY_TIME_ZONE": "../etc/passwd"})[0].startswith(
        "environment: KIOSK_DISPLAY_TIME_ZONE: '../etc/passwd' is not a known IANA time zone"
    )
