"""Long-running processes keep CPython's cyclic garbage collector out of their way.

A Warta process that serves for hours (a gunicorn worker, the delivery engine) holds a few
hundred thousand objects that live as long as it does — Django, the apps, their modules, the
URLconf and the views — and allocates and frees objects by the hundred thousand a second
(PDUs, rows, requests), nearly all freed by reference counting. The collector paid for both,
and every thread stood still while it ran (the GIL). Measured with ``gc.callbacks`` (2026-12-06,
``docs/benchmarks.md``, "The collector out of the way"):

* **Full (generation 2) collections** walked the start-up objects each time: in the engine
  17–19 of them in a 27-second run of 120,000 messages, ~80 ms each, collecting nothing; in
  ``bench/api.py``'s web workers 60–96 ms each, every one a page of the API that took that much
  longer. ``gc.freeze()`` (Python ≥ 3.7; as Instagram's Django workers do) moves the objects
  alive at start to a permanent generation the collector skips; reference counting still frees
  them. Frozen: 2–7 ms.
* **Young collections**: with the default threshold (700 net allocations) the engine ran ~3,900
  generation-0 and ~350 generation-1 collections in a 16-second run, ~0.9 s in all. At
  ``YOUNG`` (20,000) a handful: the net count of live new objects seldom reaches it, because
  reference counting frees what the engine drops. Cyclic garbage, which reference counting cannot
  free, still starts a collection once 20,000 objects of it are waiting: a few MB at most (the
  engine's peak RSS was the same, 101–105 MiB).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("warta.heap")

#: Net new tracked objects before a young collection (CPython's default: 700).
YOUNG = 20_000


def quiet_collector(*, load_urls: bool = False) -> int:
    """Collect once, freeze what is left, raise the young threshold; returns how many objects
    are frozen. Call it once the process has set itself up, before it starts serving.

    ``load_urls``: load the URLconf first — Django imports it, and with it every view module, on
    the first request, which would leave them outside the frozen set."""
    if load_urls:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 — for its side effect: every view module imported
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, older, oldest)
    frozen = gc.get_freeze_count()
    log.info("%d start-up objects left out of the full garbage collections; young collections every %d",
             frozen, YOUNG)
    return frozen
