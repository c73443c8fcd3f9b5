"""Issue 12 item 11 in Chromium: the BPBD liaison follows its materi to the blast that was sent
(text, sender, time, figures) and to its unit's list; the Dinkes liaison finds neither."""

from __future__ import annotations

from typing import Any

from tests.e2e.blasts.test_blast_sop import sign_in


def test_liaisons_read_their_units_blasts_and_only_theirs(browser: Any, live_server: Any, actors: dict[str, Any],
                                                         transactional_db: Any, settings: Any) -> None:
    from tests.blasts.helpers import approve_all, create_draft, create_materi
    from warta.blasts import services

    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
    m = create_materi(actors["liaison"], title="Peringatan banjir Ciliwung")
    d = create_draft(actors["operator"], materi=m, sender="GubDKI", title="Siaga banjir Ciliwung",
                     text="Katulampa siaga 3. Warga bantaran Ciliwung waspada. Info 112.")
    services.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    assert d.state == "released"

    liaison = sign_in(browser, live_server, "penghubung")
    liaison.click("a[data-area=unit_blasts]")
    liaison.click("#unit-blasts >> text=Siaga banjir Ciliwung")
    assert liaison.inner_text("#blast-text") == "Katulampa siaga 3. Warga bantaran Ciliwung waspada. Info 112."
    assert liaison.inner_text("#blast-sender") == "GubDKI"
    assert "WIB" in liaison.inner_text("#blast-time")
    assert liaison.inner_text("#blast-figures td.total") == "3"
    assert liaison.locator("#controls").count() == 0
    # From the materi as well.
    liaison.goto(f"/blast/materi/{m.pk}/")
    liaison.click("#materi-figures a")
    assert liaison.inner_text("#blast-sender") == "GubDKI"

    other = sign_in(browser, live_server, "penghubung-dinkes")
    other.goto("/blast/unit/")
    assert "Siaga banjir Ciliwung" not in other.inner_text("main")
    response = other.goto(f"/blast/konsol/{d.blast_id}/")
    assert response is not None and response.status == 404
