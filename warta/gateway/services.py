"""Gateway services: adding and changing connections (CLI and settings UI call these).

Every change is validated here — the URL by its transport, sender IDs and operators against what
exists — so that a typo fails at ``warta connection add`` with a precise Indonesian message, and is
recorded in the audit trail with the password redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.blasts.models import SenderID
from warta.sms.numbers import Operator

from .models import BindLease, Connection, Route
from .transports import ConnectionURLError, parse_url, redact_url, suggest


class GatewayError(ValueError):
    """A connection change that cannot be made; the message says why, in Indonesian."""

    permanent = True


OPERATORS = tuple(o.value for o in Operator if o is not Operator.UNKNOWN)


def _senders(names: Sequence[str]) -> list[SenderID]:
    found = {s.name.lower(): s for s in SenderID.objects.all()}
    out = []
    for name in names:
        s = found.get(name.strip().lower())
        if s is None:
            raise GatewayError(_("Sender ID %(n)r belum terdaftar%(hint)s. Daftarkan dulu di Pengaturan → Sender ID.")
                               % {"n": name, "hint": suggest(name, [x.name for x in found.values()])})
        out.append(s)
    return out


def _operators(names: Sequence[str]) -> list[str]:
    out = []
    for raw in names:
        for name in raw.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in OPERATORS:
                raise GatewayError(_("Operator %(n)r tidak dikenal%(hint)s. Pilihan: %(known)s.")
                                   % {"n": name, "hint": suggest(name, OPERATORS), "known": ", ".join(OPERATORS)})
            out.append(name)
    return out


def _set_routes(conn: Connection, senders: list[SenderID], operators: list[str], prefixes: list[str]) -> None:
    conn.routes.all().delete()
    any_sender: list[SenderID | None] = [None]
    rows = [Route(connection=conn, sender=s, operator=o, prefix=p)
            for s in (senders or any_sender) for o in (operators or [""]) for p in (prefixes or [""])]
    Route.objects.bulk_create(rows)


def _sync_slots(conn: Connection) -> None:
    binds = parse_url(conn.url).binds
    for slot in range(binds):
        BindLease.objects.get_or_create(connection=conn, slot=slot)
    # Slots beyond the new count are removed when free; held ones go when their engine lets go.
    BindLease.objects.filter(connection=conn, slot__gte=binds, engine_id__isnull=True).delete()


def validate_url(url: str) -> str:
    try:
        parse_url(url)
    except ConnectionURLError as exc:
        raise GatewayError(str(exc)) from None
    return url.strip()


@transaction.atomic
def add_connection(name: str, url: str, *, senders: Sequence[str] = (), operators: Sequence[str] = (),
                   prefixes: Sequence[str] = (), priority: int = 0, actor: Any = None) -> Connection:
    name = name.strip()
    if Connection.objects.filter(name=name).exists():
        raise GatewayError(_("Koneksi bernama %(n)r sudah ada.") % {"n": name})
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_slug

    try:
        validate_slug(name)
    except ValidationError:
        raise GatewayError(_("Nama koneksi hanya boleh huruf, angka, '-' dan '_' (tanpa spasi): %(n)r.") % {"n": name}) from None
    url = validate_url(url)
    sender_rows = _senders(senders)
    ops = _operators(operators)
    conn: Connection = Connection.objects.create(name=name, url=url, priority=priority)
    _set_routes(conn, sender_rows, ops, [p.strip() for p in prefixes if p.strip()])
    _sync_slots(conn)
    audit.record("gateway.connection_added", conn, actor=actor,
                 changes={"url": redact_url(url), "senders": [s.name for s in sender_rows], "operators": ops,
                          "priority": priority})
    return conn


@transaction.atomic
def update_connection(conn: Connection, *, url: str | None = None, senders: Sequence[str] | None = None,
                      operators: Sequence[str] | None = None, prefixes: Sequence[str] | None = None,
                      priority: int | None = None, is_active: bool | None = None, actor: Any = None) -> Connection:
    before = {"url": conn.safe_url, "priority": conn.priority, "is_active": conn.is_active,
              "senders": conn.sender_names(), "operators": conn.operator_names(), "prefixes": conn.prefix_names()}
    if url is not None and url.strip() and url.strip() != conn.url:
        conn.url = validate_url(url)
    if priority is not None:
        conn.priority = priority
    if is_active is not None:
        conn.is_active = is_active
    conn.save()
    if senders is not None or operators is not None or prefixes is not None:
        # What is not given stays as it was (editing senders must not drop the prefixes).
        _set_routes(conn, _senders(senders if senders is not None else conn.sender_names()),
                    _operators(operators if operators is not None else conn.operator_names()),
                    [p.strip() for p in (prefixes if prefixes is not None else conn.prefix_names()) if p.strip()])
    _sync_slots(conn)
    after = {"url": conn.safe_url, "priority": conn.priority, "is_active": conn.is_active,
             "senders": conn.sender_names(), "operators": conn.operator_names(), "prefixes": conn.prefix_names()}
    audit.record("gateway.connection_changed", conn, actor=actor, changes=audit.diff(before, after))
    return conn


def describe(conn: Connection) -> dict[str, Any]:
    """A connection as shown by ``connection list --json`` and the settings page (no password)."""
    spec = conn.spec
    return {
        "name": conn.name, "url": conn.safe_url, "kind": spec.kind, "priority": conn.priority,
        "active": conn.is_active, "window": spec.window, "tps": spec.tps, "binds": spec.binds,
        "senders": conn.sender_names() or ["*"], "operators": conn.operator_names() or ["*"],
        "bind_states": [{"slot": b.slot, "state": b.state, "engine": b.engine_id or "", "inflight": b.inflight,
                         "error": b.last_error} for b in conn.bind_leases.all()],
        "receipts": receipt_counts(conn),
    }


def receipt_counts(conn: Connection) -> dict[str, int]:
    """Receipts that matched no message: still ``waiting`` to be matched (their message may
    still be saved, or found by number), and ``orphaned`` (given up after an hour)."""
    from warta.blasts.models import Receipt

    from .models import GatewayCount

    waiting = Receipt.objects.filter(connection=conn, matched_at__isnull=True).count()
    orphaned = GatewayCount.objects.filter(connection=conn, metric="receipts_orphaned").aggregate(
        n=models.Sum("value"))["n"] or 0
    return {"waiting": waiting, "orphaned": int(orphaned)}
