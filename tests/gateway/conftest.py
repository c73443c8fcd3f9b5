"""Gateway tests: engines run a database thread (and sometimes a subprocess) beside the test, so
on SQLite the test database must be a file, not pytest-django's in-memory database."""

from __future__ import annotations

import os
import tempfile
from typing import Any


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        path = os.path.join(tempfile.mkdtemp(prefix="warta-gw-test-"), "test.sqlite3")
        db.setdefault("TEST", {})["NAME"] = path
