"""Every figure of the report computed twice — by the report's SQL aggregates and by walking the
raw rows in Python — on a generated month with the awkward cases: a blast across midnight at the
month's end (WIB decides, not UTC), a ticket on either side of that midnight, personalised texts,
the inbox's own answers, an erased data subject. Then the PDF's text must show the raw figures."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from tests.reports.helpers import (
    WIB,
    add_messages,
    create_blast,
    create_inbound,
    create_ticket,
    number,
    wib,
)

OCT = dt.date(2026, 10, 1)
LONG_TEXT = ("Pemberitahuan Dinas Kesehatan: vaksinasi gratis di puskesmas kecamatan setiap Sabtu pukul 08.00-12.00. "
             "Bawa KTP dan kartu vaksin. Info lengkap hubungi 112 atau kunjungi kantor kelurahan terdekat.")


@pytest.fixture
def month(actors: dict[str, Any], units: dict[str, Any]) -> dict[str, Any]:
    """October 2026 (and a little of September and November) in the raw tables."""
    from warta.blasts.models import Blast
    from warta.contacts import services as contacts

    op = actors["operator"]
    a = create_blast(author=op, unit=units["bpbd"], sender="GubDKI", at=wib(2026, 10, 5), emergency=True,
                     title="Siaga banjir")
    add_messages(a, n=40, state="delivered", operator="telkomsel", created=wib(2026, 10, 5), submitted=wib(2026, 10, 5, 9, 1))
    add_messages(a, n=5, state="undelivered", operator="indosat", created=wib(2026, 10, 5), submitted=wib(2026, 10, 5, 9, 1))
    add_messages(a, n=2, state="failed", operator="xl", created=wib(2026, 10, 5))
    add_messages(a, n=1, state="suppressed", operator="xl", created=wib(2026, 10, 5))
    b = create_blast(author=op, unit=units["dinkes"], sender="HumasDKI", text=LONG_TEXT, at=wib(2026, 10, 12),
                     title="Vaksinasi gratis")
    recorded = add_messages(b, n=30, state="delivered", operator="xl", created=wib(2026, 10, 12),
                            submitted=wib(2026, 10, 12, 9, 5))
    # The cost recorded at submit (the tariff of that operator and sender ID then) wins over
    # today's tariff: 2 segments at Rp450, not Rp350.
    from warta.blasts.models import OutboundMessage

    OutboundMessage.objects.filter(pk__in=[m.pk for m in recorded[:20]]).update(cost=Decimal("900.00"))
    add_messages(b, n=3, state="rejected", operator="tri", created=wib(2026, 10, 12), submitted=wib(2026, 10, 12, 9, 5))
    add_messages(b, n=2, state="expired", operator="tri", created=wib(2026, 10, 12), submitted=wib(2026, 10, 12, 9, 5))
    # Across midnight at the month's end: 23:55 WIB is October; 00:05 WIB on 1 November is
    # still 31 October in UTC (17:05), and must be November.
    c = create_blast(author=op, unit=units["bpbd"], sender="GubDKI", at=wib(2026, 10, 31, 23, 50), title="Malam tahun")
    add_messages(c, n=10, state="delivered", created=wib(2026, 10, 31, 23, 50), submitted=wib(2026, 10, 31, 23, 55))
    add_messages(c, n=7, state="delivered", created=wib(2026, 10, 31, 23, 50), submitted=wib(2026, 11, 1, 0, 5))
    # Personalised: each message its own text (one of them two segments long).
    e = create_blast(author=op, unit=units["dinkes"], sender="HumasDKI", text="Yth {nama}, jadwal vaksin Anda besok.",
                     at=wib(2026, 10, 20), title="Undangan vaksin")
    add_messages(e, n=2, state="delivered", created=wib(2026, 10, 20), submitted=wib(2026, 10, 20, 10),
                 text="Yth Budi, jadwal vaksin Anda besok.")
    add_messages(e, n=1, state="delivered", created=wib(2026, 10, 20), submitted=wib(2026, 10, 20, 10),
                 text="Yth Siti, " + LONG_TEXT)
    # The inbox's answers: a blast without a draft.
    r = Blast.objects.create(name="inbox:ack:1", sender=a.sender, text="Terima kasih, tiket 1.", priority=Blast.Priority.REPLY)
    add_messages(r, n=4, state="delivered", created=wib(2026, 10, 7), submitted=wib(2026, 10, 7, 9, 1))
    # September, for the month-over-month comparison.
    s = create_blast(author=op, unit=units["bpbd"], sender="GubDKI", at=wib(2026, 9, 20), title="September")
    add_messages(s, n=20, state="delivered", created=wib(2026, 9, 20), submitted=wib(2026, 9, 20, 9, 1))

    erased = number()
    tickets = [
        create_ticket(at=wib(2026, 10, 3, 8), text="Banjir setinggi lutut di Kampung Melayu, hubungi saya 081234567890",
                      topic="banjir", unit=units["bpbd"], forwarded=wib(2026, 10, 3, 10), closed=wib(2026, 10, 4, 10),
                      reply_at=wib(2026, 10, 3, 9), sentiment="negatif"),
        create_ticket(at=wib(2026, 10, 8, 8), text="Air masuk rumah di Bidara Cina", topic="banjir",
                      unit=units["bpbd"], forwarded=wib(2026, 10, 20, 10), closed=wib(2026, 10, 25, 10)),
        create_ticket(at=wib(2026, 10, 9, 8), text="Sampah menumpuk di pasar", topic="sampah", region="Tebet",
                      sentiment="negatif"),
        create_ticket(at=wib(2026, 10, 10, 8), text="Jalan berlubang di Jl. Raya Bogor", topic="jalan", region="",
                      reply_at=wib(2026, 10, 10, 12), closed=wib(2026, 10, 10, 13), sentiment="netral"),
        create_ticket(at=wib(2026, 10, 11, 8), text="Rumah saya kebanjiran lagi", topic="banjir", address=erased),
        create_ticket(at=wib(2026, 10, 31, 23, 30), text="Genangan di Jl. Casablanca", topic="banjir"),
        create_ticket(at=wib(2026, 11, 1, 0, 30), text="Banjir November di Cawang", topic="banjir"),
        create_ticket(at=wib(2026, 9, 15), text="Banjir September", topic="banjir"),
    ]
    create_inbound(at=wib(2026, 10, 15), text="BERHENTI")
    create_inbound(at=wib(2026, 10, 31, 23, 59), text="INFO")
    create_inbound(at=wib(2026, 11, 1, 0, 1), text="INFO")
    with time_machine.travel(wib(2026, 10, 15, 12), tick=False):
        contacts.opt_out(number(), "sms", reason="BERHENTI")
        contacts.opt_out(number(), "sms", reason="STOP")
    with time_machine.travel(wib(2026, 10, 16, 12), tick=False):
        contacts.opt_in(number(), "sms")
    with time_machine.travel(wib(2026, 11, 1, 0, 10), tick=False):
        contacts.opt_out(number(), "sms", reason="BERHENTI")  # November
    contacts.erase(erased)
    # An analyst retires "sampah" after the month: its ticket stays in October's figures.
    from warta.insights.models import Topic
    from warta.insights.topics import retire_topic

    retire_topic(Topic.objects.get(code="sampah"), actor=actors["analyst"])
    return {"blasts": {"a": a, "b": b, "c": c, "e": e, "r": r}, "tickets": tickets, "erased": erased}


# -- the raw way ---------------------------------------------------------------------------------


def in_month(at: dt.datetime | None, month: dt.date) -> bool:
    if at is None:
        return False
    local = at.astimezone(WIB)
    return (local.year, local.month) == (month.year, month.month)


def raw_outbound(month: dt.date) -> dict[str, Any]:
    """Walk every outbox row in Python: month of submitted_at (else created_at) in WIB."""
    from warta.blasts.models import OutboundMessage
    from warta.blasts.services import tariffs
    from warta.sms import measure

    prices = tariffs()
    total: Counter[str] = Counter()
    cost = Decimal(0)
    by_sender: dict[str, Counter[str]] = defaultdict(Counter)
    by_operator: dict[str, Counter[str]] = defaultdict(Counter)
    by_blast: dict[int, Counter[str]] = defaultdict(Counter)
    cost_by: dict[str, Decimal] = defaultdict(Decimal)
    for m in OutboundMessage.objects.select_related("blast__sender").iterator():
        if not in_month(m.submitted_at or m.created_at, month):
            continue
        outcome = {"delivered": "delivered", "undelivered": "undelivered", "expired": "undelivered",
                   "rejected": "undelivered", "failed": "failed", "cancelled": "not_sent",
                   "suppressed": "not_sent"}.get(m.state, "pending")
        for c in (total, by_sender[m.blast.sender.name], by_operator[m.operator], by_blast[m.blast_id]):
            c["messages"] += 1
            c[outcome] += 1
        if m.submitted_at is not None:
            seg = max(measure(m.text or m.blast.text).segments, 1)
            price = m.cost if m.cost is not None else prices[m.operator] * seg
            cost += price
            cost_by[m.blast.sender.name] += price
            total["segments"] += seg
    return {"total": total, "cost": cost, "by_sender": by_sender, "by_operator": by_operator,
            "by_blast": by_blast, "cost_by_sender": cost_by}


def raw_inbound(month: dt.date) -> dict[str, Any]:
    from warta.accounts.models import AuditEvent
    from warta.inbox.models import Message, Ticket
    from warta.insights.models import Classification

    msgs = [m for m in Message.objects.filter(direction="in") if in_month(m.at, month)]
    opened = [t for t in Ticket.objects.all() if in_month(t.created_at, month)]
    return {
        "messages": len(msgs), "senders": len({m.conversation_id for m in msgs}),
        "tickets_opened": len(opened),
        "tickets_closed": sum(1 for t in Ticket.objects.all() if in_month(t.closed_at, month)),
        "by_topic": Counter(t.topic.code if t.topic else "" for t in opened),
        "by_sentiment": Counter(c.sentiment for c in Classification.objects.select_related("message")
                                if in_month(c.message.at, month)),
        "opt_outs": sum(1 for e in AuditEvent.objects.filter(action="contacts.opt_out") if in_month(e.at, month)),
        "opt_ins": sum(1 for e in AuditEvent.objects.filter(action="contacts.opt_in") if in_month(e.at, month)),
    }


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outbound_figures_reconcile_with_raw_rows(month: dict[str, Any]) -> None:
    from warta.reports import figures

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    raw = raw_outbound(OCT)
    t = fig["outbound"]["total"]
    for key in ("messages", "delivered", "undelivered", "failed", "not_sent", "pending"):
        assert t[key] == raw["total"][key], key
    assert t["segments"] == raw["total"]["segments"]
    assert Decimal(t["cost"]) == raw["cost"]
    assert {r["sender"]: r["messages"] for r in fig["outbound"]["by_sender"]} == {
        k: v["messages"] for k, v in raw["by_sender"].items()}
    assert {r["sender"]: Decimal(r["cost"]) for r in fig["outbound"]["by_sender"]} == dict(raw["cost_by_sender"])
    assert {r["operator"]: (r["messages"], r["delivered"]) for r in fig["outbound"]["by_operator"]} == {
        k: (v["messages"], v["delivered"]) for k, v in raw["by_operator"].items()}
    blasts = {b["id"]: b for b in fig["outbound"]["blasts"]}
    for bid, c in raw["by_blast"].items():
        if bid == month["blasts"]["r"].pk:
            continue
        assert (blasts[bid]["recipients"], blasts[bid]["delivered"], blasts[bid]["failed"]) == (
            c["messages"], c["delivered"], c["failed"])
    # Each blast's topic, by the classifier that reads the citizens' messages.
    assert blasts[month["blasts"]["a"].pk]["topic"] == "Banjir & drainase"
    # The inbox's answers are not a blast of the table, but they are in the totals.
    assert month["blasts"]["r"].pk not in blasts
    assert fig["outbound"]["other_traffic"][0]["messages"] == 4
    assert fig["summary"]["blasts"] == 4 and fig["summary"]["emergency_blasts"] == 1


@pytest.mark.django_db
def test_wib_decides_the_month_of_a_blast_across_midnight(month: dict[str, Any]) -> None:
    from warta.reports import figures

    c = month["blasts"]["c"]
    october = {b["id"]: b for b in figures.compute(OCT, now=wib(2026, 11, 2))["outbound"]["blasts"]}
    november = {b["id"]: b for b in figures.compute(dt.date(2026, 11, 1), now=wib(2026, 12, 2))["outbound"]["blasts"]}
    assert october[c.pk]["recipients"] == 10 and october[c.pk]["split"] == "sesudah"
    assert november[c.pk]["recipients"] == 7 and november[c.pk]["split"] == "sebelum"
    # Nothing lost or counted twice between the two months.
    assert october[c.pk]["cost"] != "0.00"
    assert Decimal(october[c.pk]["cost"]) + Decimal(november[c.pk]["cost"]) == Decimal("350") * 17


@pytest.mark.django_db
def test_inbound_figures_reconcile_with_raw_rows(month: dict[str, Any]) -> None:
    from warta.reports import figures

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    inb, raw = fig["inbound"], raw_inbound(OCT)
    assert inb["messages"] == raw["messages"] == 8  # 6 tickets + BERHENTI + INFO at 23:59
    assert inb["senders"] == raw["senders"]
    assert inb["tickets_opened"] == raw["tickets_opened"] == 6
    assert inb["tickets_closed"] == raw["tickets_closed"] == 3
    assert {t["topic"]: t["tickets"] for t in inb["by_topic"]} == dict(raw["by_topic"])
    assert (inb["opt_outs"], inb["opt_ins"]) == (raw["opt_outs"], raw["opt_ins"]) == (2, 1)
    assert sum(d["messages"] for d in inb["by_day"]) == raw["messages"]
    assert {r["sentiment"]: r["messages"] for r in inb["by_sentiment"] if r["messages"]} == dict(raw["by_sentiment"])
    assert inb["by_day"][-1] == {"date": "2026-10-31", "messages": 2}
    assert fig["summary"]["inbound"] == raw["messages"]


@pytest.mark.django_db
def test_an_erased_subject_is_counted_but_never_quoted(month: dict[str, Any]) -> None:
    from warta.reports import figures

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    banjir = next(t for t in fig["inbound"]["top_issues"] if t["topic"] == "banjir")
    assert banjir["tickets"] == 4  # the erased person's ticket still counts
    texts = " ".join(e["text"] for e in banjir["examples"])
    assert "kebanjiran lagi" not in texts and "[dihapus]" not in texts
    assert month["erased"][3:] not in str(fig)
    # Numbers typed into a message are masked too, and so are the senders.
    assert "081234567890" not in texts and "0812****890" in texts
    assert all("****" in e["from"] for e in banjir["examples"])


@pytest.mark.django_db
def test_a_retired_topic_keeps_its_tickets_and_name(month: dict[str, Any], tmp_path: Any) -> None:
    from warta.reports import figures, render

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    sampah = next(t for t in fig["inbound"]["by_topic"] if t["topic"] == "sampah")
    assert sampah == {"topic": "sampah", "label": "Sampah & kebersihan", "retired": True, "tickets": 1}
    path = tmp_path / "r.pdf"
    path.write_bytes(render.pdf_bytes(fig))
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "Sampah & kebersihan (dipensiunkan)" in text


@pytest.mark.django_db
def test_month_over_month_compares_with_last_month(month: dict[str, Any]) -> None:
    from warta.reports import figures

    mom = {r["figure"]: r for r in figures.compute(OCT, now=wib(2026, 11, 2))["month_over_month"]}
    assert mom["blasts"]["previous"] == 1 and mom["blasts"]["this"] == 4 and mom["blasts"]["change_pct"] == 300.0
    assert mom["tickets_opened"]["previous"] == 1


@pytest.mark.django_db
def test_sla_per_unit_counts_met_missed_and_running(month: dict[str, Any]) -> None:
    from warta.reports import figures

    sla = {r["unit"]: r for r in figures.compute(OCT, now=wib(2026, 11, 2))["inbound"]["sla_by_unit"]}
    # BPBD: one forwarded within a working day and closed (met), one forwarded 12 days late (missed).
    assert (sla["BPBD"]["met"], sla["BPBD"]["missed"]) == (1, 1)
    assert sla["BPBD"]["compliance_pct"] == 50.0


@pytest.mark.django_db
def test_the_pdf_shows_the_figures_computed_from_raw_rows(month: dict[str, Any], tmp_path: Any) -> None:
    from warta.reports import figures, render

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    pdf = render.pdf_bytes(fig)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # Table cells wrap: read titles from the text flow with line breaks as spaces.
    flow = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split())
    raw, inb = raw_outbound(OCT), raw_inbound(OCT)
    assert "LAPORAN BULANAN SMS CENTER" in text and "Oktober 2026" in text
    assert render.rupiah(raw["cost"]) in text
    assert f"{raw['total']['messages']} " in text or f"{raw['total']['messages']}\n" in text
    for title in ("Siaga banjir", "Vaksinasi gratis", "Malam tahun"):
        assert title in flow
    assert render.rupiah(raw["cost_by_sender"]["GubDKI"]) in text
    assert render.rupiah(raw["cost_by_sender"]["HumasDKI"]) in text
    assert f"{inb['tickets_opened']} tiket baru" in text
    assert f"{inb['messages']} SMS masuk dari {inb['senders']} nomor" in flow
    t = raw["total"]
    delivered_pct = round(100 * t["delivered"] / (t["messages"] - t["not_sent"]), 1)
    assert render.number(delivered_pct) + "%" in text
    assert f"{t['segments']} segmen ditagih" in flow
    assert "0812****890" in text and "081234567890" not in text
    assert "NIP" in text and "Dinas Komunikasi, Informatika dan Statistik" in text


@pytest.mark.django_db
def test_the_xlsx_has_one_sheet_per_table_with_the_same_figures(month: dict[str, Any]) -> None:
    import io

    from openpyxl import load_workbook

    from warta.reports import figures, render

    fig = figures.compute(OCT, now=wib(2026, 11, 2))
    wb = load_workbook(io.BytesIO(render.xlsx_bytes(fig)), read_only=True)
    assert {"Ringkasan", "Blast", "Per sender ID", "Per unit", "Per operator", "Topik", "Wilayah",
            "SLA per unit", "Isu utama", "Bulan ke bulan", "SMS masuk per hari"} <= set(wb.sheetnames)
    blasts = list(wb["Blast"].iter_rows(values_only=True))
    assert len(blasts) == 1 + 4
    raw = raw_outbound(OCT)
    ops = {r[0]: r[1] for r in list(wb["Per operator"].iter_rows(values_only=True))[1:]}
    assert ops == {k: v["messages"] for k, v in raw["by_operator"].items()}
