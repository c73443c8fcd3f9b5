"""Gateway connections, routes, leases, inbound messages and gateway counters.

Theory of operation: a ``Connection`` is a URL (``smpp://…``, ``kannel://…``, ``gammu+…://…``)
plus what it may carry (``Route`` rows: sender ID × operator × prefix). Engines hold an
``EngineLease`` (renewed by heartbeat) and one ``BindLease`` per bind they open, so N engines
never open more binds than the connection allows; a lease that is not renewed is taken over.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class Connection(models.Model):
    """An account at an SMSC, Kannel or Gammu. The URL is the whole configuration."""

    name = models.SlugField(_("nama"), max_length=50, unique=True)
    url = models.CharField(_("URL"), max_length=500)  # contains the password: never log or show it
    priority = models.SmallIntegerField(_("prioritas"), default=0,
                                        help_text=_("Angka lebih kecil dipakai lebih dulu."))
    is_active = models.BooleanField(_("aktif"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name = _("koneksi gateway")
        verbose_name_plural = _("koneksi gateway")

    def __str__(self) -> str:
        return str(self.name)

    def __repr__(self) -> str:
        return f"<Connection {self.name} {self.safe_url}>"

    @property
    def spec(self) -> Any:
        from .transports import parse_url

        return parse_url(self.url)

    @property
    def kind(self) -> str:
        return str(self.spec.kind)

    @property
    def safe_url(self) -> str:
        """The URL with its password replaced by ``***``: what logs and pages show."""
        from .transports import redact_url

        return redact_url(self.url)

    def sender_names(self) -> list[str]:
        return sorted({r.sender.name for r in self.routes.select_related("sender") if r.sender})

    def operator_names(self) -> list[str]:
        return sorted({r.operator for r in self.routes.all() if r.operator})

    def prefix_names(self) -> list[str]:
        return sorted({r.prefix for r in self.routes.all() if r.prefix})


class Route(models.Model):
    """What a connection may carry: a sender ID (or any), an operator (or any), a prefix (or any).

    Routing (``warta.gateway.routing``) picks, for a message, the first connection by
    ``(connection.priority, route.priority)`` whose route matches and whose binds are up; the next
    one is the failover.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="routes")
    sender = models.ForeignKey("blasts.SenderID", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")  # null: any sender ID
    operator = models.CharField(max_length=12, blank=True)  # warta.sms.numbers.Operator; "": any
    prefix = models.CharField(max_length=16, blank=True)  # E.164 prefix like +62812; "": any
    priority = models.SmallIntegerField(default=0)

    class Meta:
        ordering = ["connection__priority", "priority", "id"]


class EngineLease(models.Model):
    """A running engine. Renewed every heartbeat; an expired row means the engine is dead and
    another engine reaps it (``Engine.reap_expired_leases``)."""

    engine_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=100)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    expires_at = models.DateTimeField()


class BindLease(models.Model):
    """Slot ``slot`` of a connection's ``binds``: which engine holds it and in which state.

    Slots are created for 0..binds-1; an engine takes a slot whose lease is free or expired, in a
    conditional UPDATE, so the number of open binds never exceeds ``binds`` across all engines.
    """

    class State(models.TextChoices):
        FREE = "free", _("bebas")  # no engine holds it
        CONNECTING = "connecting", _("menyambung")  # held; TCP connect or bind under way
        BOUND = "bound", _("terhubung")  # bound, sending
        DOWN = "down", _("terputus")  # held, but the link is down; reconnecting with back-off

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="bind_leases")
    slot = models.SmallIntegerField()
    engine_id = models.CharField(max_length=64, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.FREE)
    last_error = models.CharField(max_length=300, blank=True)
    inflight = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "slot"]
        constraints = [models.UniqueConstraint(fields=["connection", "slot"], name="bindlease_slot_unique")]


class InboundMessage(models.Model):
    """A citizen's SMS as it arrived on a bind (one row per PDU part).

    Minimal on purpose: the inbox issue owns conversations, tickets and reassembly, and will read
    these rows (or replace this table with its own through ``warta.gateway.hooks.on_mobile_originated``).
    """

    connection = models.ForeignKey(Connection, on_delete=models.SET_NULL, null=True, related_name="+")
    source = models.CharField(max_length=21)
    destination = models.CharField(max_length=21)
    text = models.TextField()
    concat_ref = models.IntegerField(null=True, blank=True)
    concat_total = models.SmallIntegerField(null=True, blank=True)
    concat_seq = models.SmallIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)  # set by the inbox when it took it

    class Meta:
        indexes = [
            # used by the inbox's intake job: messages not yet taken
            models.Index(fields=["received_at"], name="inbound_unprocessed",
                         condition=models.Q(processed_at__isnull=True)),
        ]


class GatewayCount(models.Model):
    """Gateway counters for /metrics (submits, errors by status, receipts, receipt latency), as
    insert-only deltas squashed like ``blasts.OutboxCount``: engines never update a shared row."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, related_name="+")
    metric = models.CharField(max_length=40)
    label = models.CharField(max_length=40, blank=True)  # e.g. the SMPP status name for errors
    value = models.FloatField()

    @classmethod
    def add(cls, deltas: dict[tuple[int | None, str, str], float]) -> None:
        rows = [(c, m, lab, v) for (c, m, lab), v in deltas.items() if v]
        if not rows:
            return
        from django.db import connection as db

        if db.vendor == "postgresql":
            # No RETURNING (bulk_create's): in the engine's pipelined flush this INSERT rides
            # with the COMMIT instead of costing a round trip.
            cols = list(zip(*rows, strict=True))
            from warta.lib.fastsql import bound_cursor, prepared

            with bound_cursor() as cur:
                prepared(  # an INSERT of an unnest: one plan whatever the values
                    cur, f"INSERT INTO {cls._meta.db_table} (connection_id, metric, label, value) "  # noqa: S608
                    "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::float8[])",
                    [list(cols[0]), list(cols[1]), list(cols[2]), [float(v) for v in cols[3]]])
            return
        cls.objects.bulk_create([cls(connection_id=c, metric=m, label=lab, value=v) for c, m, lab, v in rows])

    @classmethod
    def totals(cls) -> dict[tuple[int | None, str, str], float]:
        out: dict[tuple[int | None, str, str], float] = {}
        rows = cls.objects.values_list("connection_id", "metric", "label").annotate(v=models.Sum("value"))
        for c, m, lab, v in rows:
            out[(c, m, lab)] = float(v or 0)
        return out

    @classmethod
    def squash(cls) -> None:
        from django.db import connection as db

        table = cls._meta.db_table
        with transaction.atomic():
            with db.cursor() as cur:
                cur.execute(f"DELETE FROM {table} RETURNING connection_id, metric, label, value")  # noqa: S608
                rows = cur.fetchall()
            sums: dict[tuple[int | None, str, str], float] = {}
            for c, m, lab, v in rows:
                sums[(c, m, lab)] = sums.get((c, m, lab), 0.0) + v
            cls.add(sums)
