"""SMS polls (U-Report's instrument): a question with numbered or keyword options, sent as a blast.

Theory of operation
-------------------
* **Same approval chain.** ``create_poll`` writes an ordinary blast ``Draft`` (through
  ``warta.blasts.services.create_draft``) whose text is the question and its options, and a
  ``Poll`` linked to it. The draft goes up its sender ID's chain like any blast; nothing about
  approval is special for polls.
* **Window.** ``sync`` (run by ingest's poll step and the scheduler) opens a poll when its draft
  has been released — ``opens_at`` is the release time, ``closes_at`` ``window_hours`` later —
  cancels it when the draft was withdrawn, and ``close_due`` closes it when the window is over,
  sending ``signals.poll_closed`` once (a conditional UPDATE claims the close).
* **Counting, not ticketing.** Ingest asks ``match_replies`` for each batch: a message whose
  text names an option ("1", "2", "SETUJU", "pilih 2", "jawab: tidak") and arrives while a poll
  is open becomes a ``PollResponse`` (disposition "poll" in the inbox: stored, not ticketed, no
  acknowledgement). When several polls are open, a recipient's reply goes to the newest poll
  that number received; a number that received none answers the newest open poll. The first
  answer of a number counts; later ones are stored, not counted again. Anything else — a reply
  that names no option, or one after the window — goes on to the inbox's rules and becomes a
  ticket as usual.
* **Results** are counters (``PollCount`` per option × the contact's kelurahan), so a live result
  page for a million answers is a few hundred rows; kota and kecamatan roll up by code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Poll, PollResponse

_ANSWER_PREFIX = re.compile(r"^(?:jawab|jawaban|pilih|pilihan|opsi|poll|jajak)\s*[:.\-]?\s*", re.IGNORECASE)


class PollError(ValueError):
    """A poll that cannot be created as asked; the message says what to fix (Indonesian)."""


def parse_options(raw: str) -> list[dict[str, Any]]:
    """"1=Setuju\\n2=Tidak setuju" → [{"key": "1", "label": "Setuju", "words": ["setuju"]}, …].

    A line without "=" is its own label with keys 1, 2, … in order. Words a citizen may send
    instead of the key are the label's first word (lower case) unless two options share it."""
    options: list[dict[str, Any]] = []
    for i, line in enumerate([ln.strip() for ln in raw.splitlines() if ln.strip()], start=1):
        if "=" in line:
            key, label = (part.strip() for part in line.split("=", 1))
        else:
            key, label = str(i), line
        key = key.upper()[:20]
        if not key or not re.fullmatch(r"[0-9A-Z]+", key):
            raise PollError(_("Kunci pilihan hanya huruf/angka tanpa spasi, mis. 1=Setuju."))
        options.append({"key": key, "label": label[:100], "words": []})
    if len(options) < 2:
        raise PollError(_("Jajak pendapat perlu sedikitnya dua pilihan."))
    if len({o["key"] for o in options}) != len(options):
        raise PollError(_("Kunci pilihan tidak boleh sama."))
    firsts = Counter(o["label"].lower().split()[0] for o in options if o["label"].split())
    for o in options:
        words = o["label"].lower().split()
        if words and firsts[words[0]] == 1 and not words[0].isdigit():
            o["words"] = [words[0]]
        full = " ".join(words)
        if full and full not in o["words"]:
            o["words"].append(full)
    return options


def poll_text(question: str, options: list[dict[str, Any]]) -> str:
    opts = " ".join(f"{o['key']}={o['label']}" for o in options)
    return f"{question.strip()} Balas {opts}"


def create_poll(user: Any, *, title: str, question: str, options: list[dict[str, Any]], sender_id: int,
                window_hours: int = 72, audience: dict[str, Any] | None = None) -> Poll:
    """A poll and its blast draft (state "draft"; the operator submits it for approval)."""
    from warta.accounts import audit
    from warta.blasts import services as blast_services
    from warta.blasts.models import SenderID

    if not question.strip():
        raise PollError(_("Tulis pertanyaannya."))
    sender = SenderID.objects.filter(pk=sender_id).first()
    if sender is None:
        raise PollError(_("Sender ID tidak dikenal."))
    with transaction.atomic():
        try:
            draft = blast_services.create_draft(user, title=title, text=poll_text(question, options), sender=sender,
                                                audience={k: v for k, v in (audience or {}).items() if v})
        except blast_services.WorkflowError as exc:
            raise PollError(str(exc)) from exc
        poll = Poll.objects.create(draft=draft, question=question.strip(), options=options,
                                   window_hours=window_hours, created_by=user)
        audit.record("insights.poll.created", poll, actor=user,
                     changes={"draft": draft.pk, "options": [o["key"] for o in options], "window_hours": window_hours})
    return poll


