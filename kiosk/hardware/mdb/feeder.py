"""Selection first: the vending machine starts the kiosk's sales.

Why a feeder: the sale engine is unchanged. The machine's VEND REQUEST becomes an ordinary
`begin_sale` for exactly its price, the sale is bound to that selection (so only its payment
can approve it), the machine giving up cancels the sale through `cancel_sale`, and a sale that
ends unpaid releases the selection. Runs on the UI thread at each `pump`, never blocks.
"""

from __future__ import annotations

import logging
import queue
from typing import Protocol

from kiosk.domain import FINAL_PHASES, Order, SaleView, machine_item_description
from kiosk.hardware.mdb.model import Offer, Withdraw

log = logging.getLogger(__name__)


class SaleDesk(Protocol):
    """The part of the runner the feeder uses."""

    def begin_sale(self, order: Order) -> None: ...
    def cancel_sale(self, by: str = "customer") -> None: ...
    def current_sale(self) -> SaleView | None: ...
    def acknowledge(self) -> None: ...


class Reader(Protocol):
    offers: queue.Queue[Offer | Withdraw]

    def bind(self, selection: int, merchant_payment_id: str) -> None: ...
    def abandon(self, merchant_payment_id: str) -> None: ...


def description(item: int) -> str:
    return machine_item_description(item)


class Feeder:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.bound: tuple[int, str] | None = None  # (selection, merchant_payment_id)

    def feed(self, desk: SaleDesk) -> None:
        self._release_ended(desk)
        while True:
            try:
                command = self.reader.offers.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, Offer):
                self._offer(desk, command)
            elif self.bound is not None and self.bound[0] == command.selection:
                log.info("mdb machine gave up mpid=%s reason=%s", self.bound[1], command.reason)
                desk.cancel_sale("machine")

    def _offer(self, desk: SaleDesk, offer: Offer) -> None:
        shown = desk.current_sale()
        if shown is not None and shown.phase in FINAL_PHASES:
            desk.acknowledge()  # the next customer chose: the last result screen can go
        try:
            desk.begin_sale(Order.of_amount(offer.price_yen, description(offer.item)))
        except ValueError as exc:  # busy or out of service: refuse the selection
            log.warning("mdb selection refused selection=%d error=%s", offer.selection, exc)
            self.reader.abandon("")
            return
        sale = desk.current_sale()
        assert sale is not None  # begin_sale shows the sale at once
        self.bound = (offer.selection, sale.merchant_payment_id)
        log.info(
            "mdb selection item=%d amount_yen=%d mpid=%s",
            offer.item,
            offer.price_yen,
            sale.merchant_payment_id,
        )
        self.reader.bind(offer.selection, sale.merchant_payment_id)

    def _release_ended(self, desk: SaleDesk) -> None:
        if self.bound is None:
            return
        sale = desk.current_sale()
        mpid = self.bound[1]
        if sale is None or sale.merchant_payment_id != mpid or sale.phase in FINAL_PHASES:
            self.reader.abandon(mpid)  # a no-op once the vend was approved
            self.bound = None
