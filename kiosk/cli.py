"""The one composition root: `kiosk run | simulator | check-config | journal | refund | ...`.

Why here: every other module takes its collaborators as parameters; only this module (and the
per-command modules in `kiosk.commands`) reads the environment, builds the real objects and
wires them together. Errors end as one `kiosk: error: ...` line that says what to do next and
an exit code from `ExitCode`; no traceback reaches the operator, and anything printed passes
the same redaction as the logs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from kiosk.commands.common import EXIT_CODES_HELP, CommandError, ExitCode, say
from kiosk.domain import MAX_AMOUNT_YEN
from kiosk.ops.logs import Redactor, setup_logging
from kiosk.ops.secrets import SecretError, load_credentials

log = logging.getLogger("kiosk.cli")

if TYPE_CHECKING:
    from kiosk.commands.mdb import SimulatedMachine
    from kiosk.commands.paypay import DemoAuth
    from kiosk.commands.run import DemoSimulator
    from kiosk.config import Config
    from kiosk.ops.secrets import Credentials

    Subparsers: TypeAlias = argparse._SubParsersAction["KioskParser"]


class KioskParser(argparse.ArgumentParser):
    """A bad command line is one line naming the argument and what is allowed, and exit 2;
    the whole usage is one `--help` away."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text} is out of range; allowed: a whole number from {low} to {high}"
            )
        return value

    return parse


def file_in_existing_directory(text: str) -> str:
    """An argparse type: a file the command may create, in a directory that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; name a file in it")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"directory {str(path.parent)!r} does not exist; create it first"
        )
    return text


def http_url(text: str) -> str:
    """An argparse type: an http(s) base URL, as a phone's browser needs."""
    if not text.startswith(("http://", "https://")) or not text.split("//", 1)[1].strip("/"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL such as http://10.0.0.5:8765"
        )
    return text


def _add_simulator(sub: Subparsers) -> None:
    p = sub.add_parser("simulator", help="run a local PayPay simulator (HTTP server)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument(
        "--port",
        type=whole_number(0, 65535),
        default=8765,
        help="port to listen on (0: any free port)",
    )
    p.add_argument("--public-url", type=http_url, help="base URL phones use to reach the pay page")
    p.add_argument(
        "--state",
        type=file_in_existing_directory,
        help="file to keep the simulator's ledger in across restarts",
    )
    p.add_argument("--control", action="store_true", help="enable the /_sim/ control API")


def _config_parent() -> KioskParser:
    parent = KioskParser(add_help=False)
    parent.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="configuration file (default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml if present)",
    )
    return parent


def _journal_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only sales from then on: YYYY-MM-DD, an ISO time, or 2h / 3d / 30m ago",
    )
    p.add_argument("--until", metavar="WHEN", help="only sales before then (forms as --since)")
    p.add_argument(
        "--state", "--status", dest="state", metavar="STATE", help="only sales in this state"
    )


