"""Leases: an engine's own lease, its bind slots, taking over dead engines, and noticing changed
connections. Database steps, each callable alone from a test."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from warta.blasts.models import OutboundMessage

from ..models import BindLease, Connection, EngineLease, Route
from ..transports import ConnectionURLError, parse_url
from ._base import EngineBase
from ._types import (
    B,
    LeaseLost,
    M,
    Router,
    RouteRow,
    S,
    _execute,
)

log = logging.getLogger("warta.gateway.engine")


class LeaseSteps(EngineBase):
    """Engine and bind leases (``EngineLease``, ``BindLease``)."""

    def register(self) -> None:
        """Take our lease. An earlier run of this engine — the same ``engine_id``, or a process
        on this host that no longer exists — is reaped at once: waiting for its lease to expire
        would only delay a restart after a crash."""
        now = self.now()
        self.reap_own_dead()
        EngineLease.objects.update_or_create(
            engine_id=self.engine_id,
            defaults={"hostname": self.hostname[:100], "pid": os.getpid(), "started_at": now,
                      "heartbeat_at": now, "expires_at": now + timedelta(seconds=self.lease_seconds)},
        )

    def reap_own_dead(self) -> int:
        """Reap earlier runs on this host: our own ``engine_id`` (a restart with a fixed
        identity), or a lease whose process is gone and which missed a heartbeat (a pid of
        another container with the same hostname still heartbeats, so it is left alone)."""
        now = self.now()
        quiet = now - timedelta(seconds=self.heartbeat_seconds)
        dead = [lease.engine_id for lease in EngineLease.objects.filter(hostname=self.hostname[:100])
                if (lease.engine_id == self.engine_id and lease.pid != os.getpid())
                or (lease.engine_id != self.engine_id and lease.heartbeat_at < quiet and not _pid_alive(lease.pid))]
        if dead:
            self.reap_expired_leases(only=dead)
        return len(dead)

    def heartbeat(self) -> set[tuple[int, int]]:
        """Renew our engine and bind leases; returns the bind slots we no longer hold."""
        now = self.now()
        expires = now + timedelta(seconds=self.lease_seconds)
        with transaction.atomic():
            if not EngineLease.objects.filter(engine_id=self.engine_id).update(heartbeat_at=now, expires_at=expires):
                raise LeaseLost(f"engine lease {self.engine_id} was reaped")
            held = set(BindLease.objects.filter(engine_id=self.engine_id).values_list("connection_id", "slot"))
            for (conn_id, slot), bs in self.binds.items():
                if (conn_id, slot) in held:
                    state = BindLease.State.BOUND if bs.bind.bound else BindLease.State.DOWN
                    BindLease.objects.filter(connection_id=conn_id, slot=slot, engine_id=self.engine_id).update(
                        expires_at=expires, state=state, inflight=bs.inflight,
                        last_error="" if bs.bind.bound else str(getattr(bs.bind, "last_error", ""))[:300])
        return set(self.binds) - held

    def reap_expired_leases(self, only: Sequence[str] | None = None) -> dict[str, int]:
        """Take over engines whose lease expired (or the dead runs named in ``only``): their
        claimed rows are queued again, their ``sending`` rows become ``unknown`` (or queued when
        the blast resends unknowns), counted in ``unknown_count`` either way."""
        now = self.now()
        totals = {"engines": 0, "released": 0, "unknown": 0, "requeued_unknown": 0}
        with self._counted():
            if only is not None:
                dead = EngineLease.objects.filter(engine_id__in=list(only))
            else:
                dead = EngineLease.objects.filter(expires_at__lt=now).exclude(engine_id=self.engine_id)
            if self.is_postgres:
                dead = dead.select_for_update(skip_locked=True)
            for lease in list(dead):
                totals["engines"] += 1
                totals["requeued_unknown"] += len(self.outbox.move_where(
                    "reap_resend", f"engine_id=%s AND blast_id IN (SELECT id FROM {B} WHERE resend_unknown)",
                    [lease.engine_id], set_params=[now]))
                totals["unknown"] += len(self.outbox.move_where(
                    "reap_unknown", "engine_id=%s", [lease.engine_id],
                    set_params=["mesin mati setelah PDU dikirim, sebelum jawaban tersimpan"]))
                with connection.cursor() as cur:
                    _execute(cur, f"UPDATE {M} SET engine_id=NULL WHERE engine_id=%s AND state=%s",
                             [lease.engine_id, S.QUEUED])
                    totals["released"] += cur.rowcount
                BindLease.objects.filter(engine_id=lease.engine_id).update(
                    engine_id=None, expires_at=None, state=BindLease.State.FREE, inflight=0)
                dead_id = lease.engine_id  # delete() sets the primary key to None
                lease.delete()
                log.warning("reaped dead engine %s: %s", dead_id, totals)
        return totals

    def load_connections(self) -> list[Connection]:
        qs = Connection.objects.filter(is_active=True)
        if self.connection_names:
            qs = qs.filter(name__in=self.connection_names)
        return list(qs)

    def load_routes(self) -> None:
        rows = Route.objects.filter(connection__is_active=True).select_related("sender", "connection").order_by(
            "connection__priority", "priority", "id")
        self.router = Router(RouteRow(r.connection_id, r.sender.name if r.sender else None, r.operator, r.prefix)
                             for r in rows)

    def acquire_binds(self, skip: set[int] | frozenset[int] = frozenset()) -> list[tuple[Connection, int]]:
        """Lease free (or expired) bind slots up to this engine's fair share of each connection
        (not of those in ``skip``: their old binds are still closing)."""
        now = self.now()
        got: list[tuple[Connection, int]] = []
        live = max(1, EngineLease.objects.filter(expires_at__gte=now).count())
        for conn in self.load_connections():
            if conn.pk in skip:
                continue
            try:
                spec = parse_url(conn.url)
            except ConnectionURLError as exc:
                log.error("connection %s has an invalid URL: %s", conn.name, exc)
                continue
            for slot in range(spec.binds):
                BindLease.objects.get_or_create(connection=conn, slot=slot)
            share = math.ceil(spec.binds / live)
            self._shares[conn.pk] = share
            held = sum(1 for (c, _s) in self.binds if c == conn.pk)
            for slot in range(spec.binds):
                if held >= share:
                    break
                if (conn.pk, slot) in self.binds:
                    continue
                taken = BindLease.objects.filter(connection=conn, slot=slot).filter(
                    models_q_free(now)).update(engine_id=self.engine_id, state=BindLease.State.CONNECTING,
                                               expires_at=now + timedelta(seconds=self.lease_seconds), last_error="")
                if taken:
                    held += 1
                    got.append((conn, slot))
        return got

    def release_all(self) -> None:
        """On shutdown: give back claimed rows and bind leases, drop our engine lease."""
        with transaction.atomic():
            with connection.cursor() as cur:
                _execute(cur, f"UPDATE {M} SET engine_id=NULL WHERE engine_id=%s AND state=%s", [self.engine_id, S.QUEUED])
            BindLease.objects.filter(engine_id=self.engine_id).update(
                engine_id=None, expires_at=None, state=BindLease.State.FREE, inflight=0)
            # Rows still in ``sending`` (the drain timed out) stay ours; the lease expiring makes
            # another engine (or our successor) mark them unknown. Keep the lease row for that.
            if not OutboundMessage.objects.filter(engine_id=self.engine_id, state=S.SENDING).exists():
                EngineLease.objects.filter(engine_id=self.engine_id).delete()
            else:
                EngineLease.objects.filter(engine_id=self.engine_id).update(expires_at=self.now())

    def changed_connections(self) -> set[int]:
        """Connections we hold binds of that were deleted, disabled or given a new URL (a fixed
        password, a new host): their binds drain and close, and are opened again as they are now."""
        held = {k[0] for k in self.binds}
        if not held:
            return set()
        live = dict(Connection.objects.filter(pk__in=held, is_active=True).values_list("pk", "url"))
        return {c for c in held if live.get(c) != self._conn_versions.get(c)}


def models_q_free(now: datetime) -> Any:
    from django.db.models import Q

    return Q(engine_id__isnull=True) | Q(expires_at__lt=now)


def _release_bind(conn_id: int, slot: int, engine_id: str, error: str) -> None:
    BindLease.objects.filter(connection_id=conn_id, slot=slot, engine_id=engine_id).update(
        engine_id=None, expires_at=None, state=BindLease.State.FREE, last_error=error[:300])


def _pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (a lease of ours with a dead pid is a
    crashed earlier run)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True
