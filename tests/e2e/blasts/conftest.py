"""The SOP walk runs the delivery engine beside the live server: its database threads use their
own connections, so on SQLite the test database must be a file (as in tests/gateway/conftest.py),
not the shared in-memory database whose table locks would make the engine and the web trip."""

from __future__ import annotations

import os
import tempfile
from typing import Any


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and not db.get("TEST", {}).get("NAME"):
        path = os.path.join(tempfile.mkdtemp(prefix="warta-e2e-blasts-"), "test.sqlite3")
        db.setdefault("TEST", {})["NAME"] = path