def _add_commands(sub: Subparsers) -> None:
    common = _config_parent()
    fmt = argparse.RawDescriptionHelpFormatter

    def add(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=description,
            epilog=EXIT_CODES_HELP,
            formatter_class=fmt,
        )

    p = add(
        "run",
        "run the kiosk (what kiosk.service starts)",
        "Run the kiosk full screen: reconcile unfinished sales, then take payments. "
        "Without PayPay credentials (mode demo) it uses the built-in simulator.",
    )
    p.add_argument(
        "--windowed",
        metavar="WIDTHxHEIGHT",
        type=window_size,
        help="run in a window of this size instead of full screen (e.g. 800x480)",
    )
    p = add(
        "check-config",
        "validate the configuration and credentials, start nothing",
        "Load the configuration exactly as `kiosk run` would and report problems.",
    )
    p.add_argument(
        "--print-example",
        action="store_true",
        help="print an example kiosk.toml with every option and exit",
    )

    journal = add("journal", "list or export recorded sales", "Read the sales journal.")
    jsub = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    p = jsub.add_parser(
        "list",
        parents=[common],
        help="list recent sales",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    _journal_filters(p)
    p.add_argument(
        "--limit",
        type=whole_number(1, 1_000_000),
        default=50,
        help="at most this many, newest first (default 50)",
    )
    p = jsub.add_parser(
        "export",
        parents=[common],
        help="export sales as CSV",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    p.add_argument("--csv", metavar="FILE", required=True, help="CSV file to write ('-': stdout)")
    _journal_filters(p)
    p.add_argument(
        "--archive",
        action="store_true",
        help="export the archived sales (moved out of the journal after journal.archive_after_"
        "days) instead of the journal's own",
    )
    p = jsub.add_parser(
        "archive",
        parents=[common],
        help="archive old sales and prune old step logs now (the kiosk does it between sales)",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    p.add_argument(
        "--compact",
        action="store_true",
        help="then rewrite the journal file so it shrinks (needs free space for two copies; "
        "a journal from an older release gives space back only after this)",
    )

    p = add(
        "refund",
        "refund a recorded payment (all of it, or --amount yen)",
        "Refund a payment this kiosk recorded. The refund is written to the journal before "
        "PayPay is asked, so it is never sent twice.",
    )
    p.add_argument("merchant_payment_id", metavar="MERCHANT_PAYMENT_ID")
    p.add_argument(
        "--amount",
        type=whole_number(1, MAX_AMOUNT_YEN),
        metavar="YEN",
        help="refund only this many yen",
    )
    p.add_argument("--reason", default="refund by operator", help="reason sent to PayPay")
    add(
        "reconcile",
        "settle unfinished sales and refunds with PayPay now",
        "Ask PayPay about every unfinished sale and open refund, and record the answers. "
        "Run it while the kiosk is stopped (kiosk run does it at every start).",
    )
    sub.add_parser(
        "hash-pin",
        help="hash an attendant PIN for kiosk.toml",
        description="Read a PIN (twice, without echo, on a terminal; else one line "
        "from stdin) and print its salted hash for [attendant] pin_hash.",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    p = add(
        "doctor",
        "check display, input, font, clock, PayPay, disk and journal",
        "One green (ok) or red (FAIL) line per check, each FAIL with a fix.",
    )
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument(
        "--deep", action="store_true", help="check every page of the journal (slow on years)"
    )
    p = add(
        "status",
        "show what the running kiosk is doing",
        "Read the status file the running kiosk keeps current.",
    )
    p.add_argument("--json", action="store_true", help="print the raw status as JSON")


def window_size(text: str) -> tuple[int, int]:
    """``800x480`` -> (800, 480); argparse turns a refusal into a usage error (exit 2)."""
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 800x480, got {text!r}")
    size = (int(width), int(height))
    if not all(200 <= n <= 7680 for n in size):
        raise argparse.ArgumentTypeError(f"each side must be 200 to 7680 pixels, got {text!r}")
    return size


def build_parser() -> argparse.ArgumentParser:
    parser = KioskParser(
        prog="kiosk",
        description="PayPay QR kiosk",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_commands(sub)
    _add_simulator(sub)
    from kiosk.simulator.vmc.command import add_parser as add_vmc_sim

    add_vmc_sim(sub)
    from kiosk.commands.hubcmd import add_hub_parser

    add_hub_parser(sub)
    return parser


def _dispatch(args: argparse.Namespace, redactor: Redactor) -> int:
    command: str = args.command
    if command == "simulator":
        from kiosk.simulator.command import run_simulator

        return int(run_simulator(args))
    if command == "vmc-sim":
        from kiosk.simulator.vmc.command import run_vmc_sim

        return run_vmc_sim(args)
    handlers: dict[str, Callable[[], int]] = {
        "run": lambda: _run(args, redactor),
        "journal": lambda: _journal(args),
        "refund": lambda: _refund(args, redactor),
        "reconcile": lambda: _reconcile(args, redactor),
        "check-config": lambda: _check_config(args),
        "hash-pin": _hash_pin,
        "status": lambda: _status(args),
        "doctor": lambda: _doctor(args, redactor),
        "hub": lambda: _hub(args, redactor),
    }
    handler = handlers.get(command)
    if handler is None:
        raise CommandError(ExitCode.USAGE, f"`kiosk {command}` is not available in this build")
    return handler()


def _run(args: argparse.Namespace, redactor: Redactor) -> int:
    from kiosk.commands.common import load_settings
    from kiosk.commands.run import run_kiosk

    config = load_settings(args, os.environ)
    if args.windowed is not None:
        width, height = args.windowed
        display = replace(config.display, width=width, height=height, fullscreen=False)
        config = replace(config, display=display)
    return run_kiosk(
        config,
        redactor,
        env=os.environ,
        demo=demo_auth,
        start_simulator=start_demo_simulator,
        start_machine=start_demo_machine,
    )


def start_demo_machine(mode: str) -> SimulatedMachine:
    """Demo mode with mdb.port = "sim": a vending machine on a pseudo-terminal where a customer
    chooses every few seconds (selection first) or after each credit (credit first)."""
    from kiosk.simulator.vmc import SCRIPTS, Vmc
    from kiosk.simulator.vmc.serial_pair import VmcOnPty

    return VmcOnPty(Vmc(SCRIPTS["demo-credit" if mode == "credit" else "demo"])).start()


def start_demo_simulator(config: Config, credentials: Credentials | None) -> DemoSimulator:
    """Demo mode's in-process PayPay: the simulator, accepting the configured credentials
    (or its own demo ones), with its /_sim/ control API so a test or a QA person can pay,
    expire and inject faults. No real money is ever behind it."""
    from kiosk.simulator import SimulatorConfig, start_simulator

    sim_config = SimulatorConfig(public_url=config.simulator.public_url or None, control=True)
    if credentials is not None:
        sim_config.api_key, sim_config.api_secret = credentials.values
    if config.merchant_id:
        sim_config.merchant_id = config.merchant_id
    return start_simulator(sim_config, host=config.simulator.host, port=config.simulator.port)


def _journal(args: argparse.Namespace) -> int:
    from kiosk.commands.journalcmd import run_journal

    return run_journal(args)


def _refund(args: argparse.Namespace, redactor: Redactor) -> int:
    from kiosk.commands.refundcmd import run_refund

    return run_refund(args, redactor, demo_auth)


def _reconcile(args: argparse.Namespace, redactor: Redactor) -> int:
    from kiosk.commands.reconcilecmd import run_reconcile

    return run_reconcile(args, redactor, demo_auth)


def _check_config(args: argparse.Namespace) -> int:
    from kiosk.commands.configcmd import run_check_config

    return run_check_config(args)


def _hash_pin() -> int:
    from kiosk.commands.hashpin import run_hash_pin

    return run_hash_pin()


def _status(args: argparse.Namespace) -> int:
    from kiosk.commands.statuscmd import run_status

    return run_status(args)


def _doctor(args: argparse.Namespace, redactor: Redactor) -> int:
    from kiosk.commands.doctorcmd import run_doctor

    return run_doctor(args, redactor, demo_auth)


FLEET_EXTRA_MODULES = frozenset({"paho", "psycopg", "apprise", "cryptography"})


def _hub(args: argparse.Namespace, redactor: Redactor) -> int:
    from kiosk.commands.hubcmd import run_hub_command

    try:
        return run_hub_command(args, redactor, demo_auth)
    except ModuleNotFoundError as exc:  # a plain install: the hub's libraries are an extra
        if (exc.name or "").split(".")[0] not in FLEET_EXTRA_MODULES:
            raise
        raise CommandError(
            ExitCode.CONFIG,
            f"kiosk hub needs the fleet extra ({exc.name} is not installed): "
            "pip install 'paypay-kiosk[fleet]'",
        ) from None


def demo_auth() -> DemoAuth:
    """The simulator's demo credentials; only this module may import the simulator."""
    from kiosk.commands.paypay import DemoAuth
    from kiosk.simulator import DEMO_API_KEY, DEMO_API_SECRET, DEMO_MERCHANT_ID

    return DemoAuth(DEMO_API_KEY, DEMO_API_SECRET, DEMO_MERCHANT_ID)


def _learn_secrets(redactor: Redactor) -> None:
    """Whatever a command ends up doing, the credentials it could reach stay out of its
    output. A credential problem is reported by the commands that need credentials."""
    try:
        credentials = load_credentials(os.environ)
    except SecretError:
        return
    for value in credentials.values if credentials else ():
        redactor.add(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # pygame's banner on stdout is not a key=value log line; journald gets only ours
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    redactor = Redactor()
    _learn_secrets(redactor)
    if args.command not in ("run", "simulator", "vmc-sim"):
        # operator commands: data on stdout, warnings and errors on stderr
        setup_logging("warning", redactor, env=os.environ, stream=sys.stderr)
    try:
        return _dispatch(args, redactor)
    except CommandError as exc:
        say(f"kiosk: error: {redactor(exc.message)}", err=True)
        return int(exc.code)
    except KeyboardInterrupt:
        say("kiosk: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: log the traceback (redacted), tell the operator where
        log.critical("crashed command=%s", args.command, exc_info=True)
        say(
            f"kiosk: error: internal error {type(exc).__name__}: {redactor(str(exc))}; "
            "the log has the details (journalctl -u kiosk)",
            err=True,
        )
        return int(ExitCode.FAILED)
