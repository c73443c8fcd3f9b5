from __future__ import annotations

from typing import Any
from unittest import mock

from django.test import Client
from django.urls import reverse

from tests.conftest import login


def test_healthz_answers_200_when_the_database_answers(client: Client, db: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


def test_healthz_answers_503_when_the_database_does_not(client: Client, db: Any) -> None:
    from django.db import OperationalError

    with mock.patch("warta.core.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"


def test_metrics_speak_prometheus_text(client: Client, db: Any) -> None:
    from warta.core import metrics

    metrics.register(lambda: [metrics.Sample("warta_test_gauge", 3, {"bind": 'a"b'}, help="uji")])
    response = client.get("/metrics")
    assert response["Content-Type"].startswith("text/plain")
    assert 'warta_test_gauge{bind="a\\"b"} 3' in response.content.decode()


def test_unknown_page_gets_an_indonesian_404(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    response = client.get("/tidak-ada-halaman/")
    assert response.status_code == 404 and "Halaman tidak ditemukan" in response.content.decode()


def test_server_error_page_is_in_indonesian(db: Any) -> None:
    from django.template.loader import render_to_string

    assert "Terjadi kesalahan di server" in render_to_string("500.html")


def test_default_language_is_indonesian_and_english_is_switchable(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    assert "Kotak Masuk" in client.get(reverse("core:home")).content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get(reverse("core:home")).content.decode()
    assert "Inbox" in html and "Kotak Masuk" not in html
    assert '<html lang="en">' in html


def test_secrets_are_redacted_from_logs() -> None:
    from warta.core.logging import redact_text

    assert redact_text("bind smpp://warta:s3cr3t@10.0.0.1:2775 ok") == "bind smpp://warta:***@10.0.0.1:2775 ok"
    assert "hunter2" not in redact_text("password=hunter2&user=x")


def test_an_english_browser_still_gets_indonesian_until_the_user_switches(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    html = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="id">' in html and "Kotak Masuk" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert '<html lang="en">' in html and "Inbox" in html


def test_home_lists_each_roles_own_work(client: Client, actors: dict[str, Any]) -> None:
    from warta.inbox.ingest import MO, receive_mo_batch

    receive_mo_batch([MO(connection="t", source="+6281311112222", destination="02132881818", text="Banjir di Cawang",
                         smsc_message_id="home-1")])
    login(client, actors["operator"])
    work = {item.label: item.count for item in client.get(reverse("core:home")).context["work"]}
    assert work["Tiket terbuka"] == 1 and "Naskah menunggu keputusan Anda" in work
    # The other unit's liaison sees no ticket (it is not routed to Dinas Kesehatan), and no approvals.
    login(client, actors["other_liaison"])
    work = {item.label: item.count for item in client.get(reverse("core:home")).context["work"]}
    assert work["Tiket terbuka"] == 0 and "Naskah menunggu keputusan Anda" not in work
