"""A local PayPay: signs like PayPay, remembers payments, fails on demand, has a pay page.

Public API (other parts code against exactly these names)::

    sim = start_simulator(SimulatorConfig(...), host="127.0.0.1", port=0)
    sim.base_url; sim.stop()
    ctl = SimulatorControl(sim.base_url); ctl.pay(code_id); ctl.ledger()
"""

from kiosk.simulator.app import (
    DEMO_API_KEY,
    DEMO_API_SECRET,
    DEMO_MERCHANT_ID,
    Simulator,
    SimulatorConfig,
    start_simulator,
)
from kiosk.simulator.control import SimulatorControl
from kiosk.simulator.faults import ENDPOINTS

__all__ = [
    "DEMO_API_KEY",
    "DEMO_API_SECRET",
    "DEMO_MERCHANT_ID",
    "ENDPOINTS",
    "Simulator",
    "SimulatorConfig",
    "SimulatorControl",
    "start_simulator",
]
