"""Classification at ingest: the analyser the inbox calls once per batch (``inbox.hooks``).

Theory of operation
-------------------
``analyse`` classifies the whole batch in one ``classify_many`` call (the model vectorises and
predicts in bulk), looks up the senders' contact regions in one query (a message that names no
place takes its sender's region), maps topic codes to ids from a per-process cache, and asks the
poll step whether each message answers an open poll. ``record`` runs inside ingest's transaction
after the messages are stored: one plain-SQL insert of the batch's ``Classification`` rows and
one upsert per counter table, so the inbox's throughput goal holds (bench/inbox.py,
docs/benchmarks.md). Counters key the region at kecamatan level (a kelurahan counts for its
kecamatan; the classification row keeps the kelurahan).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from warta.inbox.hooks import Analysis

from . import counters, engine, polls
from .models import Classification, TicketOutcome, Topic

_topics: tuple[float, dict[str, int]] | None = None


def topic_ids() -> dict[str, int]:
    global _topics
    now = time.monotonic()
    if _topics is None or now - _topics[0] > engine.RECHECK:
        _topics = (now, dict(Topic.objects.values_list("code", "pk")))
    return _topics[1]


def _wib_day(at: datetime) -> Any:
    from warta.inbox.sla import WIB

    return at.astimezone(WIB).date()


class Analyser:
    def analyse(self, items: list[tuple[str, str, datetime, bool]], now: datetime) -> list[Analysis | None]:
        if not items:
            return []
        clf = engine.get()
        results = clf.classify_many([text for _a, text, _at, _b in items], binary=[b for *_x, b in items])
        ids = topic_ids()
        contact_regions: dict[str, int] = {}
        need = {a for (a, *_r), res in zip(items, results, strict=True) if res.region_id is None}
        if need:
            from django.db import connection

            from warta.contacts.models import Contact
            from warta.lib import fastsql

            # One array parameter, not 2,000 inlined literals (see warta/lib/fastsql.py).
            where, params = fastsql.in_list("e164", sorted(need))
            with connection.cursor() as cur:
                cur.execute(f"SELECT e164, region_id FROM {connection.ops.quote_name(Contact._meta.db_table)} "  # noqa: S608
                            f"WHERE region_id IS NOT NULL AND {where}", params)
                contact_regions = dict(cur.fetchall())
        open_polls = polls.open_polls(now)
        answers = polls.match_replies([(a, t, at) for a, t, at, _b in items], open_polls) if open_polls else None
        out: list[Analysis | None] = []
        for i, ((address, _text, _at, _b), r) in enumerate(zip(items, results, strict=True)):
            region_id, source = r.region_id, "text"
            if region_id is None and address in contact_regions:
                region_id, source = contact_regions[address], "contact"
            if region_id is None:
                source = ""
            region = clf.places.regions.get(region_id) if region_id is not None else None
            out.append(Analysis(
                topic_id=ids.get(r.topic) or ids.get("lainnya"), topic_code=r.topic, region_id=region_id,
                region_name=region.name if region is not None else "", urgent=r.urgent,
                poll=answers[i] if answers is not None else None, extra=(r, source)))
        return out

    def record(self, rows: list[tuple[int, int | None, int | None, Analysis, datetime, bool]], now: datetime) -> None:
        from warta.lib import fastsql

        if not rows:
            return
        clf = engine.get()
        kecamatan = _kecamatan_map(clf)
        classifications = []
        daily: Counter[counters.DailyKey] = Counter()
        terms: Counter[tuple[Any, int, str]] = Counter()
        poll_rows = []
        outcomes = []
        forwarded: Counter[tuple[Any, int]] = Counter()
        for message_id, ticket_id, unit_id, a, at, routed_new in rows:
            r, source = a.extra
            day = _wib_day(at)
            if a.poll is not None:
                poll_rows.append((a.poll[0], message_id, "", a.poll[1], a.region_id or 0, at))
                continue
            topic_id = a.topic_id or 0
            classifications.append((message_id, ticket_id, at, day, topic_id, topic_id, r.confidence, r.sentiment,
                                    r.urgent, a.region_id, source, unit_id or 0, r.version[:40], r.why[:12]))
            daily[(day, topic_id, kecamatan.get(a.region_id or 0, a.region_id or 0), unit_id or 0, r.sentiment,
                   r.urgent)] += 1
            for w in r.why[:12]:
                terms[(day, topic_id, str(w)[:80])] += 1
            if routed_new and ticket_id is not None:
                outcomes.append(ticket_id)
                forwarded[(day, unit_id or 0)] += 1
        fastsql.insert_rows(Classification, (
            "message", "ticket", "at", "day", "topic", "predicted_topic", "confidence", "sentiment", "urgent",
            "region", "place_source", "unit_id", "model_version", "why"), classifications)
        counters.add_daily(daily)
        counters.add_terms(terms)
        for (day, unit), n in forwarded.items():
            counters.add_unit_day(day, unit, forwarded=n)
        if outcomes:
            TicketOutcome.objects.bulk_create([TicketOutcome(ticket_id=t, forwarded_counted=True) for t in outcomes],
                                              ignore_conflicts=True)
        if poll_rows:
            addresses = _addresses([m for _p, m, *_r in poll_rows])
            polls.record([(p, m, addresses.get(m, ""), o, reg, at) for p, m, _a, o, reg, at in poll_rows])


def _addresses(message_ids: list[int]) -> dict[int, str]:
    from warta.inbox.models import Message

    return dict(Message.objects.filter(pk__in=message_ids).values_list("pk", "conversation__address"))


_kec_cache: dict[int, dict[int, int]] = {}


def _kecamatan_map(clf: Any) -> dict[int, int]:
    """region id → the id of its kecamatan (kelurahan) or itself (kecamatan, kota)."""
    key = id(clf)
    hit = _kec_cache.get(key)
    if hit is None:
        by_code = {r.code: r.id for r in clf.places.regions.values()}
        hit = {r.id: by_code.get(r.code[:8], r.id) if r.level == "kelurahan" else r.id
               for r in clf.places.regions.values()}
        _kec_cache.clear()
        _kec_cache[key] = hit
    return hit


def on_ticket_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """Count a ticket's forwarding and closing once in ``UnitDayCount`` (people's actions save
    tickets through the ORM; ingest's own routing is counted in ``record``)."""
    t = instance
    if t.forwarded_at is None and t.closed_at is None:
        return
    outcome, _ = TicketOutcome.objects.get_or_create(ticket_id=t.pk)
    changed = []
    if t.forwarded_at is not None and not outcome.forwarded_counted:
        seconds = max(0, int((t.forwarded_at - t.created_at).total_seconds()))
        counters.add_unit_day(_wib_day(t.forwarded_at), t.unit_id or 0, forwarded=1, response_seconds=seconds)
        outcome.forwarded_counted = True
        changed.append("forwarded_counted")
    if t.closed_at is not None and not outcome.closed_counted and t.status == "selesai":
        seconds = max(0, int((t.closed_at - t.created_at).total_seconds()))
        due = t.followup_due_at or t.verify_due_at
        within = 1 if due is None or t.closed_at <= due else 0
        counters.add_unit_day(_wib_day(t.closed_at), t.unit_id or 0, closed=1, resolution_seconds=seconds,
                              within_sla=within)
        outcome.closed_counted = True
        changed.append("closed_counted")
    if changed:
        outcome.save(update_fields=changed)
