"""Upserts into the counter tables (``DailyCount``, ``TermCount``, ``UnitDayCount``, ``PollCount``).

Theory of operation: callers aggregate a batch in Python first (a ``Counter`` keyed like the
table), then write one ``INSERT … ON CONFLICT (key) DO UPDATE SET count = count + excluded.count``
per table and batch — the same statement on PostgreSQL and SQLite (≥ 3.24). Concurrent engines
add to the same row safely: the upsert is atomic per row. Counts move (an analyst's correction)
by adding −1 to one key and +1 to another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import connection

from .models import (
    DailyCount,
    DailyRegionCount,
    DailyTopicCount,
    MonthRegionCount,
    MonthTermCount,
    PollCount,
    TermCount,
    UnitDayCount,
)


def _upsert(model: Any, key: tuple[str, ...], values: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """Add ``values`` to the rows of ``key``, inserting missing ones: one statement per batch.

    Rows are sorted by key, so two engines upserting overlapping keys lock them in the same
    order (no deadlock). PostgreSQL gets one array per column (``unnest``), so the server parses
    a few hundred bytes whatever the batch; SQLite gets ``executemany`` of a one-row upsert.
    """
    rows = sorted(tuple(r) for r in rows)
    if not rows:
        return
    from warta.lib.fastsql import _plan

    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    names = (*key, *values)
    cols, _adapters, types = _plan(model, names, connection.vendor)
    sets = ", ".join(f"{qn(v)} = {table}.{qn(v)} + excluded.{qn(v)}" for v in values)
    conflict = ", ".join(qn(model._meta.get_field(k).column) for k in key)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            columns = [list(c) for c in zip(*rows, strict=True)]
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                        f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}", columns)
        else:
            placeholders = ", ".join(["%s"] * len(names))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({placeholders}) "  # noqa: S608
                            f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}",
                            [[_adapt(v) for v in row] for row in rows])


def _adapt(value: Any) -> Any:
    if isinstance(value, date) and connection.vendor == "sqlite":
        return value.isoformat()
    return value


# (day, topic_id, region_id, unit_id, sentiment, urgent) → count
DailyKey = tuple[date, int, int, int, str, bool]


def add_daily(counts: Counter[DailyKey]) -> None:
    """The full cross and its two roll-ups (without region; without topic and sentiment)."""
    _upsert(DailyCount, ("day", "topic_id", "region_id", "unit_id", "sentiment", "urgent"), ("count",),
            ((*k, n) for k, n in counts.items() if n))
    topics: Counter[tuple[Any, ...]] = Counter()
    regions: Counter[tuple[Any, ...]] = Counter()
    for (day, topic, region, unit, sentiment, urgent), n in counts.items():
        topics[(day, topic, unit, sentiment, urgent)] += n
        regions[(day, region, unit, urgent)] += n
    _upsert(DailyTopicCount, ("day", "topic_id", "unit_id", "sentiment", "urgent"), ("count",),
            ((*k, n) for k, n in topics.items() if n))
    _upsert(DailyRegionCount, ("day", "region_id", "unit_id", "urgent"), ("count",),
            ((*k, n) for k, n in regions.items() if n))
    months: Counter[tuple[Any, ...]] = Counter()
    for (day, region, unit, urgent), n in regions.items():
        months[(day.replace(day=1), region, unit, urgent)] += n
    _upsert(MonthRegionCount, ("month", "region_id", "unit_id", "urgent"), ("count",),
            ((*k, n) for k, n in months.items() if n))


def add_terms(counts: Counter[tuple[date, int, str]]) -> None:
    _upsert(TermCount, ("day", "topic_id", "term"), ("count",), ((*k, n) for k, n in counts.items() if n))
    months: Counter[tuple[Any, ...]] = Counter()
    for (day, topic, term), n in counts.items():
        months[(day.replace(day=1), topic, term)] += n
    _upsert(MonthTermCount, ("month", "topic_id", "term"), ("count",), ((*k, n) for k, n in months.items() if n))


def add_unit_day(day: date, unit_id: int, *, forwarded: int = 0, response_seconds: int = 0, closed: int = 0,
                 resolution_seconds: int = 0, within_sla: int = 0) -> None:
    _upsert(UnitDayCount, ("day", "unit_id"),
            ("forwarded", "response_seconds", "closed", "resolution_seconds", "within_sla"),
            [(day, unit_id, forwarded, response_seconds, closed, resolution_seconds, within_sla)])


def add_poll(counts: Counter[tuple[int, str, int]]) -> None:
    _upsert(PollCount, ("poll_id", "option", "region_id"), ("count",), ((*k, n) for k, n in counts.items() if n))


def move(classification: Any, new_topic: Any) -> None:
    """Move one message's count from its topic to ``new_topic`` (a correction)."""
    from . import engine
    from .ingest import _kecamatan_map

    c = classification
    region = _kecamatan_map(engine.get()).get(c.region_id or 0, c.region_id or 0)  # as ingest keyed it
    key = (region, c.unit_id or 0, c.sentiment, c.urgent)
    add_daily(Counter({(c.day, c.topic_id, *key): -1}))
    add_daily(Counter({(c.day, new_topic.pk, *key): 1}))
    terms = Counter({(c.day, c.topic_id, str(w)[:80]): -1 for w in c.why})
    terms.update({(c.day, new_topic.pk, str(w)[:80]): 1 for w in c.why})
    add_terms(terms)
