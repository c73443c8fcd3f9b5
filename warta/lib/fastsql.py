"""Plain-SQL inserts and updates for hot paths (inbox ingest, freezing an audience into the outbox).

Theory of operation
-------------------
Ingest writes ~5 rows per incoming message. Django's ``bulk_create`` compiles every value of
every row through ``Field.get_db_prep_save`` and, on PostgreSQL, sends tens of thousands of
literals that the server parses and plans; that, not the database's work, was most of ingest's
time. Here the caller gives plain tuples in a fixed column order; each column gets one cheap
adapter, chosen once per (model, columns, vendor) from the field's type:

* datetimes: as is on PostgreSQL; on SQLite the exact text Django writes (naive UTC
  ``str(value)``), so that Django's own queries compare them the same way;
* dates: ``str`` on SQLite; JSON: ``json.dumps`` with the field's encoder (``::jsonb`` on
  PostgreSQL); everything else as is.

PostgreSQL gets one statement per table and batch whatever its size, with one array parameter
per column (``INSERT … SELECT * FROM unnest(%s::type[], …)``, ``UPDATE … FROM unnest(…)``), so
the server parses a few hundred bytes instead of a megabyte. SQLite gets ``executemany`` (one
prepared statement, the loop in C) or, when ids are needed, multi-row ``VALUES … RETURNING id``.
Rows come back from ``RETURNING`` in insertion order on both databases, as Django's
``bulk_create`` itself relies on.

Constraints and defaults are the database's and the models' as usual: a duplicate key raises
``IntegrityError`` exactly as ``bulk_create`` would. Columns not named get no value: name every
column whose model default matters.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection

__all__ = ["bound_cursor", "in_list", "insert_rows", "prepared", "update_rows"]

# psycopg prepares a statement after this many runs on a connection; Django turns that off
# (None). ``prepared`` raises it to a count never reached, so only the statements it is asked
# for are prepared — each one's generic plan reviewed (see ``prepared``).
_ONLY_WHEN_ASKED = 2**31 - 1


@contextlib.contextmanager
def bound_cursor() -> Iterator[Any]:
    """A cursor for the delivery engine's statements. PostgreSQL: a psycopg cursor with
    server-side binding on Django's connection (same transaction): parameters travel apart
    from the statement — Django's client-side binding quotes every element of a 500-id array
    into the SQL text in Python, which was a quarter of the engine's send thread at window 512.
    Write array parameters ``%b`` (binary: psycopg dumps them several times faster than as text,
    8× for timestamps). Errors are psycopg's own, not Django's wrappers. Elsewhere Django's
    cursor (and ``%b`` is PostgreSQL-only SQL)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cur:
            yield cur
        return
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        yield cur



def prepared(cur: Any, sql: str, params: Sequence[Any]) -> None:
    """``cur.execute`` as a prepared statement (PostgreSQL, a ``bound_cursor``): parsed and
    planned once per connection, then run from its cached plan. For the delivery engine's hot
    statements, where planning cost more than running (its CTEs: ~+4–27 % accepted submits at
    window 64). After five runs PostgreSQL may switch to a *generic* plan, made without the
    parameters' values, whenever it does not estimate it dearer than the values' plans — so a
    statement may come here only if its every generic plan is good whatever the statistics
    say: an index that serves it must not be a partial index whose condition is a parameter,
    and no other index may look cheaper on a young table's statistics (see the callers)."""
    conn = cur.connection
    if conn.prepare_threshold is None:
        conn.prepare_threshold = _ONLY_WHEN_ASKED
    cur.execute(sql, params, prepare=True)


def _sqlite_max_params() -> int:
    """Variables per statement this SQLite allows (32,766 since 3.32; 999 before)."""
    try:
        import sqlite3

        connection.ensure_connection()
        return min(30_000, int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)))
    except (AttributeError, TypeError):  # Python < 3.11: no getlimit
        return connection.features.max_query_params


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        # What DatabaseOperations.adapt_datetimefield_value does, for the connection's UTC.
        if value.utcoffset():
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=None)
    return str(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> Any:
    """Choices members (``TextChoices``) as their plain value."""
    return value if value is None or type(value) is str else str(value)


def _json(encoder: Any) -> Callable[[Any], Any]:
    def dump(value: Any) -> str | None:
        return None if value is None else json.dumps(value, cls=encoder)

    return dump


@cache
def _plan(model: Any, fields: tuple[str, ...], vendor: str) -> tuple[str, list[Callable[[Any], Any]], list[str]]:
    """(quoted column list, one adapter per column, PostgreSQL array type per column)."""
    meta = model._meta
    qn = connection.ops.quote_name
    adapters: list[Callable[[Any], Any]] = []
    types: list[str] = []
    cols = []
    for name in fields:
        f = meta.get_field(name)
        cols.append(qn(f.column))
        kind = f.get_internal_type()
        db_type = f.db_type(connection) if vendor == "postgresql" else ""
        if kind == "JSONField":
            adapters.append(_json(f.encoder))
        elif kind == "DateTimeField" and vendor == "sqlite":
            adapters.append(_sqlite_datetime)
        elif kind == "DateField" and vendor == "sqlite":
            adapters.append(_str_or_none)
        elif kind in ("CharField", "TextField"):
            adapters.append(_text)
        else:
            adapters.append(_identity)
        if vendor == "postgresql":
            if f.is_relation:
                db_type = f.target_field.rel_db_type(connection)
            types.append(db_type)
    return ", ".join(cols), adapters, types


def _adapt(rows: Sequence[Sequence[Any]], adapters: list[Callable[[Any], Any]]) -> list[list[Any]]:
    """Columns of adapted values (the shape unnest wants; SQLite transposes back)."""
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in adapters]
    for i, adapt in enumerate(adapters):
        if adapt is _sqlite_datetime:
            # A batch's timestamps repeat (its "now", the PDUs of one second): convert each once.
            memo: dict[Any, Any] = {}
            columns[i] = [memo[v] if v in memo else memo.setdefault(v, adapt(v)) for v in columns[i]]
        elif adapt is not _identity:
            columns[i] = [adapt(v) for v in columns[i]]
    return columns


