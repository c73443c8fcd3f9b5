"""``warta smsc-sim``: run the built-in SMSC simulator, or inject an MO message into it.

Thin on purpose: the simulator and its command line live in ``warta.gateway.simulator`` and
need no Django; this command hands its arguments over unchanged (see docs/simulator.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run Warta's SMSC simulator (SMPP 3.4), or 'inject' a mobile-originated SMS into it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help="see 'warta smsc-sim --help'")

    def run_from_argv(self, argv: list[str]) -> None:
        # Django's parser would reject the simulator's own options; hand them over as they are.
        from warta.gateway.simulator.cli import main

        prog = f"{os.path.basename(argv[0])} {argv[1]}"
        sys.exit(main(argv[2:], prog=prog))

    def handle(self, *args: Any, **options: Any) -> None:
        from warta.gateway.simulator.cli import main

        code = main(list(args))
        if code:
            sys.exit(code)
