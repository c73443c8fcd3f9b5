"""Issue 12 item 7: a draft and a materi are validated on save, each error once, next to its
field; the empty login form says what is missing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from tests.blasts.helpers import create_draft, create_group_with, create_sender
from tests.conftest import login

WIB = ZoneInfo("Asia/Jakarta")
pytestmark = pytest.mark.django_db


def _draft_post(client: Client, **extra: Any) -> str:
    sender = create_sender("HumasDKI")
    group = create_group_with(1)
    data = {"title": "Uji", "sender": sender.pk, "text": "Waspada banjir.", "groups": [group.pk], **extra}
    r = client.post("/blast/naskah/baru/", data)
    assert r.status_code == 200, "the form must be shown again, not saved"
    return r.content.decode()


def _field_error(page: str, field: str) -> str:
    """The text of the field's error list, which sits inside the field's own label."""
    import re

    m = re.search(rf'name="{field}"[^>]*>.*?<ul class="errorlist"[^>]*>(.*?)</ul>', page, re.S)
    assert m is not None, f"no error next to {field}"
    return m.group(1)


def test_a_send_time_in_the_past_is_refused_on_save_once(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts.models import Draft

    login(client, actors["operator"])
    past = timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page = _draft_post(client, send_at=past)
    assert "sudah lewat" in _field_error(page, "send_at")
    assert page.count("Waktu kirim sudah lewat") == 1
    assert not Draft.objects.exists()


def test_a_schedule_inside_quiet_hours_is_refused_on_save_unless_emergency(client: Client, actors: dict[str, Any],
                                                                         settings: Any) -> None:
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": "21:00-06:00"}
    login(client, actors["operator"])
    tomorrow = timezone.localtime(timezone.now()).date() + timedelta(days=1)
    late = f"{tomorrow.isoformat()}T22:30"
    page = _draft_post(client, send_at=late)
    error = _field_error(page, "send_at")
    assert "jam tenang" in error and "06:00" in error
    assert page.count("jam tenang (") == 1
    r = client.post("/blast/naskah/baru/", {"title": "Darurat", "sender": create_sender("HumasDKI").pk,
                                            "text": "Evakuasi.", "groups": [create_group_with(1).pk], "send_at": late,
                                            "emergency": "on", "emergency_reason": "Tanggul jebol"})
    assert r.status_code == 302


def test_invalid_test_numbers_are_refused_on_save_once(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    page = _draft_post(client, test_numbers="0812 abc, 12345")
    assert "tidak valid" in _field_error(page, "test_numbers")
    assert page.count("Nomor uji tidak valid") == 1


def test_a_window_end_before_the_send_time_is_refused_on_save(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    start = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=10, minute=0)
    page = _draft_post(client, send_at=start.strftime("%Y-%m-%dT%H:%M"),
                       window_end=(start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    assert "setelah waktu kirim" in _field_error(page, "window_end")


def test_an_invalid_materi_contact_phone_is_refused_on_save(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts.models import Materi

    login(client, actors["liaison"])
    r = client.post("/blast/materi/baru/", {"title": "Banjir", "content": "Siaga 3", "contact_person": "Budi",
                                            "contact_phone": "12ab"})
    page = r.content.decode()
    assert r.status_code == 200 and not Materi.objects.exists()
    assert page.count("telepon narahubung tidak valid") == 1
    r = client.post("/blast/materi/baru/", {"title": "Banjir", "content": "Siaga 3", "contact_person": "Budi",
                                            "contact_phone": "021 3288 1818"})
    assert r.status_code == 302


def test_submitting_a_draft_with_problems_lists_each_once(client: Client, actors: dict[str, Any]) -> None:
    d = create_draft(actors["operator"], sender="HumasDKI", audience={}, text="Halo {alamat}, waspada banjir.")
    login(client, actors["operator"])
    r = client.post(f"/blast/naskah/{d.pk}/ajukan/", follow=True)
    page = r.content.decode()
    assert page.count("Penerima kosong") == 1
    assert page.count("Kolom personalisasi tidak dikenal: {alamat}") == 1


def test_the_empty_login_form_says_what_is_missing(client: Client, db: Any) -> None:
    r = client.post("/akun/masuk/", {"username": "", "password": ""})
    page = r.content.decode()
    assert r.status_code == 200
    assert "Isi nama pengguna Anda." in page and "Isi kata sandi Anda." in page


def test_an_unchanged_past_send_time_does_not_block_other_edits(client: Client, actors: dict[str, Any]) -> None:
    import time_machine

    from warta.blasts.models import Draft

    send_at = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    d = create_draft(actors["operator"], sender="HumasDKI", send_at=send_at)
    group = d.audience["groups"][0]
    with time_machine.travel(send_at + timedelta(hours=2), tick=False):
        login(client, actors["operator"])
        form = {"title": "Judul baru", "sender": d.sender_id, "text": d.text, "groups": [group],
                "send_at": timezone.localtime(send_at).strftime("%Y-%m-%dT%H:%M")}
        r = client.post(f"/blast/naskah/{d.pk}/ubah/", form)
        assert r.status_code == 302 and r["Location"] == f"/blast/naskah/{d.pk}/"
        assert Draft.objects.get(pk=d.pk).title == "Judul baru"
        # Setting a new time in the past is still refused.
        form["send_at"] = timezone.localtime(send_at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        page = client.post(f"/blast/naskah/{d.pk}/ubah/", form).content.decode()
        assert "sudah lewat" in _field_error(page, "send_at")
