"""The reader machine's table and its rules, event by event (the transcripts cover the flows)."""

from __future__ import annotations

import pytest

from kiosk.hardware.mdb import lines
from kiosk.hardware.mdb.machine import TABLE, accepts, new_slot, next_due_at, step
from kiosk.hardware.mdb.model import (
    Abandoned,
    Answer,
    Bound,
    EventNotAccepted,
    LinkLost,
    Offer,
    Opened,
    Reader,
    Rules,
    Send,
    Shutdown,
    Slot,
    Ticked,
    VendAsked,
    Withdraw,
)


def hat(line: str) -> lines.HatMessage:
    return lines.parse(line.encode("ascii") + b"\n")


def enabled(rules: Rules | None = None) -> Slot:
    slot, _ = step(new_slot(rules or Rules()), Opened(), 0.0)
    slot, _ = step(slot, hat("c,STATUS,ENABLED"), 0.1)
    assert slot.state is Reader.ENABLED
    return slot


def sends(commands: list) -> list[str]:
    return [c.line for c in commands if isinstance(c, Send)]


def test_an_event_the_state_does_not_accept_raises_and_changes_nothing() -> None:
    slot = enabled()
    with pytest.raises(EventNotAccepted, match="ENABLED does not accept Opened"):
        step(slot, Opened(), 1.0)
    with pytest.raises(EventNotAccepted):
        step(new_slot(Rules()), hat("c,VEND,SUCCESS"), 0.0)  # no port, no lines
    assert not accepts(new_slot(Rules()), LinkLost("x"))
    assert (Reader.OFFLINE, Opened) in TABLE and (Reader.ENABLED, Opened) not in TABLE


def test_selection_first_approves_only_the_bound_sale_at_the_asked_price() -> None:
    slot = enabled()
    slot, commands = step(slot, hat("c,STATUS,VEND,150,5"), 1.0)
    assert commands == [Offer(1, 150, 5)] and slot.state is Reader.SELECTED
    slot, _ = step(slot, Bound(1, "K1-1"), 1.1)
    for wrong in (VendAsked("K1-2", 150), VendAsked("K1-1", 140)):
        after, commands = step(slot, wrong, 2.0)
        assert after == slot and sends(commands) == []
        assert [c.ok for c in commands if isinstance(c, Answer)] == [False]
    slot, commands = step(slot, VendAsked("K1-1", 150), 2.0)
    assert sends(commands) == ["C,VEND,150"] and slot.state is Reader.VENDING
    _, commands = step(slot, VendAsked("K1-1", 150), 2.1)  # a second ask: never approved
    assert sends(commands) == [] and [c.ok for c in commands if isinstance(c, Answer)] == [False]


def test_credit_is_never_offered_before_the_payment_nor_mid_vend() -> None:
    rules = Rules(credit_first=True)
    slot = enabled(rules)
    slot, commands = step(slot, hat("c,STATUS,VEND,150,5"), 1.0)  # a selection with no credit
    assert sends(commands) == ["C,STOP"] and slot.state is Reader.ENABLED
    slot, commands = step(slot, VendAsked("K1-1", 500), 2.0)
    assert sends(commands) == ["C,START,500"]
    slot, _ = step(slot, hat("c,STATUS,IDLE"), 2.3)
    slot, commands = step(slot, hat("c,STATUS,VEND,120,3"), 3.0)
    assert sends(commands) == ["C,VEND,120"] and slot.state is Reader.VENDING
    _, commands = step(slot, VendAsked("K1-2", 500), 3.1)  # another credit mid-vend: refused
    assert sends(commands) == [] and [c.ok for c in commands if isinstance(c, Answer)] == [False]
    slot, commands = step(slot, hat("c,VEND,SUCCESS"), 3.5)
    assert commands[0] == Answer(True, "vended", 120, 3) and "C,STOP" in sends(commands)


def test_every_waiting_state_has_a_deadline() -> None:
    slot = enabled()
    slot, _ = step(slot, hat("c,STATUS,VEND,150,5"), 1.0)
    due = next_due_at(slot)
    assert due == 1.0 + slot.rules.timing.selection_s
    slot, commands = step(slot, Ticked(), due)
    assert Withdraw(1, "no payment in time") in commands and sends(commands) == ["C,STOP"]
    assert slot.state is Reader.ENDING


def test_a_machine_reset_mid_vend_answers_not_vended_and_reconfigures() -> None:
    slot = enabled(Rules(setconf=(("a", "1"),)))
    slot, _ = step(slot, hat("c,STATUS,VEND,150,5"), 10.0)
    slot, _ = step(slot, Bound(1, "K1-1"), 10.0)
    slot, _ = step(slot, VendAsked("K1-1", 150), 11.0)
    slot, commands = step(slot, hat("c,STATUS,INACTIVE"), 12.0)
    assert commands[0] == Answer(False, "the machine reset")
    assert sends(commands) == ["C,SETCONF,a=1", "C,1"] and slot.state is Reader.CONFIGURING


def test_shutdown_ends_the_session_and_disables() -> None:
    slot = enabled()
    slot, _ = step(slot, hat("c,STATUS,VEND,150,5"), 1.0)
    slot, commands = step(slot, Shutdown(), 2.0)
    assert sends(commands) == ["C,STOP", "C,0"] and slot.state is Reader.STOPPED
    _, commands = step(slot, VendAsked("K1-1", 150), 3.0)
    assert commands == [Answer(False, "the reader is shut down")]


def test_abandoned_releases_only_its_own_selection() -> None:
    slot = enabled()
    slot, _ = step(slot, hat("c,STATUS,VEND,150,5"), 1.0)
    slot, _ = step(slot, Bound(1, "K1-1"), 1.0)
    same, commands = step(slot, Abandoned("K1-9"), 2.0)
    assert same == slot and commands == []
    slot, commands = step(slot, Abandoned("K1-1"), 2.0)
    assert sends(commands) == ["C,STOP"] and slot.state is Reader.ENDING


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"c,STATUS,VEND,1.50,12\r\n", lines.VendRequested),
        (b"c,STATUS,VEND,-1,12\n", lines.Unknown),
        (b"c,STATUS,VEND,1e3,12\n", lines.Unknown),
        (b"c,STATUS,VEND,150,item\n", lines.Unknown),
        (b"c,STATUS,SLEEPING\n", lines.Unknown),
        (b"\xff\xfe\n", lines.Unknown),
        (b"x" * 300, lines.Unknown),
        (b"r,ACK\n", lines.Acked),
        (b"c,ERR,VEND 3\n", lines.VendFailed),
        (b"v,4.0.1,ABC\n", lines.Version),
    ],
)
def test_lines_parse_to_typed_messages_and_junk_is_named(raw: bytes, kind: type) -> None:
    message = lines.parse(raw)
    assert isinstance(message, kind)
    if isinstance(message, lines.Unknown):
        assert message.why


def test_prices_scale_to_whole_yen_only() -> None:
    assert lines.to_yen("150", 1) == 150 and lines.to_yen("1.50", 100) == 150
    assert lines.to_yen("1.5", 1) is None and lines.to_yen("abc", 1) is None
    assert lines.from_yen(150, 100) == "1.5" and lines.from_yen(500, 1) == "500"
