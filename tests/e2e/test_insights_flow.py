"""Done-when for issue 14, in Chromium, against the real SMSC simulator and delivery engine.

1. A citizen texts about a flood in a named kelurahan; the simulator delivers it to the engine,
   the inbox takes it in; it is classified banjir, urgent and placed (Kampung Melayu), routed to
   BPBD by the topic rule, and the dashboard counts it.
2. The analyst corrects a topic on the ticket page in one click; the correction is counted in the
   next training (the model version records it).
3. A poll, created on the poll page and approved through the sender ID's chain, is sent through
   the simulator; citizens' replies are counted (not ticketed) and the results page shows them
   by kecamatan.
"""

from __future__ import annotations

import time
from typing import Any

from tests.blasts.helpers import verified
from tests.e2e.test_inbox_flow import Gateway, gateway, sign_in  # noqa: F401 - the fixture is used

FLOOD = "TOLONG banjir sdh sedada di kel. kp melayu, ada lansia terjebak"
CITIZEN = "+6281234567890"


def wait_until(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_flood_sms_is_classified_routed_counted_and_a_correction_feeds_training(
        page: Any, actors: dict[str, Any], units: dict[str, Any], gateway: Gateway) -> None:  # noqa: F811
    from warta.inbox.models import RoutingRule, Ticket
    from warta.insights import engine, services
    from warta.insights.models import ModelVersion

    engine.reset()
    services.clear_reference()
    RoutingRule.objects.create(kind="topic", pattern="banjir", unit=units["bpbd"], priority=10)
    gateway.inject(FLOOD)
    ticket = wait_until(lambda: Ticket.objects.select_related("topic", "region", "unit").first())
    assert (ticket.topic.code, ticket.urgent, ticket.region.name, ticket.unit) == ("banjir", True, "Kampung Melayu",
                                                                                   units["bpbd"])

    sign_in(page, "analis")
    page.goto("/analisis/")
    assert page.inner_text("[data-testid=kpi-total]") == "1"
    assert page.inner_text("[data-testid=kpi-urgent]") == "1"
    assert page.inner_text("[data-testid=topic-count-banjir]") == "1"
    assert page.inner_text("[data-testid='region-count-31.75.03']") == "1"  # kecamatan Jatinegara
    page.wait_for_selector("img[data-testid=chart-volume]")

    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    assert page.inner_text("[data-testid=analysis-topic]") == "Banjir & drainase"
    assert page.inner_text("[data-testid=analysis-place]") == "Kampung Melayu"
    assert page.inner_text("[data-testid=unit]").startswith("BPBD")
    assert "sedada" in page.inner_text("[data-testid=analysis-why]")
    page.select_option("[data-testid=correct-topic]", "lingkungan")
    page.click("[data-testid=correct-submit]")
    page.wait_for_selector("[data-testid=analysis-topic]:has-text('Lingkungan & polusi')")

    page.goto("/analisis/model/")
    assert page.inner_text("[data-testid=pending-corrections]") == "1"
    # The analyst asks for a retraining; the background worker (warta worker) runs it.
    page.click("form button[type=submit]:has-text('Latih ulang sekarang')")
    page.wait_for_selector("text=Pelatihan ulang dijadwalkan")
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    row = ModelVersion.objects.get(is_active=True)
    assert row.corrections == 1 and row.trained_on > 1000
    page.goto("/analisis/model/")
    assert page.inner_text("[data-testid=version-corrections]") == "1"
    assert page.inner_text("[data-testid=pending-corrections]") == "0"


def test_a_poll_sent_through_the_simulator_shows_results_by_kecamatan(
        page: Any, actors: dict[str, Any], gateway: Gateway) -> None:  # noqa: F811
    from warta.blasts import services as blasts
    from warta.blasts.models import SenderID
    from warta.contacts.models import Contact, Region
    from warta.inbox.models import Message, Ticket
    from warta.insights.models import Poll

    SenderID.objects.get_or_create(name="HumasDKI", defaults={"owner": actors["verifier"]})  # its chain's owner
    voters = {"+6281311112001": "31.71.01.1001", "+6281311112002": "31.71.01.1002",
              "+6281311112003": "31.75.03.1001"}
    for number, code in voters.items():
        Contact.objects.create(e164=number, region=Region.objects.get(code=code))

    sign_in(page, "operator")
    page.goto("/analisis/jajak/baru/")
    page.fill("input[name=title]", "Jajak CFD")
    page.fill("input[name=question]", "Setuju car free day diperpanjang?")
    page.fill("textarea[name=options]", "1=Setuju\n2=Tidak setuju")
    page.select_option("select[name=sender]", label="HumasDKI")
    page.fill("input[name=window_hours]", "24")
    page.fill("textarea[name=numbers]", "\n".join(voters))
    page.click("[data-testid=poll-form] button[type=submit]")
    page.wait_for_url("**/blast/naskah/*/")
    poll = Poll.objects.select_related("draft").get()

    # The same approval chain as any blast (HumasDKI: the verifier), then released.
    blasts.submit_for_review(poll.draft, actors["operator"])
    draft = blasts.approve(poll.draft, verified(actors["verifier"]))  # the final approval needs TOTP
    draft = draft if draft.state == "released" else (blasts.release(draft) and draft)
    draft.refresh_from_db()
    assert draft.state == "released"
    for number in voters:
        gateway.wait_for_text(number, "Setuju car free day")

    gateway.inject("1", source="+6281311112001")
    gateway.inject("pilih 2", source="+6281311112002")
    gateway.inject("SETUJU", source="+6281311112003")
    wait_until(lambda: Message.objects.filter(disposition="poll").count() == 3)
    assert not Ticket.objects.exists()  # counted, not ticketed

    page.goto(f"/analisis/jajak/{poll.pk}/")
    assert page.inner_text("[data-testid=poll-total]") == "3"
    assert page.inner_text("[data-testid=option-1]") == "2"
    assert page.inner_text("[data-testid=option-2]") == "1"
    gambir = page.locator("[data-testid=poll-kecamatan] tr[data-kecamatan='31.71.01']")
    assert "Gambir" in gambir.inner_text() and gambir.locator("td").nth(2).inner_text() == "2"
    jatinegara = page.locator("[data-testid=poll-kecamatan] tr[data-kecamatan='31.75.03']")
    assert jatinegara.locator("td").nth(2).inner_text() == "1"
