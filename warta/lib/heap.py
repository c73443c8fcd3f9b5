"""Long-running processes leave their start-up objects out of the cyclic garbage collector.

A Warta process that serves for hours (a gunicorn worker, the delivery engine) holds a few
hundred thousand objects that live as long as it does: Django, the apps, their modules, the
URLconf and the views. CPython's full (generation 2) collection walks every tracked object, and
everything else in the process stops while it does (the GIL). Measured with ``gc.callbacks``
(2026-12-06): in the engine, 17–19 full collections in a 27-second run of 120,000 messages,
~80 ms each and collecting nothing — 1.3–1.5 s in which no submit left and no receipt was
answered; in ``bench/api.py``'s web workers, 60–96 ms each, every one a page of the API that
took that much longer (its pages over 50 ms). ``gc.freeze()`` (Python ≥ 3.7; what Instagram's
Django workers do) moves the objects alive at that moment to a permanent generation that the
collector skips; reference counting still frees them. After it: the engine's full collections
2–7 ms, 0.12 s in all.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("warta.heap")


def freeze_startup_heap(*, load_urls: bool = False) -> int:
    """Collect once, then freeze what is left; returns how many objects are frozen now.

    ``load_urls``: load the URLconf first — Django imports it, and with it every view module, on
    the first request, which would leave them outside the frozen set. Call it once the process
    has set itself up, before it starts serving."""
    if load_urls:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 — for its side effect: every view module imported
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("%d start-up objects left out of the full garbage collections", frozen)
    return frozen
