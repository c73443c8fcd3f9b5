"""The dashboards at /analisis/: who sees what, charts and downloads."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.inbox.conftest import mo
from warta.inbox.services import receive_mo
from warta.insights import engine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data(units):
    from warta.inbox.models import RoutingRule

    engine.reset()
    RoutingRule.objects.create(kind="topic", pattern="banjir", unit=units["bpbd"], priority=10)
    receive_mo(mo("banjir sedada di kel. kp melayu", source="+6281311110021"))
    receive_mo(mo("banyak warga kena demam berdarah di kel. gambir, mohon fogging", source="+6281311110022"))


def test_the_analyst_sees_the_counts(client, actors):
    login(client, actors["analyst"])
    page = client.get("/analisis/").content.decode()
    assert 'data-testid="kpi-total">2<' in page and 'data-testid="topic-count-banjir">1<' in page


def test_a_liaison_sees_only_their_units_slice(client, actors):
    from warta.accounts.permissions import AREAS_BY_ROLE

    assert "insights" in AREAS_BY_ROLE["liaison"]
    login(client, actors["liaison"])
    page = client.get("/analisis/").content.decode()
    assert 'data-testid="kpi-total">1<' in page and "topic-count-kesehatan" not in page
    page = client.get(f"/analisis/?unit={actors['other_liaison'].unit_id}").content.decode()
    assert 'data-testid="kpi-total">1<' in page  # another unit asked for: still their own slice


@pytest.mark.parametrize("fmt,ctype", [("svg", "image/svg+xml"), ("png", "image/png"), ("csv", "text/csv"),
                                       ("xlsx", "application/vnd.openxmlformats")])
def test_each_chart_downloads(client, actors, fmt, ctype):
    login(client, actors["analyst"])
    resp = client.get(f"/analisis/grafik/topics.{fmt}")
    assert resp.status_code == 200 and resp["Content-Type"].startswith(ctype)
    if fmt == "csv":
        assert "banjir" in resp.content.decode("utf-8-sig")


def test_topic_pages_need_the_configure_right(client, actors):
    login(client, actors["operator"])
    assert client.post("/analisis/topik/", {"action": "retire", "code": "pungli"}).status_code == 403
    login(client, actors["analyst"])
    client.post("/analisis/topik/", {"action": "merge", "code": "air", "into": "lingkungan"})
    from warta.insights.models import Topic

    assert Topic.objects.get(code="air").merged_into.code == "lingkungan"
    assert client.get("/analisis/").status_code == 200  # history and figures survive the merge


def test_a_long_range_reads_whole_months_from_the_monthly_rollups_with_the_same_result():
    import datetime as dt
    from collections import Counter

    from warta.insights import counters, services
    from warta.insights.models import Topic

    assert services.spans(dt.date(2026, 1, 15), dt.date(2026, 5, 10)) == (
        [(dt.date(2026, 1, 15), dt.date(2026, 1, 31)), (dt.date(2026, 5, 1), dt.date(2026, 5, 10))],
        [dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)])
    banjir = Topic.objects.get(code="banjir").pk
    from warta.contacts.models import Region

    kec = Region.objects.get(code="31.75.03").pk
    days = [dt.date(2026, 1, 20), dt.date(2026, 2, 3), dt.date(2026, 3, 31), dt.date(2026, 5, 9), dt.date(2026, 5, 20)]
    counters.add_daily(Counter({(d, banjir, kec, 0, "negatif", i % 2 == 0): 1 for i, d in enumerate(days)}))
    counters.add_terms(Counter({(d, banjir, "sedada"): 2 for d in days}))
    fig = services.figures(dt.date(2026, 1, 15), dt.date(2026, 5, 10))
    [jatinegara] = [r for r in fig["regions"] if r["code"] == "31.75.03"]
    assert (jatinegara["count"], jatinegara["urgent"]) == (4, 2) and fig["total"] == 4
    assert fig["top_terms"] == [{"term": "sedada", "count": 8}]


def test_a_retired_topic_stays_in_history_figures_and_the_dashboard(client, actors):
    from warta.insights import services
    from warta.insights.models import Topic

    login(client, actors["analyst"])
    assert client.post("/analisis/topik/", {"action": "retire", "code": "kesehatan"}).status_code == 302
    today = services.today_wib()
    fig = services.figures(today, today)
    [row] = [r for r in fig["by_topic"] if r["code"] == "kesehatan"]
    assert row["count"] == 1 and row["retired"]
    assert "topic-count-kesehatan" in client.get("/analisis/").content.decode()
    assert Topic.objects.get(code="kesehatan").events.filter(kind="retired").exists()
    from warta.insights import engine

    engine.reset()
    assert engine.get().classify("banyak warga kena demam berdarah").topic != "kesehatan"  # no longer predicted


def test_an_analysts_lexicon_line_takes_effect(client, actors):
    from warta.insights import engine

    login(client, actors["analyst"])
    assert engine.get().classify("ondel ondel rusak").topic == "lainnya"
    client.post("/analisis/leksikon/", {"action": "add", "kind": "topic", "term": "ondel ondel", "topic": "apresiasi",
                                        "weight": "2"})
    engine.reset()  # processes notice within engine.RECHECK seconds
    r = engine.get().classify("ondel ondel rusak")
    assert r.topic == "apresiasi" and "ondel ondel" in r.why


def test_poll_results_export_and_outsiders(client, actors):
    from warta.blasts.models import SenderID
    from warta.insights.models import Poll

    SenderID.objects.get_or_create(name="HumasDKI")
    login(client, actors["operator"])
    resp = client.post("/analisis/jajak/baru/", {
        "title": "Jajak", "question": "Setuju?", "options": "1=Setuju\n2=Tidak", "sender":
        SenderID.objects.get(name="HumasDKI").pk, "window_hours": "24", "regions": "", "numbers": "081234567890"})
    assert resp.status_code == 302
    poll = Poll.objects.get()
    assert poll.draft.text == "Setuju? Balas 1=Setuju 2=Tidak" and poll.state == "draft"
    csv_text = client.get(f"/analisis/jajak/{poll.pk}/hasil.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "tingkat,kode,wilayah,total,pilihan 1,pilihan 2"
    login(client, actors["analyst"])  # analysts see results but do not create polls
    assert client.get("/analisis/jajak/baru/").status_code == 403
    assert client.get(f"/analisis/jajak/{poll.pk}/").status_code == 200


@pytest.mark.parametrize("url", ["/analisis/topik/", "/analisis/leksikon/", "/analisis/model/", "/analisis/jajak/",
                                 "/analisis/dampak-blast/"])
def test_a_liaison_cannot_open_the_sms_centers_pages(client, actors, url):
    login(client, actors["liaison"])
    assert client.get(url).status_code == 403
    login(client, actors["analyst"])
    assert client.get(url).status_code == 200
