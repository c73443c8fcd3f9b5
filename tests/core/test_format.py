"""One voice: Rupiah, operators, date-times and the labels of stored codes (warta_format)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from tests.conftest import login
from warta.core.templatetags import warta_format as f


def test_rupiah_groups_thousands_with_dots_and_shows_cents_only_when_there_are_some():
    assert f.rupiah(Decimal("204400.00")) == "Rp 204.400"
    assert f.rupiah(350) == "Rp 350"
    assert f.rupiah(Decimal("1234567.5")) == "Rp 1.234.567,50"
    assert f.rupiah(Decimal("0.75")) == "Rp 0,75"
    assert f.rupiah("bukan angka") == "bukan angka"


def test_operators_are_brands_and_unknown_is_tidak_diketahui():
    with translation.override("id"):
        assert [f.operator_name(c) for c in ("xl", "telkomsel", "indosat", "smartfren", "unknown", "")] == [
            "XL", "Telkomsel", "Indosat", "Smartfren", "tidak diketahui", "tidak diketahui"]
        assert f.unknown_as_text("unknown") == "tidak diketahui"


def test_one_date_time_format_in_wib():
    with translation.override("id"):
        assert f.when(dt.datetime(2026, 12, 3, 7, 5, tzinfo=dt.UTC)) == "03 Des 2026 14:05"
        assert f.when(dt.datetime(2026, 12, 3, 7, 5, tzinfo=dt.UTC), "date") == "03 Des 2026"
        assert f.when(None) == "—"


def test_codes_are_shown_by_their_labels():
    with translation.override("id"):
        assert f.code_label("invalid_number", "import_reject") == "Nomor tidak valid"
        assert f.code_label("auth.otp_enrolled", "audit") == "Verifikasi dua langkah didaftarkan"
        assert f.code_label("inbox.templat-sms.edit", "audit") == "Templat SMS ke warga diubah"
        assert f.code_label("blasts.something_new", "audit") == "Blast: blasts.something_new"
        assert f.audit_changes({"state": ["queued", "active"], "note": ""}) == [
            ("keadaan", "queued → active"), ("catatan", "—")]


@pytest.mark.django_db
def test_the_audit_trail_page_reads_as_sentences_not_dicts(client: Any, actors: dict[str, Any]) -> None:
    from warta.accounts import audit

    audit.record("auth.otp_enrolled", actor=actors["admin"])
    audit.record("inbox.ticket.status", actor=actors["operator"], changes={"status": ["menunggu", "spam"]})
    login(client, actors["admin"])
    html = client.get(reverse("accounts:audit_list")).content.decode()
    assert "Verifikasi dua langkah didaftarkan" in html and ">auth.otp_enrolled<" not in html
    assert "status: menunggu → spam" in html and "{&#x27;status&#x27;" not in html


@pytest.mark.django_db
def test_the_contacts_operator_filter_offers_brands(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    html = client.get(reverse("contacts:index")).content.decode()
    assert ">XL<" in html and ">Xl<" not in html and ">Unknown<" not in html
