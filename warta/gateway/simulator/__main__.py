"""``python -m warta.gateway.simulator``: the simulator without Django (benchmarks use this)."""

from __future__ import annotations

import sys

from warta.gateway.simulator.cli import main

sys.exit(main(prog="python -m warta.gateway.simulator"))
