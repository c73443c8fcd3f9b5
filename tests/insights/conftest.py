from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_reference() -> Iterator[None]:
    # services.reference() caches topics and regions per process; each test starts from its own.
    from warta.insights import engine, services

    services.clear_reference()
    engine.reset()
    yield
    services.clear_reference()
