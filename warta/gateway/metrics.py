"""Gateway samples for ``/metrics``.

Theory of operation: every number comes from a small table — ``OutboxCount`` (messages per
state, squashed deltas), ``GatewayCount`` (submits, errors by status, receipts, receipt latency,
squashed deltas), ``BindLease`` (one row per bind) and ``EngineLease`` (one per engine) — so a
scrape costs a handful of indexed reads whether the outbox holds ten thousand rows or ten
million. Nothing here runs ``COUNT(*)`` over the outbox. Rates (submits/s) are the scraper's
``rate()`` over the ``_total`` counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from warta.core.metrics import Sample


def collect() -> Iterable[Sample]:
    from warta.blasts.models import OutboundMessage, OutboxCount

    from .models import BindLease, Connection, EngineLease, GatewayCount

    totals = OutboxCount.totals()
    states: Any = OutboundMessage.State  # Django's TextChoices: Any to mypy
    for state in states:
        yield Sample("warta_outbox_messages", totals.get(state.value, 0), {"state": state.value},
                     "Outbound messages per state (from counters, not COUNT(*))")
    names = dict(Connection.objects.values_list("id", "name"))
    kinds = {"submits": ("warta_gateway_submits_total", "Messages the SMSC accepted", "counter"),
             "errors": ("warta_gateway_errors_total", "Failed submits by SMPP status", "counter"),
             "receipts": ("warta_gateway_receipts_total", "Delivery receipts by stat", "counter"),
             "receipt_latency_seconds_sum": ("warta_gateway_receipt_latency_seconds_sum",
                                             "Submit-to-receipt seconds, summed", "counter"),
             "receipt_latency_count": ("warta_gateway_receipt_latency_seconds_count",
                                       "Receipts in the latency sum", "counter"),
             "mo": ("warta_gateway_mo_total", "Citizens' messages received", "counter"),
             "throttled": ("warta_gateway_throttled_total", "Submits the SMSC throttled (requeued, not failed)",
                           "counter"),
             "late_responses": ("warta_gateway_late_responses_total",
                                "submit_sm_resp that came after the time-out", "counter"),
             "expired_no_receipt": ("warta_gateway_expired_no_receipt_total",
                                    "Accepted messages expired without a receipt", "counter"),
             "receipts_orphaned": ("warta_gateway_receipts_orphaned_total",
                                   "Receipts that matched no message and were given up", "counter"),
             "receipts_matched_by_number": ("warta_gateway_receipts_matched_by_number_total",
                                            "Receipts matched by handset and sender (response lost)",
                                            "counter")}
    for (conn_id, metric, label), value in sorted(GatewayCount.totals().items(), key=lambda kv: str(kv[0])):
        if metric not in kinds:
            continue
        name, help_, kind = kinds[metric]
        labels = {"connection": names.get(conn_id, "") if conn_id else ""}
        if metric == "errors":
            labels["status"] = label
        elif metric == "receipts":
            labels["stat"] = label
        yield Sample(name, value, labels, help_, kind)
    for lease in BindLease.objects.select_related("connection"):
        labels = {"connection": lease.connection.name, "bind": str(lease.slot)}
        yield Sample("warta_gateway_bind_up", 1 if lease.state == BindLease.State.BOUND else 0, labels,
                     "1 when the bind is bound")
        yield Sample("warta_gateway_bind_inflight", lease.inflight, labels, "Unanswered submits on the bind")
    yield Sample("warta_gateway_engines", EngineLease.objects.filter(expires_at__gte=timezone.now()).count(), {},
                 "Engines with a live lease")
