"""Issue 12 item 3: more than 10,000 uploaded numbers in the composer become a contacts import into
a new group (dry run first, with its report) which the draft targets; a draft page never fails."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.blasts.helpers import create_draft, create_sender
from tests.conftest import login

pytestmark = pytest.mark.django_db
N = 10_050


def numbers(n: int = N, prefix: str = "815") -> list[str]:
    return [f"0{prefix}{30000000 + i:08d}" for i in range(n)]


def run_worker_step(job_id: int) -> None:
    """What `warta worker` does with the queued import task."""
    from warta.contacts import imports

    imports.execute(job_id)


def test_the_composer_counter_reports_a_long_list_instead_of_failing(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    upload = SimpleUploadedFile("nomor.csv", "\n".join(numbers()).encode(), content_type="text/csv")
    r = client.post("/blast/komposer/penerima/", {"text": "Halo", "numbers_file": upload})
    assert r.status_code == 200
    assert f'data-numbers="{N}"' in r.content.decode()


def test_a_long_upload_becomes_an_import_into_a_new_group(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts.models import Draft
    from warta.contacts.models import Membership

    login(client, actors["operator"])
    sender = create_sender("HumasDKI")
    upload = SimpleUploadedFile("nomor.csv", ("nomor\n" + "\n".join(numbers() + ["0812 bukan nomor"])).encode(),
                                content_type="text/csv")
    r = client.post("/blast/naskah/baru/", {"title": "Vaksinasi", "sender": sender.pk, "text": "Vaksinasi gratis.",
                                            "numbers_file": upload})
    assert r.status_code == 302
    d = Draft.objects.get()
    assert "numbers" not in d.audience and d.import_job is not None
    assert d.audience["groups"] == [d.import_job.group_id]
    page = client.get(r["Location"])
    assert page.status_code == 200 and 'id="draft-import"' in page.content.decode()
    run_worker_step(d.import_job_id)  # the dry run
    page = client.get(r["Location"]).content.decode()
    assert 'id="dry-run-report"' in page and f"{N + 1} baris" in page and f"{N} kontak baru" in page
    client.post(f"/blast/naskah/{d.pk}/ajukan/")
    d.refresh_from_db()
    assert d.state == "draft"  # not before the import is done
    client.post(f"/blast/naskah/{d.pk}/impor/")
    run_worker_step(d.import_job_id)
    assert Membership.objects.filter(group_id=d.import_job.group_id).count() == N
    client.post(f"/blast/naskah/{d.pk}/ajukan/")
    d.refresh_from_db()
    assert d.state == "review" and d.audience_size == N


def test_an_old_draft_with_too_many_numbers_renders_and_can_be_converted(client: Client,
                                                                         actors: dict[str, Any]) -> None:
    from warta.blasts.models import Draft

    d = create_draft(actors["operator"], sender="HumasDKI")
    # Saved before this fix: the numbers themselves in the audience; its page answered 500.
    Draft.objects.filter(pk=d.pk).update(audience={"numbers": numbers(12_000)})
    for who in ("operator", "verifier", "admin"):
        login(client, actors[who])
        r = client.get(f"/blast/naskah/{d.pk}/")
        assert r.status_code == 200
    login(client, actors["operator"])
    page = client.get(f"/blast/naskah/{d.pk}/").content.decode()
    assert 'id="convert-numbers"' in page
    assert client.get(f"/blast/naskah/{d.pk}/ubah/").status_code == 200
    client.post(f"/blast/naskah/{d.pk}/jadikan-impor/")
    d.refresh_from_db()
    assert d.import_job is not None and d.audience == {"groups": [d.import_job.group_id]}
    assert client.get(f"/blast/naskah/{d.pk}/").status_code == 200


def test_a_large_uploaded_file_goes_whole_to_the_import(client: Client, actors: dict[str, Any]) -> None:
    from warta.blasts.models import Draft
    from warta.contacts.models import ImportReject

    login(client, actors["operator"])
    sender = create_sender("HumasDKI")
    # 2.6 MB: the composer used to read the first 2 MiB and silently drop the rest.
    rows = numbers(200_000, prefix="816")
    upload = SimpleUploadedFile("warga.csv", ("nomor_hp;nama\n" + "\n".join(f"{n};Warga" for n in rows)).encode(),
                                content_type="text/csv")
    assert upload.size > 2 * 1024 * 1024
    counter = client.post("/blast/komposer/penerima/", {"text": "Halo", "numbers_file": upload}).content.decode()
    assert 'id="a-large-file"' in counter
    upload.seek(0)
    r = client.post("/blast/naskah/baru/", {"title": "Vaksinasi", "sender": sender.pk, "text": "Vaksinasi gratis.",
                                            "numbers_file": upload, "numbers": "0812 1111 2222"})
    assert r.status_code == 302
    d = Draft.objects.get()
    job = d.import_job
    assert job is not None and job.size == upload.size and job.mapping.get("phone") == 0
    assert job.state == "checking" and d.audience["groups"] == [job.group_id]
    assert d.audience["numbers"] == ["0812 1111 2222"]  # typed numbers stay beside the group
    run_worker_step(job.pk)
    job.refresh_from_db()
    assert job.dry_run_report["rows"] == 200_000 and job.dry_run_report["created"] == 200_000
    assert not ImportReject.objects.exists()
