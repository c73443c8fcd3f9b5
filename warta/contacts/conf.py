"""The contacts app's settings: a Django setting of the same name wins, then the environment,
then the default. (Read at call time, so tests can override them with ``settings``.)"""

from __future__ import annotations

import os

from django.conf import settings

DEFAULTS: dict[str, int] = {
    # Contacts with no sign of life for this long are anonymised by `warta contacts retention`.
    "WARTA_RETENTION_DAYS": 730,
    # Uploads larger than this are refused before anything is read.
    "WARTA_IMPORT_MAX_BYTES": 512 * 1024 * 1024,
    # XLSX is a zip: refuse one that would inflate beyond this, or by more than this ratio.
    "WARTA_IMPORT_MAX_XLSX_UNCOMPRESSED": 2 * 1024 * 1024 * 1024,
    "WARTA_IMPORT_MAX_XLSX_RATIO": 100,
    # A contact table has a handful of columns and short lines: a record past these limits is
    # refused (the first record: the whole file) before it can blow up the mapping page or memory.
    "WARTA_IMPORT_MAX_COLUMNS": 200,
    "WARTA_IMPORT_MAX_LINE_CHARS": 128 * 1024,
    # Rows per transaction (and per checkpoint) of an import.
    "WARTA_IMPORT_BATCH": 5000,
}


def get(name: str) -> int:
    value = getattr(settings, name, None)
    if value is not None:
        return int(value)
    env = os.environ.get(name)
    return int(env) if env else DEFAULTS[name]
