"""The deadline with a frozen clock: the draft appears on the 1st, the due date skips weekends and
the holiday calendar, the home page counts down from the 1st, reminders go once each (in the
application and by e-mail) to the responsible operator and approver, and lateness is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail

from tests.conftest import confirm_totp, login, totp_now
from tests.reports.helpers import wib

OCT = dt.date(2026, 10, 1)


@pytest.mark.django_db
def test_the_due_date_is_the_7th_at_23_59_wib_moved_past_weekends_and_holidays(settings: Any) -> None:
    from warta.inbox.models import Holiday
    from warta.reports import services

    # 7 January 2027 is a Thursday.
    assert services.due_at(dt.date(2026, 12, 1)) == wib(2027, 1, 7, 23, 59)
    # 7 November 2026 is a Saturday: Monday the 9th.
    assert services.due_at(OCT) == wib(2026, 11, 9, 23, 59)
    # A holiday on the 7th and the 8th: the next working day.
    Holiday.objects.create(date=dt.date(2027, 1, 7), name="Cuti bersama")
    Holiday.objects.create(date=dt.date(2027, 1, 8), name="Cuti bersama")
    assert services.due_at(dt.date(2026, 12, 1)) == wib(2027, 1, 11, 23, 59)
    # Configurable.
    settings.WARTA = {**settings.WARTA, "REPORTS": {"DUE_DAY": "5", "DUE_TIME": "16:00"}}
    assert services.due_at(dt.date(2027, 1, 1)) == wib(2027, 2, 5, 16, 0)


@pytest.mark.django_db
def test_the_scheduler_makes_the_draft_on_the_1st_and_reminds_once(actors: dict[str, Any]) -> None:
    from warta.reports import services
    from warta.reports.models import MonthlyReport, ReportNotice

    operator, approver = actors["operator"], actors["approver"]
    with time_machine.travel(wib(2026, 10, 31, 23, 0), tick=False):
        services.scheduler_tick()
        assert not MonthlyReport.objects.filter(month=OCT).exists()  # October has not ended
    MonthlyReport.objects.all().delete()  # (September's, made on this fresh installation)
    ReportNotice.objects.all().delete()
    mail.outbox.clear()
    with time_machine.travel(wib(2026, 11, 1, 0, 10), tick=False):
        services.scheduler_tick()
        services.scheduler_tick()  # idempotent
    report = MonthlyReport.objects.get(month=OCT)
    assert (report.state, report.operator, report.approver, report.due_at) == (
        "draft", operator, approver, wib(2026, 11, 9, 23, 59))
    assert set(ReportNotice.objects.filter(kind="created").values_list("user", flat=True)) == {operator.pk, approver.pk}
    assert {m.to[0] for m in mail.outbox} == {operator.email, approver.email}
    mail.outbox.clear()
    with time_machine.travel(wib(2026, 11, 5, 9), tick=False):  # 4 days 15 hours left: nothing yet
        assert services.send_reminders() == 0
    with time_machine.travel(wib(2026, 11, 7, 9), tick=False):  # under 3 days
        assert services.send_reminders() == 2
        assert services.send_reminders() == 0
    with time_machine.travel(wib(2026, 11, 9, 8), tick=False):  # under 1 day
        assert services.send_reminders() == 2
    with time_machine.travel(wib(2026, 11, 10, 0, 1), tick=False):  # late
        assert services.send_reminders() == 2
        assert services.is_late(report) and not report.late  # late now; recorded when it is signed
    kinds = list(ReportNotice.objects.filter(user=operator, report=report).order_by("created_at")
                 .values_list("kind", flat=True))
    assert kinds == ["created", "due_3d", "due_1d", "overdue"]
    assert len(mail.outbox) == 6 and "TERLAMBAT" in mail.outbox[-1].body


@pytest.mark.django_db
def test_the_home_page_counts_down_from_the_1st_and_shows_late(client: Any, actors: dict[str, Any]) -> None:
    with time_machine.travel(wib(2026, 11, 1, 8), tick=False):
        login(client, actors["operator"])
        page = client.get("/").content.decode()
        assert "report-countdown" in page and "Laporan Oktober 2026: sisa 8 hari 15 jam." in page
    with time_machine.travel(wib(2026, 11, 11, 2), tick=False):
        login(client, actors["operator"])  # (a new session: the last one idled out)
        page = client.get("/").content.decode()
        assert "Laporan Oktober 2026 TERLAMBAT 1 hari 2 jam." in page
    # A liaison has no reports area: no countdown.
    client.logout()
    with time_machine.travel(wib(2026, 11, 1, 8), tick=False):
        login(client, actors["liaison"])
        assert "report-countdown" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_late_approval_is_recorded_and_shown(client: Any, actors: dict[str, Any]) -> None:
    from warta.reports import services

    device = confirm_totp(actors["approver"])
    with time_machine.travel(wib(2026, 11, 1, 0, 10), tick=False):
        report = services.generate(OCT)
        services.update_narrative(report, actors["operator"], highlights="a", problems="b", recommendations="c")
        services.submit(report, actors["operator"])
    with time_machine.travel(wib(2026, 11, 12, 9), tick=False):
        services.approve(report, actors["approver"], token=totp_now(device), name="Budi", nip="197001011995031001")
        login(client, actors["operator"])
        page = client.get(f"/laporan/{report.pk}/").content.decode()
        assert 'id="report-late"' in page
        assert "report-countdown" not in client.get("/").content.decode()  # approved: no countdown
    assert report.late
