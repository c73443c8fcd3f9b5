from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import login
from warta.accounts import permissions
from warta.accounts.models import AuditEvent
from warta.contacts import services
from warta.contacts.models import Contact, DataSubjectRequest, ImportJob, OptOut, Segment

from .conftest import create_contact, create_group, mobile

pytestmark = pytest.mark.django_db

OUTSIDERS = ["verifier", "approver", "liaison", "other_liaison", "analyst"]


def _urls(contact, group, segment, job, dsr):
    return [
        ("get", reverse("contacts:index")),
        ("get", reverse("contacts:export") + "?format=csv"),
        ("get", reverse("contacts:detail", args=[contact.pk])),
        ("post", reverse("contacts:reveal", args=[contact.pk])),
        ("post", reverse("contacts:opt_out", args=[contact.pk])),
        ("post", reverse("contacts:opt_in", args=[contact.pk])),
        ("get", reverse("contacts:optouts")),
        ("get", reverse("contacts:imports")),
        ("get", reverse("contacts:import_job", args=[job.pk])),
        ("get", reverse("contacts:import_progress", args=[job.pk])),
        ("post", reverse("contacts:import_run", args=[job.pk])),
        ("get", reverse("contacts:import_rejects", args=[job.pk])),
        ("get", reverse("contacts:groups")),
        ("get", reverse("contacts:group", args=[group.pk])),
        ("get", reverse("contacts:segments")),
        ("get", reverse("contacts:segment_count")),
        ("get", reverse("contacts:segment", args=[segment.pk])),
        ("get", reverse("contacts:requests")),
        ("get", reverse("contacts:request", args=[dsr.pk])),
    ]


@pytest.fixture
def things(tmp_path):
    contact = create_contact(name="Siti")
    group = create_group()
    segment = Segment.objects.create(name="Semua", filters={})
    path = tmp_path / "a.csv"
    path.write_text("hp\n081211112222\n")
    job = ImportJob.objects.create(file_path=str(path), filename="a.csv", format="csv", encoding="utf-8", delimiter=",",
                                   columns=["hp"], mapping={"phone": 0})
    dsr = services.open_request("access", contact.e164)
    return contact, group, segment, job, dsr


@pytest.mark.parametrize("role", OUTSIDERS)
def test_roles_without_the_contacts_area_are_refused_everywhere(client, actors, things, role):
    login(client, actors[role])
    for method, url in _urls(*things):
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404), (role, url, response.status_code)
    assert not OptOut.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, things):
    for method, url in _urls(*things):
        assert getattr(client, method)(url).status_code == 302, url


def test_an_operator_cannot_open_data_subject_requests(client, actors, things):
    login(client, actors["operator"])
    *_rest, dsr = things
    assert client.get(reverse("contacts:requests")).status_code == 403
    assert client.get(reverse("contacts:request", args=[dsr.pk])).status_code == 403


def test_every_page_renders_for_the_administrator(client, actors, things):
    login(client, actors["admin"])
    for method, url in _urls(*things):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_the_list_shows_masked_numbers_only(client, actors):
    contact = create_contact(e164="+6281234565678", name="Budi")
    login(client, actors["operator"])
    page = client.get(reverse("contacts:index")).content.decode()
    assert "0812****5678" in page and "081234565678" not in page and "+6281234565678" not in page
    detail = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "+6281234565678" not in detail


def test_revealing_a_number_is_audited(client, actors):
    contact = create_contact(e164="+6281234565678")
    login(client, actors["operator"])
    response = client.post(reverse("contacts:reveal", args=[contact.pk]))
    assert "+6281234565678" in response.content.decode()
    event = AuditEvent.objects.get(action="contacts.reveal_number")
    assert event.actor == actors["operator"] and event.object_id == str(contact.pk)


