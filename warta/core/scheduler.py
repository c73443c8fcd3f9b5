"""The scheduler: the periodic work of every app, in one process (``warta scheduler``).

Theory of operation: each job is a plain function an app already exposes, with an interval. The
loop runs whatever is due, one job at a time, and sleeps until the next is due. A job that raises
is logged and tried again at its next turn: one failing job must not stop the others (an SLA
escalation must not wait on a broken retention run). The jobs are idempotent and claim their rows
with conditional updates, so two schedulers by mistake do no harm; production runs one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("warta.scheduler")


def _release_due_blasts() -> Any:
    from warta.blasts.services import release_due

    return len(release_due())


def _blasts_clock() -> Any:
    from warta.blasts.outbox import sweep

    return sweep()


def _inbox_tick() -> Any:
    from warta.inbox import ingest, services

    taken = 0
    while (n := ingest.intake_gateway()) and taken < 100_000:
        taken += n
    return {"taken": taken, "flushed": ingest.flush_incomplete(), "escalated": services.escalate_overdue()}


def _daily_privacy_jobs() -> Any:
    from warta.contacts.tasks import daily_privacy_jobs

    return daily_privacy_jobs.call()


def _reports_tick() -> Any:
    from warta.reports.services import scheduler_tick

    return scheduler_tick()


def _reports_daily() -> Any:
    from warta.reports.services import daily_tick

    return daily_tick()


def _insights_polls() -> Any:
    from warta.insights.polls import close_due

    return len(close_due())


def _insights_impact() -> Any:
    from warta.insights.impact import refresh_recent

    return refresh_recent()


def _insights_retrain() -> Any:
    from warta.insights.tasks import retrain_model

    retrain_model.enqueue()  # the worker trains; the scheduler only asks
    return "enqueued"


def _webhooks_due() -> Any:
    # Only a check here: the HTTP requests run in `warta worker`, so that a slow receiver never
    # delays the inbox's one-second tick.
    from warta.api import webhooks

    if webhooks.due_exists():
        return "enqueued" if webhooks.wake_worker() else "already queued"
    return "idle"


def _api_housekeeping() -> Any:
    from warta.api import webhooks

    return webhooks.purge()


@dataclass
class Job:
    name: str
    interval: float  # seconds
    run: Callable[[], Any]
    next_at: float = field(default=0.0)


def default_jobs() -> list[Job]:
    return [
        # Citizens' messages: intake from the gateway, timed-out concatenations, SLA escalation.
        Job("inbox", 1.0, _inbox_tick),
        # Scheduled blasts, and blasts held by quiet hours.
        Job("blasts.release_due", 15.0, _release_due_blasts),
        # Blasts that finished, and quiet hours for blasts still sending (engines run it too).
        Job("blasts.sweep", 5.0, _blasts_clock),
        # Retention (UU 27/2022) and overdue data-subject requests.
        Job("contacts.privacy", 24 * 3600.0, _daily_privacy_jobs),
        # Monthly report: last month's draft on the 1st, due-date reminders; archived months whose
        # data changed get a new revision (daily).
        Job("reports", 600.0, _reports_tick),
        Job("reports.revisions", 24 * 3600.0, _reports_daily),
        # SMS polls open/close (poll_closed), blast impact figures, the nightly model retraining.
        Job("insights.polls", 60.0, _insights_polls),
        Job("insights.impact", 600.0, _insights_impact),
        Job("insights.retrain", 24 * 3600.0, _insights_retrain),
        # Webhook retries (exponential back-off) that have come due.
        Job("api.webhooks", 5.0, _webhooks_due),
        # Old webhook deliveries (90 days) and expired Idempotency-Keys.
        Job("api.housekeeping", 24 * 3600.0, _api_housekeeping),
    ]


def run_due(jobs: list[Job], now: float) -> dict[str, Any]:
    """Run every job due at ``now``; return their results (or the error's class) by name."""
    results: dict[str, Any] = {}
    for job in jobs:
        if now < job.next_at:
            continue
        job.next_at = now + job.interval
        try:
            results[job.name] = job.run()
        except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the others
            logger.exception("scheduled job %s failed", job.name)
            results[job.name] = f"error: {type(exc).__name__}"
    return results


def sleep_for(jobs: list[Job], now: float) -> float:
    return max(0.05, min(job.next_at for job in jobs) - now)


def loop(jobs: list[Job], should_stop: Callable[[], bool], clock: Callable[[], float] = time.monotonic) -> None:
    while not should_stop():
        run_due(jobs, clock())
        deadline = clock() + sleep_for(jobs, clock())
        while not should_stop() and clock() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - clock())))
