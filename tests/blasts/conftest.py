from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _workflow_settings(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests choose their own clock; quiet hours are switched on by the tests about them.
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
