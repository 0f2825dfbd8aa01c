"""Every action a touch target (or a key) can ask for, as one enum.

Why: screens name the action of each target they draw (`Hit.action`, a string in the view
models); the flows take an `Action`, so a typo is an unknown action, rejected at the door
(`parse`), and never a string that silently matches nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    LANGUAGE = "language"
    # the customer
    START = "start"
    BACK = "back"
    PAGE_PREV = "page_prev"
    PAGE_NEXT = "page_next"
    ITEM = "item"
    DIGIT = "digit"
    CLEAR = "clear"
    DELETE = "delete"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    DONE = "done"
    # the attendant
    CLOSE = "close"
    PIN_OK = "pin_ok"
    CANCEL_SALE = "cancel_sale"
    RECENT_SALES = "recent_sales"
    HELD_SALES = "held_sales"
    TOTALS = "totals"
    RECONCILE = "reconcile"
    TOGGLE_SERVICE = "toggle_service"
    EXIT = "exit"
    REFUND = "refund"
    REFUND_FULL = "refund_full"
    REFUND_PARTIAL = "refund_partial"
    REFUND_AMOUNT = "refund_amount"
    HELD_OUT = "held_out"
    HELD_REFUND = "held_refund"
    EXIT_YES = "exit_yes"
    REFUND_YES = "refund_yes"
    HELD_OUT_YES = "held_out_yes"
    HELD_REFUND_YES = "held_refund_yes"
    CONFIRM_NO = "confirm_no"


KEYPAD_EDITS = frozenset({Action.DIGIT, Action.CLEAR, Action.DELETE})


def parse(action: str) -> Action | None:
    """The Action a target names, or None for a name no flow knows."""
    try:
        return Action(action)
    except ValueError:
        return None


def edit_digits(
    digits: str, action: Action, arg: str, max_len: int, *, leading_zero: bool = False
) -> str:
    """Keypad editing: append a digit (at most max_len; a leading zero only where it means
    something, as in a PIN), clear, delete."""
    if action is Action.CLEAR:
        return ""
    if action is Action.DELETE:
        return digits[:-1]
    if (
        action is Action.DIGIT
        and arg.isdigit()
        and len(digits) < max_len
        and (digits or leading_zero or arg != "0")
    ):
        return digits + arg
    return digits
