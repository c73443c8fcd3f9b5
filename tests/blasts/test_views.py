"""Views of the blast workflow: every role-protected view with its outsider, forms, htmx parts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.blasts.helpers import (
    create_draft,
    create_group_with,
    create_materi,
    create_sender,
    login_with_totp,
    verified,
)
from tests.conftest import login

pytestmark = pytest.mark.django_db


def as_(client: Client, user: Any) -> Client:
    return login(client, user)


def released_draft(actors: dict[str, Any]) -> Any:
    from warta.blasts import services

    d = create_draft(actors["operator"], sender="HumasDKI")
    services.submit_for_review(d, actors["operator"])
    return services.approve(d, verified(actors["verifier"]))


# -- materi --------------------------------------------------------------------------------------


def test_liaison_submits_materi_with_an_attachment(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["liaison"])
    pdf = SimpleUploadedFile("surat.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    r = client.post(reverse("blasts:materi_new"), {
        "title": "Peringatan dini banjir", "content": "Siaga 3 Katulampa", "contact_person": "Budi",
        "attachments": [pdf]})
    assert r.status_code == 302
    from warta.blasts.models import Materi

    m = Materi.objects.get()
    assert m.unit == actors["liaison"].unit and m.attachments.count() == 1
    page = client.get(r["Location"])
    assert "Diterima" in page.content.decode()
    dl = client.get(reverse("blasts:materi_attachment", args=[m.pk, m.attachments.get().pk]))
    assert dl.status_code == 200


def test_materi_attachment_type_and_size_are_limited(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["liaison"])
    exe = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    r = client.post(reverse("blasts:materi_new"), {"title": "x", "content": "y", "contact_person": "z",
                                                    "attachments": [exe]})
    assert r.status_code == 200 and "tidak diterima" in r.content.decode()
    big = SimpleUploadedFile("besar.pdf", b"0" * (5 * 1024 * 1024 + 1), content_type="application/pdf")
    r = client.post(reverse("blasts:materi_new"), {"title": "x", "content": "y", "contact_person": "z",
                                                    "attachments": [big]})
    assert "lebih dari 5 MB" in r.content.decode()


def test_other_units_liaison_gets_404_on_materi_and_its_attachment(client: Client, actors: dict[str, Any]) -> None:
    m = create_materi(actors["liaison"])
    as_(client, actors["other_liaison"])
    assert client.get(reverse("blasts:materi_detail", args=[m.pk])).status_code == 404
    assert client.get(reverse("blasts:materi_attachment", args=[m.pk, 1])).status_code == 404
    assert m.title not in client.get(reverse("blasts:materi")).content.decode()


def test_liaison_cannot_reject_materi(client: Client, actors: dict[str, Any]) -> None:
    m = create_materi(actors["liaison"])
    as_(client, actors["liaison"])
    client.post(reverse("blasts:materi_reject", args=[m.pk]), {"reason": "x"})
    m.refresh_from_db()
    assert m.status == "received"


def test_analyst_cannot_open_materi(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["analyst"])
    assert client.get(reverse("blasts:materi")).status_code == 403
    assert client.get(reverse("blasts:materi_new")).status_code == 403


def test_operator_queue_and_rejection_shown_to_the_unit(client: Client, actors: dict[str, Any]) -> None:
    m = create_materi(actors["liaison"])
    as_(client, actors["operator"])
    assert m.title in client.get(reverse("blasts:materi")).content.decode()
    client.post(reverse("blasts:materi_reject", args=[m.pk]), {"reason": "Di luar kewenangan"})
    c2 = as_(Client(), actors["liaison"])
    page = c2.get(reverse("blasts:materi_detail", args=[m.pk])).content.decode()
    assert "Ditolak" in page and "Di luar kewenangan" in page


def test_unit_sees_delivery_figures_of_its_blast(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts import services

    m = create_materi(actors["liaison"])
    d = create_draft(actors["operator"], materi=m, sender="HumasDKI")
    services.submit_for_review(d, actors["operator"])
    services.approve(d, verified(actors["verifier"]))
    as_(client, actors["liaison"])
    page = client.get(reverse("blasts:materi_detail", args=[m.pk])).content.decode()
    assert "Terkirim" in page and 'id="materi-figures"' in page


# -- drafts --------------------------------------------------------------------------------------


def test_liaison_and_analyst_cannot_open_drafts_or_compose(client: Client, actors: dict[str, Any]) -> None:
    d = create_draft(actors["operator"])
    for who in ("liaison", "analyst"):
        c = as_(Client(), actors[who])
        assert c.get(reverse("blasts:draft", args=[d.pk])).status_code == 403
        assert c.get(reverse("blasts:draft_new")).status_code == 403
        # The counter itself serves liaisons' replies to citizens (issue 12); analysts write nothing.
        assert c.post(reverse("blasts:composer_measure"), {"text": "x"}).status_code == (200 if who == "liaison"
                                                                                        else 403)


def test_verifier_cannot_create_drafts(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["verifier"])
    assert client.get(reverse("blasts:draft_new")).status_code == 403


def test_operator_drafts_from_materi_under_gubdki(client: Client, actors: dict[str, Any]) -> None:
    m = create_materi(actors["liaison"])
    sender = create_sender("GubDKI")
    group = create_group_with(2)
    as_(client, actors["operator"])
    assert client.get(reverse("blasts:draft_new") + f"?materi={m.pk}").status_code == 200
    r = client.post(reverse("blasts:draft_new"), {
        "materi": m.pk, "title": "Siaga banjir", "sender": sender.pk, "text": "Waspada banjir, siaga 3.",
        "groups": [group.pk]})
    assert r.status_code == 302, r.content.decode()[:2000]
    from warta.blasts.models import Draft

    d = Draft.objects.get()
    assert d.materi == m and d.audience == {"groups": [group.pk]}
    r = client.post(reverse("blasts:draft_submit", args=[d.pk]), follow=True)
    assert "diajukan" in r.content.decode()


def test_empty_text_gets_a_clear_message(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["operator"])
    r = client.post(reverse("blasts:draft_new"), {"title": "x", "sender": create_sender().pk, "text": "  "})
    assert r.status_code == 200 and "Teks SMS kosong" in r.content.decode()


def test_submit_with_zero_audience_shows_why(client: Client, actors: dict[str, Any]) -> None:
    d = create_draft(actors["operator"], group=create_group_with(0))
    as_(client, actors["operator"])
    r = client.post(reverse("blasts:draft_submit", args=[d.pk]), follow=True)
    assert "Penerima kosong" in r.content.decode()


def test_double_click_on_approve_makes_one_blast(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts import services
    from warta.blasts.models import Blast

    d = create_draft(actors["operator"], sender="HumasDKI")
    services.submit_for_review(d, actors["operator"])
    login_with_totp(client, actors["verifier"])  # HumasDKI's one step is the final one: TOTP
    for _ in range(2):
        client.post(reverse("blasts:draft_approve", args=[d.pk]), {"seen_hash": d.content_hash})
    assert Blast.objects.count() == 1


def test_author_sees_no_decision_form_on_own_draft(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts import services

    d = create_draft(actors["operator"])
    services.submit_for_review(d, actors["operator"])
    as_(client, actors["operator"])
    page = client.get(reverse("blasts:draft", args=[d.pk])).content.decode()
    assert 'id="decide"' not in page
    client.post(reverse("blasts:draft_approve", args=[d.pk]))
    d.refresh_from_db()
    assert d.state == "review" and not d.approvals.exists()


def test_approver_queue_lists_drafts_after_verifier(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts import services

    d = create_draft(actors["operator"])
    services.submit_for_review(d, actors["operator"])
    as_(client, actors["approver"])
    assert d.title not in client.get(reverse("blasts:approvals")).content.decode()
    services.approve(d, verified(actors["verifier"]))
    assert d.title in client.get(reverse("blasts:approvals")).content.decode()


def test_editing_an_approved_draft_warns_and_needs_new_approval(client: Client, actors: dict[str, Any]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from warta.blasts import services

    group = create_group_with(2)
    d = create_draft(actors["operator"], sender="HumasDKI", group=group, send_at=timezone.now() + timedelta(days=1))
    services.submit_for_review(d, actors["operator"])
    d = services.approve(d, verified(actors["verifier"]))
    assert d.state == "approved"
    as_(client, actors["operator"])
    r = client.post(reverse("blasts:draft_edit", args=[d.pk]), {
        "title": d.title, "sender": d.sender_id, "text": d.text + " Ubah.", "groups": [group.pk],
        "send_at": timezone.localtime(d.send_at).strftime("%Y-%m-%dT%H:%M")}, follow=True)
    assert "perlu diajukan serta disetujui lagi" in r.content.decode()
    d.refresh_from_db()
    assert d.state == "draft"


# -- composer htmx -------------------------------------------------------------------------------


def test_composer_counts_and_highlights_ucs2_characters(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["operator"])
    r = client.post(reverse("blasts:composer_measure"), {"text": "Jum’at ada banjir"})
    html = r.content.decode()
    assert 'id="c-encoding"' in html and "UCS-2" in html and "<mark>’</mark>" in html
    r = client.post(reverse("blasts:composer_replace"), {"text": "Jum’at ada banjir", "char": "’"})
    html = r.content.decode()
    assert "Jum&#x27;at ada banjir</textarea>" in html and "GSM-7" in html


def test_composer_flags_unknown_fields_and_long_text(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["operator"])
    html = client.post(reverse("blasts:composer_measure"), {"text": "Halo {alamat}"}).content.decode()
    assert 'id="c-unknown"' in html and "{alamat}" in html
    html = client.post(reverse("blasts:composer_measure"), {"text": "a" * 170}).content.decode()
    assert 'id="c-warn"' in html
    html = client.post(reverse("blasts:composer_measure"), {"text": "a" * 400}).content.decode()
    assert 'id="c-justify"' in html
    html = client.post(reverse("blasts:composer_measure"), {"text": "a" * 150 + " {nama}"}).content.decode()
    assert 'id="c-longest">2<' in html


def test_audience_counts_and_cost(client: Client, actors: dict[str, Any]) -> None:
    group = create_group_with(4)
    as_(client, actors["operator"])
    html = client.post(reverse("blasts:audience_count"), {"groups": [group.pk], "text": "Uji",
                                                          "numbers": "0812-9999-0000\nbukan nomor"}).content.decode()
    assert 'id="a-deliverable">5<' in html and "nomor tidak valid 1" in html and 'id="cost-total"' in html


# -- console -------------------------------------------------------------------------------------


def test_console_progress_control_and_exports(client: Client, actors: dict[str, Any]) -> None:
    d = released_draft(actors)
    as_(client, actors["operator"])
    page = client.get(reverse("blasts:console", args=[d.blast_id])).content.decode()
    assert 'id="t-total">3<' in page
    assert client.get(reverse("blasts:progress", args=[d.blast_id])).status_code == 200
    client.post(reverse("blasts:control", args=[d.blast_id]), {"action": "pause"})
    d.blast.refresh_from_db()
    assert d.blast.state == "paused"
    csv = b"".join(client.get(reverse("blasts:export", args=[d.blast_id, "csv"])).streaming_content).decode()
    assert csv.count("+62") == 3
    x = client.get(reverse("blasts:export", args=[d.blast_id, "xlsx"]))
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxml")


def test_verifier_sees_masked_numbers_and_cannot_control(client: Client, actors: dict[str, Any]) -> None:
    d = released_draft(actors)
    as_(client, actors["verifier"])
    csv = b"".join(client.get(reverse("blasts:export", args=[d.blast_id, "csv"])).streaming_content).decode()
    assert "+62" not in csv and "****" in csv
    r = client.post(reverse("blasts:control", args=[d.blast_id]), {"action": "cancel"})
    assert r.status_code == 403
    d.blast.refresh_from_db()
    assert d.blast.state == "active"


def test_liaison_cannot_open_another_units_console(client: Client, actors: dict[str, Any]) -> None:
    d = released_draft(actors)  # Diskominfotik's own blast, no materi of the liaison's unit
    as_(client, actors["liaison"])
    # Liaisons read their own unit's blasts (tests/blasts/test_unit_blasts.py); this one is not theirs.
    assert client.get(reverse("blasts:console", args=[d.blast_id])).status_code == 404
    assert client.get(reverse("blasts:export", args=[d.blast_id, "csv"])).status_code == 403


# -- settings ------------------------------------------------------------------------------------


def test_admin_records_a_registration_and_changes_a_chain(client: Client, actors: dict[str, Any]) -> None:
    sender = create_sender("HumasDKI")
    as_(client, actors["admin"])
    assert client.get(reverse("blasts:sender_ids")).status_code == 200
    client.post(reverse("blasts:sender_ids"), {"form": "registration", "sender": sender.pk, "operator": "xl",
                                               "status": "pending", "since": "2026-01-05"})
    client.post(reverse("blasts:sender_ids"), {"form": "registration", "sender": sender.pk, "operator": "xl",
                                               "status": "registered", "since": "2026-02-05"})
    assert sender.registrations.get().status == "registered"
    client.post(reverse("blasts:sender_ids"), {"form": "chain", "sender": sender.pk, "steps": "verifier,approver"})
    from warta.blasts import services

    assert [s.role for s in services.policy_for(sender).steps.all()] == ["verifier", "approver"]


def test_operator_cannot_open_sender_id_settings(client: Client, actors: dict[str, Any]) -> None:
    as_(client, actors["operator"])
    assert client.get(reverse("blasts:sender_ids")).status_code == 403


def test_history_search(client: Client, actors: dict[str, Any]) -> None:
    create_draft(actors["operator"], text="Banjir rob Muara Baru", title="Rob")
    create_draft(actors["operator"], sender="HumasDKI", text="Vaksin gratis", title="Vaksin")
    as_(client, actors["verifier"])
    html = client.get(reverse("blasts:index"), {"q": "rob"}).content.decode()
    assert "Rob" in html and "Vaksin" not in html


def test_operator_keeps_templates_and_an_unknown_field_is_refused(client: Client, actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import Template

    login(client, actors["operator"])
    bad = client.post(reverse("blasts:templates"), {"name": "Banjir", "text": "Halo {alamat}, waspada banjir."})
    assert bad.status_code == 200 and "Kolom personalisasi tidak dikenal: {alamat}." in bad.content.decode()
    ok = client.post(reverse("blasts:templates"), {"name": "Banjir", "text": "Halo {nama}, waspada banjir di {kelurahan}."})
    assert ok.status_code == 302 and Template.objects.filter(name="Banjir").exists()
    template = Template.objects.get(name="Banjir")
    client.post(reverse("blasts:templates"), {"delete": template.pk})
    assert not Template.objects.exists()
    assert AuditEvent.objects.filter(action__in=["blasts.template_saved", "blasts.template_deleted"]).count() == 2


def test_analyst_cannot_open_templates_and_approver_cannot_change_them(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["analyst"])
    assert client.get(reverse("blasts:templates")).status_code == 403
    login(client, actors["approver"])
    assert client.get(reverse("blasts:templates")).status_code == 200
    assert client.post(reverse("blasts:templates"), {"name": "x", "text": "y"}).status_code == 403


def test_administrator_sets_a_tariff_used_by_the_cost_estimate(client: Client, actors: dict[str, Any]) -> None:
    from decimal import Decimal

    from warta.blasts import services

    login(client, actors["admin"])
    client.post(reverse("blasts:sender_ids"), {"form": "tariff", "operator": "telkomsel", "price_per_segment": "400"})
    client.post(reverse("blasts:sender_ids"), {"form": "tariff", "operator": "telkomsel", "price_per_segment": "425"})
    assert services.tariffs()["telkomsel"] == Decimal("425")
    client.post(reverse("blasts:sender_ids"), {"form": "tariff", "operator": "xl", "price_per_segment": "0"})
    assert services.tariffs()["xl"] != Decimal("0")


def test_administrator_removes_a_watch_word_and_others_cannot(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts.models import WatchWord

    word = WatchWord.objects.create(word="coblos", category="kampanye")
    login(client, actors["operator"])
    assert client.post(reverse("blasts:sender_ids"), {"form": "watch_delete", "pk": word.pk}).status_code == 403
    login(client, actors["admin"])
    client.post(reverse("blasts:sender_ids"), {"form": "watch_delete", "pk": word.pk})
    assert not WatchWord.objects.exists()


def test_an_administrator_sets_a_sender_ids_receipt_wait_on_the_settings_page(client: Client,
                                                                               actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent

    sender = create_sender("GubDKI")
    as_(client, actors["operator"])
    assert client.post("/blast/sender-id/", {"form": "receipt_wait", "sender": sender.pk, "hours": 12}).status_code == 403
    as_(client, actors["admin"])
    client.post("/blast/sender-id/", {"form": "receipt_wait", "sender": sender.pk, "hours": 12})
    sender.refresh_from_db()
    assert sender.receipt_wait_hours == 12
    event = AuditEvent.objects.get(action="blasts.receipt_wait_changed")
    assert event.changes == {"receipt_wait_hours": [48, 12]}
    assert "laporan ditunggu 12 jam" in client.get("/blast/sender-id/").content.decode()
    page = client.post("/blast/sender-id/", {"form": "receipt_wait", "sender": sender.pk, "hours": 0},
                       follow=True).content.decode()
    sender.refresh_from_db()
    assert sender.receipt_wait_hours == 12  # refused, unchanged
    assert "lebih besar dari atau sama dengan 1" in page  # Django's min_value message, in Indonesian
    assert AuditEvent.objects.filter(action="blasts.receipt_wait_changed").count() == 1
