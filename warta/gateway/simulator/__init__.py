"""Warta's built-in SMSC simulator (SMPP 3.4 server) for tests, demos and benchmarks.

See ``_server`` for how it works and docs/simulator.md for how to run it.
"""

from __future__ import annotations

from warta.gateway.simulator._log import PduLog
from warta.gateway.simulator._server import Fault, Simulator, SimulatorConfig, parse_faults

__all__ = ["Fault", "PduLog", "Simulator", "SimulatorConfig", "parse_faults"]
