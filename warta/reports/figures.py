"""Every figure of the monthly report, computed from the data by SQL aggregates.

Theory of operation
-------------------
* **WIB decides the month.** A month is ``[1st 00:00 WIB, next 1st 00:00 WIB)``. An outbound
  message belongs to the month in which the SMSC took it (``submitted_at``: that is when the
  operator bills it), or, when it never reached the SMSC (failed, cancelled, suppressed, still
  queued), to the month it was queued (``created_at``). A blast that runs across midnight at the
  month's end is therefore split: each month reports, and pays for, the messages it sent; the
  blasts table marks such a blast as continued. Inbound messages and tickets belong to the month
  of their own timestamp (``Message.at``, ``Ticket.created_at``/``closed_at``).
* **Aggregate in the database.** The outbox is read with one ``GROUP BY`` (blast, operator,
  state, billable, text) — a handful of rows per blast, whatever the number of messages — and the
  inbound side with a few more; no query returns one row per message. Only the per-ticket times
  (response, resolution) are streamed, two timestamps per closed ticket.
* **Cost.** ``group_cost`` is the one switch: it uses the cost recorded on each message when it
  was submitted (``OutboundMessage.cost``) where that exists, and segments × today's tariff of the
  operator for messages without it (sent before cost was recorded).
* **Everything is JSON.** ``compute`` returns plain dicts, lists, ints, floats and strings (money as
  strings of rupiah, exact): the snapshot stored on the report, rendered to PDF and XLSX, printed
  by ``warta report monthly --json``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate

WIB = ZoneInfo("Asia/Jakarta")

#: Outcome columns of the blasts table, from the outbox states (DESIGN.md, "Outbound message states").
DELIVERED = ("delivered",)
UNDELIVERED = ("undelivered", "expired", "rejected")  # the network or SMSC gave up on it
FAILED = ("failed",)  # refused before the SMSC took it (permanent error)
NOT_SENT = ("cancelled", "suppressed")  # never attempted: blast cancelled, number opted out
PENDING = ("queued", "sending", "submitted", "unknown")  # no final outcome yet

ERASED_TEXT = "[dihapus]"  # what erasure leaves in a message's text (warta.inbox.hooks)
_NUMBER_IN_TEXT = re.compile(r"(?:\+62|62|0)8\d[\d\s\-]{6,14}\d")


# -- months --------------------------------------------------------------------------------------


def parse_month(value: str | dt.date) -> dt.date:
    """``"2026-11"`` → ``date(2026, 11, 1)``; refuses anything else with a message that says how."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"Bulan {value!r} tidak dikenal; tulis TTTT-BB, mis. 2026-11.")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as aware datetimes, ``[start, end)``, in WIB."""
    start = dt.datetime.combine(month.replace(day=1), dt.time(0), tzinfo=WIB)
    return start, dt.datetime.combine(next_month(month), dt.time(0), tzinfo=WIB)


def month_of(at: dt.datetime) -> dt.date:
    return at.astimezone(WIB).date().replace(day=1)


MONTH_NAMES = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
               "Oktober", "November", "Desember"]