def insert_rows(model: Any, fields: Sequence[str], rows: Sequence[Sequence[Any]], *,
                returning: bool | Sequence[str] = False, on_conflict_nothing: bool = False) -> list[Any]:
    """Insert ``rows`` (tuples in ``fields`` order) into ``model``'s table.

    ``returning=True``: the new primary keys in row order; a sequence of field names: a tuple of
    those columns per inserted row. With ``on_conflict_nothing`` only the rows inserted come back
    (return a natural key to tell which).
    """
    if not rows:
        return []
    vendor = connection.vendor
    cols, adapters, types = _plan(model, tuple(fields), vendor)
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = connection.ops.quote_name(meta.pk.column)
    columns = _adapt(rows, adapters)
    tail = " ON CONFLICT DO NOTHING" if on_conflict_nothing else ""
    single = returning is True
    if returning:
        back = [pk] if single else [connection.ops.quote_name(meta.get_field(f).column) for f in returning]
        tail += " RETURNING " + ", ".join(back)
    with connection.cursor() as cur:
        if vendor == "postgresql" and not on_conflict_nothing and (not returning or single):
            return _copy(cur, table, pk, cols, columns, returning=single)
        if vendor == "postgresql":
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}){tail}", columns)  # noqa: S608
            if not returning:
                return []
            return [r[0] for r in cur.fetchall()] if single else [tuple(r) for r in cur.fetchall()]
        values = list(zip(*columns, strict=True))
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        if not returning:
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES {one}{tail}", values)  # noqa: S608
            return []
        ids: list[Any] = []
        if single and not on_conflict_nothing and not connection.features.can_return_rows_from_bulk_insert:
            # SQLite < 3.35 has no RETURNING. Ingest's transaction holds the write lock (SQLite has
            # one writer), so the rows just inserted got consecutive ids ending at the last one.
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES {one}", values)  # noqa: S608
            cur.execute("SELECT last_insert_rowid()")
            last = cur.fetchone()[0]
            return list(range(last - len(values) + 1, last + 1))
        step = max(1, _sqlite_max_params() // len(fields))
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            sql = f"INSERT INTO {table} ({cols}) VALUES " + ", ".join([one] * len(chunk)) + tail  # noqa: S608
            cur.execute(sql, [v for row in chunk for v in row])
            ids.extend(r[0] if single else tuple(r) for r in cur.fetchall())
        return ids


def _copy(cur: Any, table: str, pk: str, cols: str, columns: list[list[Any]], *, returning: bool) -> list[Any]:
    """PostgreSQL: ``COPY … FROM STDIN`` (rows formatted in C by psycopg), the ids drawn from the
    table's sequence first when the caller needs them."""
    ids: list[Any] = []
    if returning:
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, pk.strip('"'), len(columns[0])])
        ids = [r[0] for r in cur.fetchall()]
        columns = [ids, *columns]
        cols = f"{pk}, {cols}"
    raw = getattr(cur, "cursor", cur)  # psycopg's own cursor: Django's wrapper has no ``copy``
    # …so errors are wrapped here as Django wraps them: a duplicate key is django.db.IntegrityError
    # (receive_mo_batch retries on it), not psycopg's UniqueViolation.
    with connection.wrap_database_errors, raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in zip(*columns, strict=True):
            copy.write_row(row)
    return ids


def update_rows(model: Any, fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``UPDATE … SET fields WHERE pk`` for each row: ``(value, …, pk)`` in ``fields`` order."""
    if not rows:
        return
    vendor = connection.vendor
    cols, adapters, types = _plan(model, (*fields, model._meta.pk.name), vendor)
    meta = model._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    names = [qn(meta.get_field(f).column) for f in fields]
    pk = qn(meta.pk.column)
    columns = _adapt(rows, adapters)
    with connection.cursor() as cur:
        if vendor == "postgresql":
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            aliases = ", ".join(f"c{i}" for i in range(len(fields))) + ", k"
            sets = ", ".join(f"{n} = v.c{i}" for i, n in enumerate(names))
            cur.execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({aliases}) "  # noqa: S608
                        f"WHERE {table}.{pk} = v.k", columns)
            return
        sets = ", ".join(f"{n} = %s" for n in names)
        cur.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", list(zip(*columns, strict=True)))  # noqa: S608


def in_list(column: str, values: Sequence[Any], db_type: str = "text") -> tuple[str, list[Any]]:
    """``column IN (values)`` as one parameter whatever the number of values: ``= ANY(array)``
    on PostgreSQL, ``IN (SELECT value FROM json_each(…))`` on SQLite (both use the index)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::{db_type}[])", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]
