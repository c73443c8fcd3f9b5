"""Budgets per unit: the operator is warned at 80%, non-emergency blasts of the unit are held at
100% in the blasts release path until an approver raises the budget; every step is audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import time_machine

from tests.blasts.helpers import approve_all, create_draft, create_materi
from tests.reports.helpers import add_messages, create_blast, wib

NOW = wib(2026, 11, 16, 10)


def approved_draft(actors: dict[str, Any], *, emergency: bool = False) -> Any:
    from warta.blasts import services

    materi = create_materi(actors["liaison"])  # BPBD's materi: the blast is BPBD's spend
    fields: dict[str, Any] = {"materi": materi}
    if emergency:
        fields.update(emergency=True, emergency_reason="Banjir besar")
    draft = create_draft(actors["operator"], **fields)
    services.submit_for_review(draft, actors["operator"])
    approve_all(draft, actors)  # the chain as the approval rules walk it (owner, TOTP for the last step)
    draft.refresh_from_db()
    return draft


@pytest.fixture
def spent(actors: dict[str, Any], units: dict[str, Any]) -> Any:
    """BPBD sent 40 one-segment SMS this month: Rp14.000."""
    with time_machine.travel(NOW, tick=False):
        b = create_blast(author=actors["operator"], unit=units["bpbd"], at=wib(2026, 11, 2))
        add_messages(b, n=40, state="delivered", created=wib(2026, 11, 2), submitted=wib(2026, 11, 2, 9, 1))
    return b


@pytest.mark.django_db
def test_spend_is_measured_against_the_budget(spent: Any, units: dict[str, Any], actors: dict[str, Any]) -> None:
    from warta.reports import services

    with time_machine.travel(NOW, tick=False):
        assert services.budget_status(units["bpbd"], NOW.date().replace(day=1)) is None  # no budget: no check
        services.set_budget(units["bpbd"], Decimal("20000"), actors["admin"])
        status = services.budget_status(units["bpbd"], NOW.date().replace(day=1))
    assert status is not None
    assert (status["spent"], status["pct"], status["warn"], status["hold"]) == (Decimal("14000"), 70.0, False, False)


@pytest.mark.django_db
def test_at_80_percent_the_operators_are_warned_once_and_the_blast_goes(spent: Any, units: dict[str, Any],
                                                                      actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.workflow import BlastNotice
    from warta.reports import services

    with time_machine.travel(NOW, tick=False):
        services.set_budget(units["bpbd"], Decimal("16000"), actors["admin"])  # 87.5%
        draft = approved_draft(actors)
    assert draft.state == "released"
    assert AuditEvent.objects.filter(action="reports.budget_warning").count() == 1
    assert BlastNotice.objects.filter(user=actors["operator"], text__contains="terpakai").exists()


@pytest.mark.django_db
def test_at_100_percent_normal_blasts_are_held_until_an_approver_raises_the_budget(
        spent: Any, units: dict[str, Any], actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts import services as blasts
    from warta.reports import services

    with time_machine.travel(NOW, tick=False):
        services.set_budget(units["bpbd"], Decimal("14000"), actors["admin"])  # exactly used up
        held = approved_draft(actors)
        assert held.state == "approved"
        assert "Anggaran SMS unit bulan ini habis" in (blasts.release_blocker(held, NOW) or "")
        assert blasts.release_due() == []
        # An emergency goes through whatever the budget.
        emergency = approved_draft(actors, emergency=True)
        assert emergency.state == "released"
        # An operator may not raise it; an approver may, for this month.
        with pytest.raises(Exception, match="hak"):
            services.set_budget(units["bpbd"], Decimal("50000"), actors["operator"], month=NOW.date())
        services.set_budget(units["bpbd"], Decimal("50000"), actors["approver"], month=NOW.date(), note="Musim hujan")
        (blast,) = blasts.release_due()
    held.refresh_from_db()
    assert held.state == "released" and held.blast == blast
    assert AuditEvent.objects.filter(action="reports.budget_hold").count() == 1  # once, not every 15 s
    raised = AuditEvent.objects.filter(action="reports.budget_set", actor=actors["approver"]).get()
    assert raised.changes["amount"] == ["14000.00", "50000"] and raised.changes["month"] == "2026-11"
    # The standing budget is untouched: December starts from Rp14.000 again.
    from warta.reports.services import budget_for

    assert budget_for(units["bpbd"], NOW.date().replace(day=1)) == Decimal("50000")
    assert budget_for(units["bpbd"], NOW.date().replace(month=12, day=1)) == Decimal("14000")


@pytest.mark.django_db
def test_the_report_shows_spend_against_budget_per_unit(spent: Any, units: dict[str, Any], actors: dict[str, Any]) -> None:
    import datetime as dt

    from warta.reports import services

    with time_machine.travel(wib(2026, 12, 2, 9), tick=False):
        services.set_budget(units["bpbd"], Decimal("28000"), actors["admin"])
        report = services.generate(dt.date(2026, 11, 1))
    bpbd = next(r for r in report.figures["outbound"]["by_unit"] if r["unit"] == "BPBD")
    assert (bpbd["cost"], bpbd["budget"], bpbd["budget_pct"]) == ("14000.00", "28000.00", 50.0)