def month_label(month: dt.date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


# -- helpers -------------------------------------------------------------------------------------


def pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


@lru_cache(maxsize=4096)
def segments_of(text: str) -> int:
    from warta.sms import measure

    return max(measure(text).segments, 1) if text else 1


def mask_numbers_in(text: str) -> str:
    """Phone numbers a citizen typed into a message, masked like addresses are."""
    return _NUMBER_IN_TEXT.sub(lambda m: m.group(0)[:4] + "****" + m.group(0)[-3:], text)


def has_recorded_cost() -> bool:
    """True once the outbox records each message's cost at submit (``OutboundMessage.cost``)."""
    from warta.blasts.models import OutboundMessage

    return any(f.name == "cost" for f in OutboundMessage._meta.concrete_fields)


def tariffs() -> dict[str, Decimal]:
    from warta.blasts.services import tariffs as blast_tariffs

    return blast_tariffs()


def group_cost(g: dict[str, Any], blast_text: str, prices: dict[str, Decimal]) -> Decimal:
    """The cost of one outbox group: recorded cost where the message has one, else segments ×
    the operator's tariff, for billable messages (those the SMSC took) only. The one switch."""
    if not g["billable"]:
        return Decimal(0)
    recorded = g.get("recorded") or Decimal(0)
    unrecorded = g.get("unrecorded", g["n"])
    if not unrecorded:
        return Decimal(recorded)
    price = prices.get(g["operator"], prices.get("unknown", Decimal(0)))
    return Decimal(recorded) + price * segments_of(g["text"] or blast_text) * unrecorded


# -- outbound ------------------------------------------------------------------------------------


def outbox_groups(start: dt.datetime, end: dt.datetime, blast_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """One row per (blast, operator, state, billable, text) with its count (and recorded cost).

    ``text`` is empty for messages that carry the blast's text (the common case): a blast of a
    million identical SMS is a few rows. Personalised messages group by their own text."""
    from django.db.models import Sum

    from warta.blasts.models import OutboundMessage

    qs = (OutboundMessage.objects.order_by()
          .annotate(at=Coalesce("submitted_at", "created_at"),
                    billable=Case(When(submitted_at__isnull=False, then=Value(1)), default=Value(0),
                                  output_field=IntegerField()))
          .filter(at__gte=start, at__lt=end))
    if blast_ids is not None:
        qs = qs.filter(blast_id__in=list(blast_ids))
    aggregates: dict[str, Any] = {"n": Count("id")}
    if has_recorded_cost():
        aggregates["recorded"] = Sum("cost")
        aggregates["unrecorded"] = Count("id", filter=Q(cost__isnull=True))
    return list(qs.values("blast_id", "operator", "state", "billable", "text").annotate(**aggregates))


def blast_info(blast_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Sender, unit, emergency flag and kind of each blast. The unit is the materi's unit, else
    the draft author's, else the creator's; blasts without a draft are the inbox's answers
    (``reply``) or administrators' test messages (``other``)."""
    from warta.blasts.models import Blast

    ids = list(blast_ids)
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 2000):
        rows = (Blast.objects.filter(pk__in=ids[start:start + 2000])
                .annotate(unit_id=Coalesce("draft__materi__unit_id", "draft__author__unit_id", "created_by__unit_id"))
                .values("pk", "name", "text", "sender__name", "priority", "created_at", "draft__id",
                        "draft__emergency", "draft__title", "unit_id", "state", "finished_at"))
        for r in rows:
            kind = "blast" if r["draft__id"] else ("reply" if r["priority"] == Blast.Priority.REPLY else "other")
            out[r["pk"]] = {
                "id": r["pk"], "name": r["draft__title"] or r["name"], "text": r["text"], "sender": r["sender__name"],
                "created_at": r["created_at"], "unit_id": r["unit_id"], "kind": kind, "state": r["state"],
                "finished_at": r["finished_at"],
                "emergency": bool(r["draft__emergency"]) or r["priority"] == Blast.Priority.EMERGENCY,
            }
    return out


def unit_names(ids: Iterable[int | None]) -> dict[int | None, str]:
    from warta.accounts.models import Unit

    names: dict[int | None, str] = {None: "Tanpa unit"}
    names.update(dict(Unit.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name")))
    return names


def _tally() -> dict[str, Any]:
    return {"messages": 0, "delivered": 0, "undelivered": 0, "failed": 0, "not_sent": 0, "pending": 0,
            "billable": 0, "segments": 0, "cost": Decimal(0)}


def _add(t: dict[str, Any], g: dict[str, Any], seg: int, cost: Decimal) -> None:
    n, state = g["n"], g["state"]
    t["messages"] += n
    for key, states in (("delivered", DELIVERED), ("undelivered", UNDELIVERED), ("failed", FAILED),
                        ("not_sent", NOT_SENT), ("pending", PENDING)):
        if state in states:
            t[key] += n
    if g["billable"]:
        t["billable"] += n
        t["segments"] += seg * n
    t["cost"] += cost


def _finish(t: dict[str, Any]) -> dict[str, Any]:
    attempted = t["messages"] - t["not_sent"]
    return {**t, "delivered_pct": pct(t["delivered"], attempted), "cost": money(t["cost"])}


def outbound(month: dt.date) -> dict[str, Any]:
    start, end = bounds(month)
    groups = outbox_groups(start, end)
    info = blast_info({g["blast_id"] for g in groups})
    prices = tariffs()
    per_blast: dict[int, dict[str, Any]] = defaultdict(_tally)
    per_sender: dict[str, dict[str, Any]] = defaultdict(_tally)
    per_unit: dict[int | None, dict[str, Any]] = defaultdict(_tally)
    per_operator: dict[str, dict[str, Any]] = defaultdict(_tally)
    total = _tally()
    for g in groups:
        b = info[g["blast_id"]]
        seg = segments_of(g["text"] or b["text"])
        cost = group_cost(g, b["text"], prices)
        for t in (per_blast[b["id"]], per_sender[b["sender"]], per_unit[b["unit_id"]],
                  per_operator[g["operator"] or "unknown"], total):
            _add(t, g, seg, cost)
    names = unit_names(per_unit)
    # Blasts that also sent before or after this month (a blast across midnight at month's end).
    split = _split_blasts(info, start, end)

    blasts, other = [], []
    for bid in sorted(per_blast, key=lambda i: (info[i]["created_at"], i)):
        b, t = info[bid], _finish(per_blast[bid])
        row = {"id": bid, "date": b["created_at"].astimezone(WIB).strftime("%Y-%m-%d %H:%M"), "name": b["name"],
               "sender": b["sender"], "unit": names.get(b["unit_id"], "Tanpa unit"), "topic": "",
               "recipients": t["messages"], "segments_per_sms": segments_of(b["text"]),
               "segments": t["segments"], "delivered": t["delivered"], "delivered_pct": t["delivered_pct"],
               "undelivered": t["undelivered"], "failed": t["failed"], "not_sent": t["not_sent"],
               "pending": t["pending"], "emergency": b["emergency"], "cost": t["cost"],
               "split": split.get(bid, "")}
        (blasts if b["kind"] == "blast" else other).append({**row, "kind": b["kind"]})
    # The topic of each blast's text, by the classifier the inbox uses for citizens' messages.
    from . import insights_adapter

    for row, topic in zip(blasts, insights_adapter.blast_topics([info[b["id"]]["text"] for b in blasts]), strict=True):
        row["topic"] = topic
    # The inbox's answers are many small blasts: one line per sender and kind in "other traffic".
    other_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in other:
        key = (row["sender"], row["kind"])
        agg = other_rows.setdefault(key, {"sender": row["sender"], "kind": row["kind"], "blasts": 0, "messages": 0,
                                          "delivered": 0, "segments": 0, "cost": Decimal(0)})
        agg["blasts"] += 1
        agg["messages"] += row["recipients"]
        agg["delivered"] += row["delivered"]
        agg["segments"] += row["segments"]
        agg["cost"] += Decimal(row["cost"])
    sender_blasts: dict[str, int] = defaultdict(int)
    unit_blasts: dict[int | None, int] = defaultdict(int)
    for bid in per_blast:
        if info[bid]["kind"] == "blast":
            sender_blasts[info[bid]["sender"]] += 1
            unit_blasts[info[bid]["unit_id"]] += 1
    return {
        "total": {**_finish(total), "blasts": len(blasts), "emergency_blasts": sum(1 for b in blasts if b["emergency"])},
        "blasts": blasts,
        "other_traffic": [{**r, "cost": money(r["cost"])} for r in sorted(other_rows.values(), key=lambda r: (r["sender"], r["kind"]))],
        "by_sender": [{"sender": s, "blasts": sender_blasts[s], **_finish(t)} for s, t in sorted(per_sender.items())],
        "by_unit": sorted(({"unit_id": u, "unit": names.get(u, "Tanpa unit"), "blasts": unit_blasts[u], **_finish(t)}
                           for u, t in per_unit.items()), key=lambda r: r["unit"]),
        "by_operator": [{"operator": o, **_finish(t)} for o, t in sorted(per_operator.items())],
        "cost_basis": "recorded" if has_recorded_cost() else "tariff",
    }


def _split_blasts(info: dict[int, dict[str, Any]], start: dt.datetime, end: dt.datetime) -> dict[int, str]:
    """Which blasts also sent before ``start`` ("sebelum") or after ``end`` ("sesudah").

    Only a blast created before the month can have messages before it, and only one not
    finished before the month's end can have messages after it; the outbox is read (through its
    blast index) for those few candidates only."""
    from warta.blasts.models import OutboundMessage

    out: dict[int, str] = {}
    early = [b for b, i in info.items() if i["created_at"] < start]
    late = [b for b, i in info.items() if i.get("finished_at") is None or i["finished_at"] >= end]
    qs = OutboundMessage.objects.order_by().annotate(at=Coalesce("submitted_at", "created_at"))
    before = set(qs.filter(blast_id__in=early, at__lt=start).values_list("blast_id", flat=True).distinct()) if early else set()
    after = set(qs.filter(blast_id__in=late, at__gte=end).values_list("blast_id", flat=True).distinct()) if late else set()
    for bid in before | after:
        out[bid] = "+".join(x for x, s in (("sebelum", before), ("sesudah", after)) if bid in s)
    return out


# -- inbound -------------------------------------------------------------------------------------


def _duration_stats(pairs: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> dict[str, Any]:
    hours = sorted((b - a).total_seconds() / 3600 for a, b in pairs if b is not None and b >= a)
    if not hours:
        return {"count": 0, "mean_hours": None, "median_hours": None}
    return {"count": len(hours), "mean_hours": round(sum(hours) / len(hours), 1),
            "median_hours": round(median(hours), 1)}


def inbound(month: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """The citizens' side from the inbox's rows: volume, topics, regions, response and resolution
    times, SLA per unit, opt-outs and opt-ins, the top issues with (masked) examples."""
    from django.db.models import Min

    from warta.accounts.models import AuditEvent
    from warta.inbox.models import Direction, Disposition, Message, Ticket

    start, end = bounds(month)
    now = min(now or dt.datetime.now(tz=WIB), end)
    msgs = Message.objects.order_by().filter(direction=Direction.IN, at__gte=start, at__lt=end)
    by_disposition = dict(msgs.values_list("disposition").annotate(n=Count("id")).values_list("disposition", "n"))
    by_day = [{"date": d.isoformat(), "messages": n} for d, n in
              msgs.annotate(day=TruncDate("at", tzinfo=WIB)).values_list("day").annotate(n=Count("id"))
              .values_list("day", "n").order_by("day")]
    senders = msgs.values("conversation_id").distinct().count()

    opened = Ticket.objects.order_by().filter(created_at__gte=start, created_at__lt=end)
    # Topics are the insights app's table: a retired (or merged) topic keeps its tickets and its
    # name here, marked, so the month reads as it was classified.
    by_topic = sorted(({"topic": code or "", "label": name or "Belum diklasifikasi", "retired": bool(retired),
                        "tickets": n}
                       for code, name, retired, n in opened.values_list("topic__code", "topic__name", "topic__retired")
                       .annotate(n=Count("id")).values_list("topic__code", "topic__name", "topic__retired", "n")),
                      key=lambda r: (-r["tickets"], r["topic"]))
    by_region = sorted(({"region": r or "Tidak diketahui", "tickets": n}
                        for r, n in opened.values_list("region__name").annotate(n=Count("id"))
                        .values_list("region__name", "n")),
                       key=lambda r: (-r["tickets"], r["region"]))
    by_status = dict(opened.values_list("status").annotate(n=Count("id")).values_list("status", "n"))

    closed = Ticket.objects.order_by().filter(closed_at__gte=start, closed_at__lt=end).exclude(status="spam")
    resolution = _duration_stats(closed.values_list("created_at", "closed_at").iterator(chunk_size=5000))
    first_reply = (opened.annotate(first=Min("messages__at", filter=Q(messages__direction=Direction.OUT,
                                                                      messages__disposition=Disposition.REPLY)))
                   .values_list("created_at", "first"))
    response = _duration_stats(first_reply.iterator(chunk_size=5000))

    sla = _sla_by_unit(opened, now)
    optin = dict(AuditEvent.objects.order_by().filter(at__gte=start, at__lt=end,
                                                       action__in=["contacts.opt_out", "contacts.opt_in"])
                 .values_list("action").annotate(n=Count("id")).values_list("action", "n"))
    return {
        "messages": sum(by_disposition.values()), "senders": senders,
        "by_disposition": [{"disposition": k, "messages": v} for k, v in sorted(by_disposition.items())],
        "by_day": by_day,
        "tickets_opened": sum(by_status.values()), "tickets_closed": closed.count(),
        "tickets_open_at_end": opened.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end)).count(),
        "by_status": [{"status": k, "tickets": v} for k, v in sorted(by_status.items())],
        "by_topic": by_topic, "by_region": by_region, "by_sentiment": _sentiment(start, end),
        "response": response, "resolution": resolution, "sla_by_unit": sla,
        "sla_total": _sla_total(sla),
        "opt_outs": optin.get("contacts.opt_out", 0), "opt_ins": optin.get("contacts.opt_in", 0),
        "polls": _polls(start, end),
        "top_issues": top_issues(opened, by_topic),
        "source": "inbox",
    }


def _sentiment(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Incoming messages per sentiment, from the classifier's rows (one per classified message)."""
    try:
        from warta.insights.models import Classification
    except ImportError:
        return []
    rows = dict(Classification.objects.order_by().filter(message__direction="in", message__at__gte=start,
                                                          message__at__lt=end)
                .values_list("sentiment").annotate(n=Count("id")).values_list("sentiment", "n"))
    return [{"sentiment": s, "messages": rows.get(s, 0)} for s in ("positif", "netral", "negatif")] if rows else []


def _polls(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Results of the polls that opened this month (the insights app counts the replies)."""
    from . import insights_adapter

    return insights_adapter.polls(start, end)


def _sla_by_unit(opened: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """Per unit (the ticket's unit; none: the SMS Center itself), for tickets opened this month:
    met (forwarded or closed by the verify deadline and, once forwarded, closed by the follow-up
    deadline), missed (done late, or still open past a deadline at the month's end), running."""
    rows = opened.values_list("unit_id", "verify_due_at", "forwarded_at", "closed_at", "followup_due_at")
    tally: dict[int | None, dict[str, int]] = defaultdict(lambda: {"met": 0, "missed": 0, "running": 0})
    for unit_id, verify_due, forwarded, closed, followup_due in rows.iterator(chunk_size=5000):
        first = min((t for t in (forwarded, closed) if t is not None), default=None)
        if (first is not None and first > verify_due) or (first is None and now > verify_due):
            outcome = "missed"
        elif followup_due is not None and ((closed is not None and closed > followup_due)
                                           or (closed is None and now > followup_due)):
            outcome = "missed"
        elif closed is None and (first is None or followup_due is not None):
            outcome = "running"
        else:
            outcome = "met"
        tally[unit_id][outcome] += 1
    names = unit_names(tally)
    return sorted(({"unit": names.get(u, "Tanpa unit") if u else "SMS Center", **t,
                    "compliance_pct": pct(t["met"], t["met"] + t["missed"])} for u, t in tally.items()),
                  key=lambda r: r["unit"])


def _sla_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    met, missed = sum(r["met"] for r in rows), sum(r["missed"] for r in rows)
    return {"met": met, "missed": missed, "running": sum(r["running"] for r in rows),
            "compliance_pct": pct(met, met + missed)}


def top_issues(opened: Any, by_topic: list[dict[str, Any]], limit: int = 5, examples: int = 3) -> list[dict[str, Any]]:
    """The most frequent topics this month, each with a few example messages: numbers masked,
    erased people's messages never shown."""
    from warta.inbox.models import Direction, Message
    from warta.inbox.services import masked_address

    out = []
    for row in [r for r in by_topic if r["topic"] and r["topic"] != "lainnya"][:limit]:
        picked: list[dict[str, str]] = []
        msgs = (Message.objects.filter(ticket__in=opened.filter(topic__code=row["topic"]), direction=Direction.IN)
                .exclude(text="").exclude(text=ERASED_TEXT).exclude(conversation__address__startswith="~")
                .select_related("conversation").order_by("at", "id")[:examples * 4])
        for m in msgs:
            text = mask_numbers_in(m.text.strip())[:300]
            if text and all(p["text"] != text for p in picked):
                picked.append({"at": m.at.astimezone(WIB).strftime("%Y-%m-%d %H:%M"),
                               "from": masked_address(m.conversation.address), "text": text})
            if len(picked) >= examples:
                break
        out.append({**row, "examples": picked})
    return out


# -- the whole report ----------------------------------------------------------------------------


def summary_of(out: dict[str, Any], inb: dict[str, Any]) -> dict[str, Any]:
    t = out["total"]
    return {
        "blasts": t["blasts"], "emergency_blasts": t["emergency_blasts"], "messages": t["messages"],
        "segments": t["segments"], "delivered": t["delivered"], "delivered_pct": t["delivered_pct"],
        "undelivered": t["undelivered"], "failed": t["failed"], "cost": t["cost"],
        "inbound": inb["messages"], "tickets_opened": inb["tickets_opened"], "tickets_closed": inb["tickets_closed"],
        "sla_compliance_pct": inb["sla_total"]["compliance_pct"], "opt_outs": inb["opt_outs"],
        "opt_ins": inb["opt_ins"],
    }


MOM_KEYS = ["blasts", "messages", "segments", "delivered_pct", "cost", "inbound", "tickets_opened",
            "tickets_closed", "sla_compliance_pct", "opt_outs", "opt_ins"]


def month_over_month(this: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for key in MOM_KEYS:
        a = this.get(key)
        b = (previous or {}).get(key)
        change = None
        if a is not None and b not in (None, 0, "0.00"):
            change = round(100.0 * (float(a) - float(b)) / float(b), 1)
        rows.append({"figure": key, "this": a, "previous": b, "change_pct": change})
    return rows


def compute(month: dt.date, *, now: dt.datetime | None = None, previous_summary: dict[str, Any] | None = None,
            with_previous: bool = True) -> dict[str, Any]:
    """All figures of ``month``. ``previous_summary``: last month's archived summary when there is
    one (the figures the office signed); else last month is computed afresh."""
    from . import insights_adapter

    month = month.replace(day=1)
    out = outbound(month)
    inb = inbound(month, now=now)
    inb = insights_adapter.enrich(month, inb)
    summary = summary_of(out, inb)
    if previous_summary is None and with_previous:
        prev = previous_month(month)
        previous_summary = compute(prev, now=now, with_previous=False)["summary"]
    start, end = bounds(month)
    return {
        "month": f"{month:%Y-%m}", "label": month_label(month),
        "period": {"start": start.isoformat(), "end": end.isoformat(), "timezone": "Asia/Jakarta"},
        "summary": summary, "outbound": out, "inbound": inb,
        "month_over_month": month_over_month(summary, previous_summary),
    }
