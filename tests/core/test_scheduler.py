from __future__ import annotations

from typing import Any

from django.core.management import call_command

from warta.core import scheduler


def test_due_jobs_run_and_wait_for_their_interval() -> None:
    calls: list[str] = []
    jobs = [scheduler.Job("a", 10, lambda: calls.append("a")), scheduler.Job("b", 60, lambda: calls.append("b"))]
    scheduler.run_due(jobs, now=100)
    scheduler.run_due(jobs, now=105)
    scheduler.run_due(jobs, now=111)
    assert calls == ["a", "b", "a"]
    assert scheduler.sleep_for(jobs, now=111) == 10


def test_a_failing_job_does_not_stop_the_others() -> None:
    def broken() -> None:
        raise RuntimeError("database gone")

    ran: list[str] = []
    jobs = [scheduler.Job("broken", 1, broken), scheduler.Job("ok", 1, lambda: ran.append("ok"))]
    results = scheduler.run_due(jobs, now=0)
    assert results["broken"] == "error: RuntimeError" and ran == ["ok"]
    # ...and the broken job is tried again at its next turn.
    assert "broken" in scheduler.run_due(jobs, now=1.5)


def test_loop_stops_when_asked() -> None:
    ticks: list[int] = []
    jobs = [scheduler.Job("t", 0.01, lambda: ticks.append(1))]
    scheduler.loop(jobs, should_stop=lambda: len(ticks) >= 3)
    assert len(ticks) == 3


def test_scheduler_once_runs_every_apps_periodic_work(db: Any, capsys: Any) -> None:
    import json

    call_command("scheduler", "--once", "--json")
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"inbox", "blasts.release_due", "blasts.sweep", "contacts.privacy", "reports",
                           "reports.revisions", "insights.polls", "insights.impact", "insights.retrain",
                           "api.webhooks", "api.housekeeping"}
    assert not any(str(v).startswith("error") for v in result.values())
