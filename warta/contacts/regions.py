"""The DKI Jakarta region tree: loading the shipped CSV and matching what people write.

The CSV (``data/dki-jakarta-regions.csv``, MIT, see ``data/README.md``) is loaded by a data
migration through :func:`load_regions`, which is idempotent: it inserts missing codes and updates
names, levels, parents and populations of existing ones, so a newer Kepmendagri file is a new
migration calling it again.

:class:`RegionMatcher` turns an import cell into a region: an exact Kemendagri code, or a name
(case, spaces and the prefixes "Kota Administrasi"/"Kelurahan"/"Kec." ignored). A name held by
two kelurahan is ambiguous and so unknown, rather than guessed.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "dki-jakarta-regions.csv"
LEVEL_ORDER = ["provinsi", "kota_kabupaten", "kecamatan", "kelurahan"]


def read_rows() -> list[dict[str, str]]:
    with DATA_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: (LEVEL_ORDER.index(r["level"]), r["code"]))
    return rows


def load_regions(region_model: Any = None) -> int:
    """Insert or update every region of the CSV; returns how many rows were written."""
    if region_model is None:
        from .models import Region as region_model  # noqa: N813
    existing = {r.code: r for r in region_model.objects.all()}
    written = 0
    for row in read_rows():
        parent = existing.get(row["parent_code"]) if row["parent_code"] else None
        values = {
            "level": row["level"],
            "name": row["name"],
            "parent": parent,
            "population": int(row["population"]) if row["population"] else None,
        }
        region = existing.get(row["code"])
        if region is None:
            region = region_model.objects.create(code=row["code"], **values)
            written += 1
        elif any(getattr(region, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(region, key, value)
            region.save()
            written += 1
        existing[row["code"]] = region
    return written


_PREFIXES = re.compile(
    r"^(kota administrasi|kabupaten administrasi|kota adm\.?|kab\.? adm\.?|kota|kabupaten|kab\.?|"
    r"kecamatan|kec\.?|kelurahan|kel\.?|desa)\s+"
)


def normalise_name(name: str) -> str:
    text = " ".join(name.strip().lower().split())
    return _PREFIXES.sub("", text)


class RegionMatcher:
    """Looks up a region id from a cell; built once per import (311 rows)."""

    def __init__(self) -> None:
        from .models import Region

        self.by_code: dict[str, int] = {}
        by_name: dict[str, dict[str, list[int]]] = {level: {} for level in LEVEL_ORDER}
        for pk, code, level, name in Region.objects.values_list("pk", "code", "level", "name"):
            self.by_code[code] = pk
            by_name[level].setdefault(normalise_name(name), []).append(pk)
        self.by_name: dict[str, int] = {}
        # Most general level first, so a more specific unique match overwrites it: "Gambir" is a
        # kecamatan and a kelurahan, and the kelurahan is the more useful answer.
        for level in LEVEL_ORDER:
            for name, pks in by_name[level].items():
                if len(pks) == 1:
                    self.by_name[name] = pks[0]
                elif level == "kelurahan":
                    continue  # ambiguous kelurahan: keep whatever kecamatan/kota had the name
        self._cache: dict[str, int | None] = {}

    def match(self, cell: str) -> int | None:
        cell = cell.strip()
        if not cell:
            return None
        hit = self._cache.get(cell, -1)
        if hit != -1:
            return hit  # type: ignore[return-value]
        pk = self.by_code.get(cell)
        if pk is None:
            pk = self.by_name.get(normalise_name(cell))
        if len(self._cache) < 10_000:
            self._cache[cell] = pk
        return pk
