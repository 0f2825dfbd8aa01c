"""The MDB cashless device: the kiosk in a vending machine's payment slot, over a Qibixx HAT.

- `lines`: the HAT's ASCII line protocol (parse what it says, format what we send);
- `machine`: the reader as a pure state machine (states, a transition table, timeouts as data);
- `driver`: the thin I/O loop (pyserial) and the `Vendor` the sale engine calls.
"""
