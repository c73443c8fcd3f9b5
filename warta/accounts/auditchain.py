"""The audit trail as a hash chain: a removed or altered row is detectable.

Theory of operation: each ``AuditEvent`` stores ``prev_hash`` (the hash of the row before it, by
id) and ``hash`` = SHA-256 over ``prev_hash`` and the row's own content in a canonical JSON form.
``warta audit verify`` walks the rows in id order and recomputes: an altered row no longer matches
its hash, a removed row breaks the next row's link, an inserted forgery would need every later hash
recomputed, which the triggers (UPDATE refused) and the application role (no UPDATE/DELETE/
TRUNCATE on this table, see docs/deploy.md) forbid. Removing the *newest* rows cannot be seen by
any chain on its own: ``verify`` prints the head (count and last hash) so that it can be noted
outside the database (the monthly report, an operations log), and a later head that no longer
contains it shows the truncation.

Rows are chained in insert order. Writers are serialised so that two transactions never chain
to the same predecessor: on PostgreSQL by a transaction-level advisory lock taken just before the
insert and held until commit (audit rows are written at the end of the change they record, so
the lock is short and always taken after the row locks of the change, never before them); on
SQLite by its single writer (Warta opens transactions with BEGIN IMMEDIATE). The lock is taken
before the predecessor is read and the id is drawn after it, so id order is chain order; a
transaction that rolls back takes its row with it and the next row chains to the last committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "WARTAAUD" as a 64-bit integer.
ADVISORY_KEY = int.from_bytes(b"WARTAAUD", "big") - (1 << 63)


def normalise_changes(changes: Any) -> Any:
    """The value as the database will give it back (JSON round trip), so the hash made before the
    insert is the hash recomputed after reading."""
    return json.loads(json.dumps(changes or {}, ensure_ascii=False))


def _canonical(value: Any) -> Any:
    """Numbers as both databases give them back: PostgreSQL's jsonb keeps 1e20 as the integer
    100000000000000000000 and 2.0 as 2.0, SQLite's JSON text keeps the float; an integral float
    hashes as the integer either way."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def content(event: Any) -> list[Any]:
    ip = event.ip_address
    if ip:
        ip = event._meta.get_field("ip_address").get_prep_value(ip)
    return [
        event.at.astimezone(UTC).isoformat(),
        event.actor_id,
        event.actor_name,
        ip or None,
        event.action,
        event.object_type,
        event.object_id,
        event.object_repr,
        event.unit_id,
        _canonical(event.changes),
    ]


def row_hash(prev_hash: str, event: Any) -> str:
    body = json.dumps(content(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def lock(connection: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_KEY])


def head_hash(connection: Any, table: str) -> str:
    """The newest row's hash (raw SQL: this runs on every audit write, and the ORM's query
    building cost more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT hash FROM {connection.ops.quote_name(table)} ORDER BY id DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row and row[0] else GENESIS


@dataclass
class Verdict:
    checked: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head_id": self.head_id,
                "head_hash": self.head_hash, "problems": self.problems}


def verify(events: Iterable[Any], limit: int = 100) -> Verdict:
    """Recompute the chain over ``events`` in id order; list the first ``limit`` problems."""
    verdict = Verdict()
    prev = GENESIS
    for event in events:
        verdict.checked += 1
        if event.prev_hash != prev:
            # The row before this one is not the one it was chained to: removed (or reordered).
            verdict.problems.append({"id": event.pk, "problem": "missing_before"})
        if row_hash(event.prev_hash, event) != event.hash:
            verdict.problems.append({"id": event.pk, "problem": "altered"})
        prev = event.hash
        verdict.head_id, verdict.head_hash = event.pk, event.hash
        if len(verdict.problems) >= limit:
            break
    return verdict
