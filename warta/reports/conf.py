"""The reports app's settings: ``settings.WARTA["REPORTS"]`` overrides, else the environment.

| key | environment | default |
| --- | --- | --- |
| ``ORG_NAME`` | ``WARTA_REPORT_ORG_NAME`` | Dinas Komunikasi, Informatika dan Statistik |
| ``ORG_PARENT`` | ``WARTA_REPORT_ORG_PARENT`` | Pemerintah Provinsi Daerah Khusus Ibukota Jakarta |
| ``ORG_ADDRESS`` | ``WARTA_REPORT_ORG_ADDRESS`` | Jl. Medan Merdeka Selatan No. 8-9, Jakarta Pusat 10110 |
| ``LOGO`` | ``WARTA_REPORT_LOGO`` | the app's own emblem (an SVG or PNG file path) |
| ``SIGNER_TITLE`` | ``WARTA_REPORT_SIGNER_TITLE`` | Kepala Dinas |
| ``DUE_DAY`` | ``WARTA_REPORT_DUE_DAY`` | 7 (of the next month; a holiday or weekend moves it to the next working day) |
| ``DUE_TIME`` | ``WARTA_REPORT_DUE_TIME`` | 23:59 (WIB) |
| ``REMIND_DAYS`` | ``WARTA_REPORT_REMIND_DAYS`` | 3,1 (days before the due date) |
| ``PUBLIC_ARCHIVE`` | ``WARTA_PUBLIC_ARCHIVE`` | 0 (the public page answers 404) |
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, tuple[str, str]] = {
    "ORG_NAME": ("WARTA_REPORT_ORG_NAME", "Dinas Komunikasi, Informatika dan Statistik"),
    "ORG_PARENT": ("WARTA_REPORT_ORG_PARENT", "Pemerintah Provinsi Daerah Khusus Ibukota Jakarta"),
    "ORG_ADDRESS": ("WARTA_REPORT_ORG_ADDRESS", "Jl. Medan Merdeka Selatan No. 8-9, Jakarta Pusat 10110"),
    "LOGO": ("WARTA_REPORT_LOGO", str(Path(__file__).parent / "static" / "reports" / "emblem.svg")),
    "SIGNER_TITLE": ("WARTA_REPORT_SIGNER_TITLE", "Kepala Dinas"),
    "DUE_DAY": ("WARTA_REPORT_DUE_DAY", "7"),
    "DUE_TIME": ("WARTA_REPORT_DUE_TIME", "23:59"),
    "REMIND_DAYS": ("WARTA_REPORT_REMIND_DAYS", "3,1"),
    "PUBLIC_ARCHIVE": ("WARTA_PUBLIC_ARCHIVE", "0"),
}


def get(key: str) -> Any:
    override = getattr(settings, "WARTA", {}).get("REPORTS", {})
    if key in override:
        return override[key]
    env, default = DEFAULTS[key]
    return os.environ.get(env, default)


def due_day() -> int:
    return max(1, min(28, int(get("DUE_DAY"))))


def due_time() -> dt.time:
    hh, mm = str(get("DUE_TIME")).split(":")
    return dt.time(int(hh), int(mm))


def remind_days() -> list[int]:
    return sorted({int(x) for x in str(get("REMIND_DAYS")).split(",") if x.strip()}, reverse=True)


def public_archive_enabled() -> bool:
    return str(get("PUBLIC_ARCHIVE")).lower() in {"1", "true", "yes", "on"}


def letterhead() -> dict[str, str]:
    return {"name": str(get("ORG_NAME")), "parent": str(get("ORG_PARENT")), "address": str(get("ORG_ADDRESS")),
            "logo": str(get("LOGO")), "signer_title": str(get("SIGNER_TITLE"))}
