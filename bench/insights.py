"""Benchmarks of the insights app (issue 14). A benchmark, not a test: it asserts nothing.

    .venv/bin/python bench/insights.py classifier
    .venv/bin/python bench/insights.py ingest [--messages 20000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/warta_bench_insights \\
        .venv/bin/python bench/insights.py dashboard [--inbound 1000000] [--outbound 5000000]

* ``classifier``: messages per CPU-second of ``classify_many`` in batches of 2,000 (as ingest
  calls it) on the labelled sets repeated, lexicon alone and lexicon + model, and both layers'
  figures on the held-out and fresh sets (goal ≥ 5,000 msg/s on one core).
* ``ingest``: ``receive_mo_batch`` of realistic citizens' texts (the labelled sets, made unique)
  with classification at ingest switched off and on (a trained model active): what the
  classifier costs the inbox (goal: the inbox keeps ≥ 2,000 msg/s).
* ``dashboard``: fills a FRESH PostgreSQL database with 1,000,000 inbound messages (with their
  classifications and the counters ingest would have kept) over the last 365 days and
  5,000,000 outbound messages in 50 blasts, then requests each dashboard page and chart 20 times
  through Django's test client (middleware, sessions, templates — everything but the socket) and
  prints p50/p95 per page (goal: p95 < 300 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    os.environ.setdefault("WARTA_DATA_DIR", tempfile.mkdtemp(prefix="warta-bench-insights-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Pages render without collectstatic (as in the tests): the static storage is not measured here.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = True
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

    call_command("migrate", verbosity=0)


def bench_classifier() -> None:
    from warta.insights.classifier import (
        Classifier,
        evaluate,
        read_labelled,
        read_lexicon_file,
        train,
    )
    from warta.insights.engine import region_rows

    rows, regions = read_lexicon_file(), region_rows()
    t0 = time.perf_counter()
    model = train(read_labelled("train"), version="bench", lexicon_rows=rows, place_names=[r[2] for r in regions])
    print(f"training: {time.perf_counter() - t0:.1f} s on {model.trained_on} examples")
    texts = [e.text for e in read_labelled("train") + read_labelled("test") + read_labelled("fresh")]
    # Unique texts (a counter appended), so no cache sees the same message twice.
    texts = [f"{t} {i}" for i, t in enumerate((texts * (20_000 // len(texts) + 1))[:20_000])]
    for name, clf in (("lexicon", Classifier(rows, regions, None)), ("lexicon+model", Classifier(rows, regions, model))):
        clf.classify_many(texts[:2000])
        t0 = time.process_time()
        for i in range(0, len(texts), 2000):
            clf.classify_many(texts[i:i + 2000])
        cpu = time.process_time() - t0
        print(f"{name}: {len(texts) / cpu:,.0f} msg per CPU-second ({len(texts):,} messages, batches of 2,000)")
        for split in ("test", "fresh"):
            r = evaluate(clf, read_labelled(split))
            print(f"  {split}: macro-F1 {r['macro_f1']:.3f}, accuracy {r['accuracy']:.3f}, "
                  f"sentiment {r['sentiment']['accuracy']:.3f}, urgent recall {r['urgent']['recall']:.3f} "
                  f"precision {r['urgent']['precision']:.3f}, place→kecamatan {r['place']['kecamatan_accuracy']:.3f}")


def bench_ingest(n: int) -> None:
    import random

    from django.db import connection

    from warta.inbox import hooks
    from warta.inbox.services import MO, receive_mo_batch
    from warta.insights import engine
    from warta.insights.classifier import read_labelled
    from warta.insights.ingest import Analyser
    from warta.insights.models import ModelVersion

    if not ModelVersion.objects.filter(is_active=True).exists():
        engine.retrain()
    engine.reset()
    engine.get()  # built once per process (~1-2 s), as an engine does at its first batch
    rng = random.Random(14)
    texts = [e.text for e in read_labelled("train") + read_labelled("fresh")]
    for label, analyser in (("without classification", None), ("with classification", Analyser())):
        hooks.register_analyser(analyser)
        conn = f"bench-{label[:4]}-{os.getpid()}-{int(time.time())}"
        mos = [MO(conn, f"+62813{rng.randrange(10**8):08d}", "02132881818", text=f"{rng.choice(texts)} ({i})",
                  smsc_message_id=f"{conn}-{i}") for i in range(n)]
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(0, n, 2000):
            receive_mo_batch(mos[i:i + 2000])
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(f"{connection.vendor} ingest {label}: {n:,} MOs in {wall:.1f} s = {n / wall:,.0f} msg/s; "
              f"CPU {cpu:.1f} s = {n / cpu:,.0f} msg per CPU-second; load {os.getloadavg()[0]:.2f}")
    hooks.register_analyser(Analyser())


def bench_dashboard(inbound: int, outbound: int) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from warta.accounts.models import Unit, User
    from warta.insights import services
    from warta.insights.models import Classification, Topic

    if connection.vendor != "postgresql":
        sys.exit("dashboard: run against a fresh PostgreSQL database (DATABASE_URL)")
    units = {code: Unit.objects.get_or_create(code=code, defaults={"name": name, "kind": "skpd"})[0]
             for code, name in [("bpbd", "BPBD"), ("dlh", "Dinas Lingkungan Hidup"), ("binamarga", "Dinas Bina Marga"),
                                ("dinkes", "Dinas Kesehatan"), ("dishub", "Dinas Perhubungan"),
                                ("diskominfotik", "Diskominfotik")]}
    analyst = User.objects.filter(username="bench-analis").first() or User.objects.create_user(
        "bench-analis", password="x", role="analyst", unit=units["diskominfotik"])
    liaison = User.objects.filter(username="bench-bpbd").first() or User.objects.create_user(
        "bench-bpbd", password="x", role="liaison", unit=units["bpbd"])
    topic_ids = list(Topic.objects.order_by("order").values_list("pk", flat=True))
    unit_by_topic = [units[c].pk if c else 0 for c in
                     ["bpbd", "dlh", "dishub", "binamarga", "dinkes", None, None, None, None, "dlh", None, None, None,
                      None, None, None]][:len(topic_ids)]
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM insights_classification")
        have = cur.fetchone()[0]
        if have < inbound:
            print(f"generating {inbound:,} inbound and {outbound:,} outbound messages …")
            cur.execute("""
                INSERT INTO inbox_conversation (address, kind, created_at, last_message_at, window_count, autoreply_count)
                SELECT '+62812' || lpad(g::text, 8, '0'), 'mobile', now() - interval '365 days', now(), 0, 0
                FROM generate_series(1, %s) g ON CONFLICT DO NOTHING""", [inbound // 5])
            cur.execute("SELECT min(id) FROM inbox_conversation")
            first_conv = cur.fetchone()[0]
            cur.execute("""
                INSERT INTO inbox_message (conversation_id, direction, disposition, text, at, connection, destination,
                  is_binary, parts_total, parts_missing, keyword)
                SELECT %s + (g %% %s), 'in', 'ticket', 'pesan warga ' || g, now() - random() * interval '365 days',
                  'bench', '02132881818', false, 1, '[]'::jsonb, ''
                FROM generate_series(1, %s) g""", [first_conv, inbound // 5, inbound])
            cur.execute("CREATE TEMP TABLE kec AS SELECT r.id AS rid, coalesce(k.id, r.id) AS kid FROM contacts_region r "
                        "LEFT JOIN contacts_region k ON k.code = substr(r.code, 1, 8) AND r.level = 'kelurahan'")
            cur.execute("SELECT array_agg(id) FROM contacts_region WHERE level = 'kelurahan'")
            kel = cur.fetchone()[0]
            cur.execute("""
                INSERT INTO insights_classification (message_id, at, day, topic_id, predicted_topic_id, confidence,
                  sentiment, urgent, region_id, place_source, unit_id, model_version, why)
                SELECT m.id, m.at, (m.at AT TIME ZONE 'Asia/Jakarta')::date, t.topic, t.topic, 0.9,
                  (ARRAY['negatif','negatif','netral','positif'])[1 + (m.id %% 4)], (m.id %% 37 = 0),
                  CASE WHEN m.id %% 5 = 0 THEN NULL ELSE (%s::bigint[])[1 + (m.id %% %s)] END,
                  CASE WHEN m.id %% 5 = 0 THEN '' ELSE 'text' END, t.unit, 'bench',
                  jsonb_build_array('kata' || (m.id %% 97), 'kata' || (m.id %% 13))
                FROM inbox_message m
                CROSS JOIN LATERAL (SELECT (%s::int[])[1 + (m.id * 7 %% %s)] AS topic,
                                           (%s::int[])[1 + (m.id * 7 %% %s)] AS unit) t
                WHERE m.connection = 'bench'""",
                        [kel, len(kel), topic_ids, len(topic_ids), unit_by_topic, len(topic_ids)])
            # The counters exactly as ingest keeps them.
            cur.execute("""
                INSERT INTO insights_dailycount (day, topic_id, region_id, unit_id, sentiment, urgent, count)
                SELECT c.day, c.topic_id, coalesce(k.kid, 0), c.unit_id, c.sentiment, c.urgent, count(*)
                FROM insights_classification c LEFT JOIN kec k ON k.rid = c.region_id
                GROUP BY 1, 2, 3, 4, 5, 6""")
            cur.execute("""
                INSERT INTO insights_dailytopiccount (day, topic_id, unit_id, sentiment, urgent, count)
                SELECT day, topic_id, unit_id, sentiment, urgent, sum(count) FROM insights_dailycount
                GROUP BY 1, 2, 3, 4, 5""")
            cur.execute("""
                INSERT INTO insights_dailyregioncount (day, region_id, unit_id, urgent, count)
                SELECT day, region_id, unit_id, urgent, sum(count) FROM insights_dailycount GROUP BY 1, 2, 3, 4""")
            cur.execute("""
                INSERT INTO insights_termcount (day, topic_id, term, count)
                SELECT c.day, c.topic_id, w.term, count(*) FROM insights_classification c
                CROSS JOIN LATERAL jsonb_array_elements_text(c.why) AS w(term) GROUP BY 1, 2, 3""")
            cur.execute("""
                INSERT INTO insights_monthregioncount (month, region_id, unit_id, urgent, count)
                SELECT date_trunc('month', day)::date, region_id, unit_id, urgent, sum(count)
                FROM insights_dailyregioncount GROUP BY 1, 2, 3, 4""")
            cur.execute("""
                INSERT INTO insights_monthtermcount (month, topic_id, term, count)
                SELECT date_trunc('month', day)::date, topic_id, term, sum(count) FROM insights_termcount
                GROUP BY 1, 2, 3""")
            cur.execute("""
                INSERT INTO insights_unitdaycount (day, unit_id, forwarded, response_seconds, closed, resolution_seconds,
                  within_sla)
                SELECT d::date, u, 80, 80 * 7200, 70, 70 * 86400 * 2, 60
                FROM generate_series(now() - interval '365 days', now(), interval '1 day') d, unnest(%s::int[]) u""",
                        [[u.pk for u in units.values()]])
            cur.execute("INSERT INTO blasts_senderid (name, description, is_active) VALUES ('HumasDKI', '', true) "
                        "ON CONFLICT DO NOTHING")
            cur.execute("SELECT id FROM blasts_senderid WHERE name = 'HumasDKI'")
            sender = cur.fetchone()[0]
            per = outbound // 50
            for b in range(50):
                cur.execute("""INSERT INTO blasts_blast (name, sender_id, text, priority, state, resend_unknown,
                                 created_at) VALUES (%s, %s, 'Info Pemprov', 0, 'done', true,
                                 now() - (%s * interval '7 days')) RETURNING id, created_at""",
                            [f"Blast {b}", sender, b])
                blast_id, at = cur.fetchone()
                cur.execute("""
                    INSERT INTO blasts_outboundmessage (blast_id, "to", operator, text, state, attempts, unknown_count,
                      next_attempt_at, created_at, submitted_at, done_at, error)
                    SELECT %s, '+62812' || lpad((g %% %s)::text, 8, '0'), 'telkomsel', '', 'delivered', 1, 0,
                      %s, %s, %s, %s, ''
                    FROM generate_series(1, %s) g""", [blast_id, inbound // 5 * 2, at, at, at, at, per])
            cur.execute("ANALYZE")
    print(f"data ready in {time.perf_counter() - t0:.0f} s: {Classification.objects.count():,} classified inbound")
    from warta.blasts.models import Blast
    from warta.insights.impact import blast_impact

    t0 = time.perf_counter()
    for blast in Blast.objects.order_by("-created_at")[:5]:
        blast_impact(blast, refresh=True)
    print(f"blast impact of 5 blasts of {outbound // 50:,} recipients (scheduler job): "
          f"{(time.perf_counter() - t0) / 5 * 1000:.0f} ms each")

    today = services.today_wib()
    month = today.replace(day=1)
    pages = [
        ("dashboard, last 30 days", "/analisis/"),
        ("dashboard, 365 days", f"/analisis/?start={today.replace(year=today.year - 1)}&end={today}"),
        ("dashboard, a month, per week", f"/analisis/?start={month}&end={today}&period=week"),
        ("dashboard, topic + kota filter", "/analisis/?topic=banjir&region=31.75"),
        ("dashboard, 365 days, kota filter", f"/analisis/?start={today.replace(year=today.year - 1)}&region=31.75"),
        ("dashboard, unit filter", f"/analisis/?unit={units['bpbd'].pk}"),
        ("chart volume SVG, 30 days", "/analisis/grafik/volume.svg"),
        ("chart topics PNG, 365 days", f"/analisis/grafik/topics.png?start={today.replace(year=today.year - 1)}"),
        ("chart regions CSV", "/analisis/grafik/regions.csv"),
        ("chart SLA XLSX", "/analisis/grafik/sla.xlsx"),
        ("blast impact list", "/analisis/dampak-blast/"),
    ]
    for who, user in (("analyst", analyst), ("BPBD liaison", liaison)):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for label, url in pages if who == "analyst" else pages[:1]:
            times = []
            for i in range(21):
                cache.clear()  # cold: no figures or chart bytes from an earlier request
                t0 = time.perf_counter()
                resp = client.get(url)
                dt = (time.perf_counter() - t0) * 1000
                assert resp.status_code == 200, (url, resp.status_code)
                if i:  # the first request warms the process (imports, template loading)
                    times.append(dt)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{who:12} {label:34} p50 {statistics.median(times):6.0f} ms  p95 {p95:6.0f} ms  "
                  f"(min {times[0]:.0f} ms)")
    # A whole dashboard view as a browser makes it: the page, then its seven charts (SVG), cold.
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(analyst)
    times = []
    for _ in range(10):
        cache.clear()
        for url in ["/analisis/"] + [f"/analisis/grafik/{n}.svg" for n in
                                     ("volume", "topics", "sentiment", "regions", "sla", "response", "terms")]:
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"analyst      page + 7 charts, every request      p50 {statistics.median(times):6.0f} ms  "
          f"p95 {times[int(len(times) * 0.95) - 1]:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["classifier", "ingest", "dashboard"], nargs="?", default="classifier")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--inbound", type=int, default=1_000_000)
    parser.add_argument("--outbound", type=int, default=5_000_000)
    args = parser.parse_args()
    setup()
    if args.what == "classifier":
        bench_classifier()
    elif args.what == "ingest":
        bench_ingest(args.messages)
    else:
        bench_dashboard(args.inbound, args.outbound)


if __name__ == "__main__":
    main()
