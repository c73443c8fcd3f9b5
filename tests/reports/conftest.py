from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _report_settings(settings: Any, tmp_path: Path) -> None:
    # The signed files go to a test's own media folder, never the worktree's var/.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
