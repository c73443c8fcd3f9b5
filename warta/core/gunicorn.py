"""gunicorn's settings file for ``warta web`` (``--config python:warta.core.gunicorn``): its hooks.
The command line of ``warta web`` sets everything else."""

from __future__ import annotations

from typing import Any

from warta.lib.heap import quiet_collector


def post_worker_init(worker: Any) -> None:
    """Each worker, once it has loaded the app (after its fork): the app and every view module
    frozen out of the full garbage collections that stalled a request 60–96 ms, and young
    collections made rare (``warta.lib.heap``)."""
    quiet_collector(load_urls=True)