def test_a_role_without_the_full_number_right_sees_it_masked_and_cannot_reveal(client, actors, monkeypatch):
    monkeypatch.setitem(permissions.CAPABILITIES, "numbers.view_full", frozenset({"admin"}))
    contact = create_contact(e164="+6281234565678")
    login(client, actors["operator"])
    detail = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "0812****5678" in detail and reverse("contacts:reveal", args=[contact.pk]) not in detail
    assert client.post(reverse("contacts:reveal", args=[contact.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action="contacts.reveal_number").exists()


def test_an_export_neutralises_formulas_and_is_audited(client, actors):
    create_contact(name="=HYPERLINK(\"http://x\")", tags=",warga,")
    create_contact(name="@SUM(A1)")
    login(client, actors["operator"])
    response = client.get(reverse("contacts:export") + "?format=csv")
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body and "'@SUM(A1)" in body
    assert AuditEvent.objects.get(action="contacts.export").changes["rows"] == 2


def test_an_xlsx_export_neutralises_formulas(client, actors):
    import openpyxl

    create_contact(name="+1+cmd|' /C calc'!A0")
    login(client, actors["admin"])
    response = client.get(reverse("contacts:export") + "?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.cell(row=2, column=2).value.startswith("'+1")
    assert AuditEvent.objects.filter(action="contacts.export").count() == 1


def test_the_import_wizard_uploads_maps_checks_and_imports(client, actors, django_capture_on_commit_callbacks):
    login(client, actors["operator"])
    upload = io.BytesIO(b"Nama;No HP;Wilayah\nAni;0812-1111-2222;Gambir\nX;salah;Gambir\n")
    upload.name = "warga.csv"
    response = client.post(reverse("contacts:imports"), {"file": upload})
    job = ImportJob.objects.get()
    assert response.url == reverse("contacts:import_job", args=[job.pk])
    assert job.delimiter == ";" and job.mapping == {"phone": 1, "name": 0, "region": 2}
    page = client.get(response.url).content.decode()
    assert "Ani" in page  # the preview
    mapping = {"map_phone": "1", "map_name": "0", "map_region": "2", "has_header": "on", "consent_basis": "public_task"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response.url, mapping)  # saves the mapping and runs the dry run (immediate backend)
    job.refresh_from_db()
    assert job.state == "checked" and job.dry_run_report["created"] == 1 and not Contact.objects.exists()
    rejects = client.get(reverse("contacts:import_rejects", args=[job.pk]) + "?phase=dry")
    lines = b"".join(rejects.streaming_content).decode().splitlines()
    assert lines[1].startswith("3,salah,invalid_number")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:import_run", args=[job.pk]), {"action": "run"})
    job.refresh_from_db()
    assert job.state == "done" and Contact.objects.get().name == "Ani"
    progress = client.get(reverse("contacts:import_progress", args=[job.pk]))
    assert progress.status_code == 200 and progress["HX-Refresh"] == "true"


def test_an_upload_over_the_limit_is_refused_in_indonesian(client, actors, settings):
    settings.WARTA_IMPORT_MAX_BYTES = 10
    login(client, actors["operator"])
    upload = io.BytesIO(b"hp\n081211112222\n081211112223\n")
    upload.name = "besar.csv"
    response = client.post(reverse("contacts:imports"), {"file": upload})
    assert response.status_code == 200 and "terlalu besar" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_operator_opts_a_contact_out_and_back_in(client, actors):
    contact = create_contact()
    login(client, actors["operator"])
    client.post(reverse("contacts:opt_out", args=[contact.pk]), {"reason": "minta lewat telepon"})
    assert OptOut.objects.get().channel == "operator"
    client.post(reverse("contacts:opt_in", args=[contact.pk]), {"proof": "Formulir bertanda tangan 3/2026"})
    assert not OptOut.objects.exists()
    contact.refresh_from_db()
    assert contact.consent_proof == "Formulir bertanda tangan 3/2026"


def test_posts_without_a_csrf_token_are_refused(actors):
    contact = create_contact()
    client = Client(enforce_csrf_checks=True)
    login(client, actors["operator"])
    assert client.post(reverse("contacts:opt_out", args=[contact.pk])).status_code == 403
    assert not OptOut.objects.exists()


def test_the_segment_form_counts_live(client, actors):
    create_contact(tags=",rt05,")
    create_contact()
    login(client, actors["operator"])
    response = client.get(reverse("contacts:segment_count"), {"tags": "rt05"})
    assert "<strong>1</strong>" in response.content.decode()


def test_the_administrator_handles_an_erasure_request(client, actors):
    contact = create_contact(name="Hapus Saya")
    login(client, actors["admin"])
    client.post(reverse("contacts:requests"), {"kind": "erasure", "number": contact.e164.replace("+62", "0")})
    dsr = DataSubjectRequest.objects.get()
    export = client.post(reverse("contacts:request", args=[dsr.pk]), {"action": "export"})
    assert b"Hapus Saya" in export.content
    client.post(reverse("contacts:request", args=[dsr.pk]), {"action": "erase"})
    dsr.refresh_from_db()
    contact.refresh_from_db()
    assert dsr.state == "done" and "*" in dsr.e164 and contact.e164.startswith("~") and contact.name == ""


def test_overdue_requests_are_flagged_on_the_list(client, actors):
    import time_machine

    with time_machine.travel("2026-01-01 09:00 +0700"):
        services.open_request("access", mobile())
    login(client, actors["admin"])
    with time_machine.travel("2026-01-04 10:00 +0700"):
        page = client.get(reverse("contacts:requests")).content.decode()
    assert "terlambat 1 jam" in page