def sync(now: datetime | None = None) -> int:
    """Open polls whose draft was released, cancel those whose draft was withdrawn; returns changes."""
    now = now or timezone.now()
    changed = 0
    for poll in Poll.objects.filter(state=Poll.State.DRAFT).select_related("draft"):
        draft = poll.draft
        if draft.state == "released" and draft.blast_id is not None:
            opens = draft.released_at or now
            changed += Poll.objects.filter(pk=poll.pk, state=Poll.State.DRAFT).update(
                state=Poll.State.OPEN, opens_at=opens, closes_at=opens + timedelta(hours=poll.window_hours))
        elif draft.state == "withdrawn":
            changed += Poll.objects.filter(pk=poll.pk, state=Poll.State.DRAFT).update(state=Poll.State.CANCELLED)
    return changed


def close_due(now: datetime | None = None) -> list[Poll]:
    """Close the polls whose window is over and send ``poll_closed`` once for each."""
    from . import services
    from .signals import poll_closed

    now = now or timezone.now()
    sync(now)
    closed = []
    for poll in Poll.objects.filter(state=Poll.State.OPEN, closes_at__lte=now):
        if Poll.objects.filter(pk=poll.pk, state=Poll.State.OPEN).update(state=Poll.State.CLOSED, closed_at=now):
            poll.refresh_from_db()
            closed.append(poll)
            poll_closed.send(sender=Poll, poll=poll, results=services.poll_results(poll))
    return closed


@dataclass(frozen=True, slots=True)
class OpenPoll:
    id: int
    blast_id: int
    opens_at: datetime
    closes_at: datetime
    keys: dict[str, str]  # what a citizen may send (upper case) → option key


def open_polls(now: datetime) -> list[OpenPoll]:
    """Polls open at ``now``, newest first (one small query; ingest calls it per batch)."""
    sync(now)
    out = []
    for p in Poll.objects.filter(state=Poll.State.OPEN, opens_at__lte=now, closes_at__gt=now).select_related(
            "draft").order_by("-opens_at"):
        keys: dict[str, str] = {}
        for o in p.options:
            keys[o["key"].upper()] = o["key"]
            for w in o.get("words", []):
                keys[w.upper()] = o["key"]
        out.append(OpenPoll(p.pk, p.draft.blast_id or 0, p.opens_at, p.closes_at, keys))  # type: ignore[arg-type]
    return out


def answer_of(text: str, poll: OpenPoll) -> str | None:
    """The option key a reply names, or None. Tolerant of "2.", "pilih 2", "SETUJU!", " 1 "."""
    t = _ANSWER_PREFIX.sub("", text.strip())
    t = re.sub(r"[^\w\s]", " ", t).strip().upper()
    if not t or len(t) > 60:
        return None
    if t in poll.keys:
        return poll.keys[t]
    first = t.split()[0]
    if first in poll.keys and len(t.split()) <= 3:
        return poll.keys[first]
    return None


def match_replies(items: list[tuple[str, str, datetime]], polls: list[OpenPoll]) -> list[tuple[int, str] | None]:
    """For (address, text, at) of a batch: (poll id, option key) when the message answers an open
    poll, else None."""
    from warta.blasts.models import OutboundMessage

    if not polls:
        return [None] * len(items)
    received: dict[str, int] = {}
    if len(polls) > 1:
        addresses = {a for a, _t, _at in items}
        for to, blast_id in OutboundMessage.objects.filter(
                blast_id__in=[p.blast_id for p in polls], to__in=addresses).values_list("to", "blast_id"):
            received.setdefault(to, blast_id)
    out: list[tuple[int, str] | None] = []
    for address, text, at in items:
        found = None
        candidates = [p for p in polls if p.opens_at <= at < p.closes_at]
        if address in received:
            candidates.sort(key=lambda p: p.blast_id != received[address])
        for p in candidates:
            key = answer_of(text, p)
            if key is not None:
                found = (p.id, key)
                break
        out.append(found)
    return out


def record(rows: list[tuple[int, int, str, str, int, datetime]]) -> None:
    """(poll id, message id, address, option, region id, at) of counted answers: the first per
    number counts; counters and the poll's total move in the same transaction."""
    from . import counters

    if not rows:
        return
    existing = set(PollResponse.objects.filter(poll_id__in={r[0] for r in rows},
                                               address__in={r[2] for r in rows}).values_list("poll_id", "address"))
    fresh = []
    for r in rows:
        if (r[0], r[2]) in existing:
            continue
        existing.add((r[0], r[2]))
        fresh.append(r)
    PollResponse.objects.bulk_create([
        PollResponse(poll_id=p, message_id=m, address=a, option=o, region_id=reg, at=at)
        for p, m, a, o, reg, at in fresh])
    counts: Counter[tuple[int, str, int]] = Counter((p, o, reg) for p, _m, _a, o, reg, _at in fresh)
    counters.add_poll(counts)
    from django.db.models import F

    for poll_id, n in Counter(r[0] for r in fresh).items():
        Poll.objects.filter(pk=poll_id).update(responses=F("responses") + n)
