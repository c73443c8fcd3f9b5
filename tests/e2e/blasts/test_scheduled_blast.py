"""Issue 11 item 4 in Chromium: an operator schedules a blast a few minutes ahead in the form
(WIB, +07:00), the owner approves it with TOTP, and when the scheduler's step runs after that
time the blast is released and sent through the SMSC simulator — not refused as "changed"."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from tests.conftest import confirm_totp
from tests.e2e.blasts.test_blast_sop import engine, sign_in  # noqa: F401 - the engine fixture

N = 4


def test_a_blast_scheduled_in_the_form_goes_out_at_its_time(browser: Any, live_server: Any, actors: dict[str, Any],
                                                            engine: Any, settings: Any) -> None:  # noqa: F811
    from tests.blasts.helpers import create_group_with, create_sender
    from warta.blasts import services
    from warta.blasts.models import Draft

    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
    create_sender("HumasDKI")  # one step, the Kepala Bidang Humas's (verifikator)
    group = create_group_with(N)
    group.name = "Warga RW 05"
    group.save()
    device = confirm_totp(actors["verifier"])
    send_at = timezone.localtime(timezone.now() + timedelta(minutes=3)).replace(second=0, microsecond=0)

    op = sign_in(browser, live_server, "operator")
    op.goto("/blast/naskah/baru/")
    op.fill("input[name=title]", "Kerja bakti RW 05")
    op.select_option("select[name=sender]", label="HumasDKI")
    op.fill("textarea[name=text]", "Kerja bakti RW 05 Minggu pukul 07.00. Bawa alat kebersihan.")
    op.get_by_label("Warga RW 05").check()  # a checkbox list since #12 item 14 (no Ctrl-click select)
    op.fill("input[name=send_at]", send_at.strftime("%Y-%m-%dT%H:%M"))
    op.click("#save-draft")
    op.click("#submit-draft")
    assert op.get_attribute("#draft-state", "data-state") == "review"
    draft_url = op.url

    ver = sign_in(browser, live_server, "verifikator", totp_device=device)
    ver.goto(draft_url)
    ver.click("#approve")
    assert ver.get_attribute("#draft-state", "data-state") == "approved"
    assert "Terjadwal" in ver.inner_text("#release-blocker")

    out = StringIO()
    call_command("blast-scheduler", "--once", stdout=out)  # before its time: nothing
    assert "0 blast" in out.getvalue()
    # The scheduler's step at its time, the clock given as its input (as `warta blast-scheduler`
    # calls it every 15 s). Travelling the whole process's clock instead would also date the
    # outbox rows minutes ahead, and the engine would rightly wait for them.
    assert len(services.release_due(now=send_at + timedelta(seconds=30))) == 1
    d = Draft.objects.get(title="Kerja bakti RW 05")
    assert d.state == "released" and d.release_summary["queued"] == N

    op.goto(draft_url)
    assert op.get_attribute("#draft-state", "data-state") == "released"
    op.click("#open-console")
    op.wait_for_selector("#progress-body[data-percent='100']", timeout=60000)
    submits = engine.submits()
    assert len(submits) == N and {s["source_addr"] for s in submits} == {"HumasDKI"}
    assert all(b"Kerja bakti RW 05" in bytes.fromhex(s["short_message"]) for s in submits)
