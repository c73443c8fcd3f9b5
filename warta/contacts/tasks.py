"""Background jobs of the contacts app (django-tasks; run by `warta worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(job_id: int) -> dict[str, object] | None:
    from .imports import execute, report

    job = execute(job_id)
    return report(job) if job is not None else None


@task()
def daily_privacy_jobs() -> dict[str, object]:
    """Retention and the escalation of overdue data-subject requests (schedule daily)."""
    from .services import escalate_overdue, retention

    result = retention()
    result["escalated"] = len(escalate_overdue())
    return result
