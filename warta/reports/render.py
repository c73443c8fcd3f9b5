"""The report's files: a PDF (A4, Bahasa Indonesia, letterhead, signature block) and an XLSX with
one sheet per table behind every figure.

Theory of operation: both are rendered from the figures snapshot (``figures.compute``), never
from the database directly, so the two files and the JSON say the same thing. The PDF is a Django
template laid out by WeasyPrint (CSS paged media: A4, running header and page numbers); charts are
inline SVG. The XLSX is written by openpyxl in write-only mode, row by row, so its memory does not
grow with the number of blasts.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from . import conf, insights_adapter
from .figures import month_label

# WeasyPrint logs every layout step at INFO; the report has nothing to learn from them.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)

DISPOSITION_LABELS = {"ticket": "tiket", "keyword": "kata kunci", "flood": "banjir pesan", "blocked": "diblokir",
                      "empty": "kosong", "poll": "polling"}
KIND_LABELS = {"reply": "Balasan kotak masuk (tanda terima, kata kunci, balasan petugas)",
               "other": "Pesan uji/administrator"}
MOM_LABELS = {
    "blasts": "Blast", "messages": "SMS keluar", "segments": "Segmen ditagih", "delivered_pct": "Terkirim (%)",
    "cost": "Biaya (Rp)", "inbound": "SMS masuk", "tickets_opened": "Tiket baru", "tickets_closed": "Tiket selesai",
    "sla_compliance_pct": "Kepatuhan SLA (%)", "opt_outs": "Berhenti berlangganan", "opt_ins": "Daftar berlangganan",
}


def rupiah(value: Any) -> str:
    """``"1234567.50"`` → ``"Rp1.234.567,50"`` (Indonesian grouping)."""
    if value in (None, ""):
        return "—"
    whole, _dot, cents = f"{float(value):,.2f}".partition(".")
    return "Rp" + whole.replace(",", ".") + ("," + cents if cents != "00" else "")


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{int(value):,}".replace(",", ".")


def _logo_data_uri(path: str) -> str:
    p = Path(path)
    if not path or not p.is_file():
        return ""
    mime = "image/svg+xml" if p.suffix.lower() == ".svg" else ("image/png" if p.suffix.lower() == ".png" else "image/jpeg")
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}"


def charts(fig: dict[str, Any]) -> list[str]:
    """The dashboards' charts (insights) where available, else the report's own, then the
    outbound side's."""
    inb, out = fig["inbound"], fig["outbound"]
    drawn = insights_adapter.dashboard_charts(fig)
    if not drawn:
        drawn = [insights_adapter.chart_svg("volume", [(d["date"][8:], d["messages"]) for d in inb["by_day"]],
                                            "SMS masuk per hari"),
                 insights_adapter.chart_svg("topics", [(t["label"], t["tickets"]) for t in inb["by_topic"]],
                                            "Tiket per topik")]
    return drawn + [
        insights_adapter.chart_svg("senders", [(s["sender"], s["messages"]) for s in out["by_sender"]],
                                   "SMS keluar per sender ID"),
        insights_adapter.chart_svg("operators", [(o["operator"], o["delivered_pct"] or 0) for o in out["by_operator"]],
                                   "Terkirim per operator (%)"),
    ]


def _svg_image(svg: str) -> str:
    """An SVG as an <img> data URI: each chart keeps its own ids (matplotlib's glyph ids repeat
    from chart to chart, and inline SVGs in one document would collide)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def pdf_context(fig: dict[str, Any], report: Any = None) -> dict[str, Any]:
    return {
        "fig": fig, "s": fig["summary"], "out": fig["outbound"], "inb": fig["inbound"], "report": report,
        "label": month_label(dt.date.fromisoformat(fig["month"] + "-01")),
        "head": conf.letterhead(), "logo": _logo_data_uri(conf.letterhead()["logo"]),
        "charts": [_svg_image(svg) for svg in charts(fig)], "mom_labels": MOM_LABELS, "kind_labels": KIND_LABELS,
        "disposition_labels": DISPOSITION_LABELS,
    }


def pdf_bytes(fig: dict[str, Any], report: Any = None) -> bytes:
    import weasyprint

    with translation.override("id"):
        html = render_to_string("reports/pdf.html", pdf_context(fig, report))
    return weasyprint.HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()  # type: ignore[no-any-return]


# -- XLSX ----------------------------------------------------------------------------------------


def _sheets(fig: dict[str, Any], report: Any = None) -> Iterable[tuple[str, list[str], Iterable[list[Any]]]]:
    s, out, inb = fig["summary"], fig["outbound"], fig["inbound"]
    yield "Ringkasan", ["Angka", "Nilai"], [[MOM_LABELS.get(k, k), v] for k, v in s.items()] + [
        ["Bulan", fig["label"]], ["Dasar biaya", out["cost_basis"]]]
    yield "Blast", ["ID", "Tanggal (WIB)", "Judul", "Sender ID", "Unit", "Topik", "Penerima", "Segmen/SMS",
                    "Segmen ditagih", "Terkirim", "Terkirim (%)", "Tidak terkirim", "Gagal", "Tidak dikirim",
                    "Belum final", "Darurat", "Biaya (Rp)", "Melewati batas bulan"], (
        [b["id"], b["date"], b["name"], b["sender"], b["unit"], b["topic"], b["recipients"], b["segments_per_sms"],
         b["segments"], b["delivered"], b["delivered_pct"], b["undelivered"], b["failed"], b["not_sent"], b["pending"],
         "ya" if b["emergency"] else "tidak", float(b["cost"]), b["split"]] for b in out["blasts"])
    yield "Lalu lintas lain", ["Sender ID", "Jenis", "Blast", "SMS", "Terkirim", "Segmen", "Biaya (Rp)"], (
        [r["sender"], KIND_LABELS.get(r["kind"], r["kind"]), r["blasts"], r["messages"], r["delivered"], r["segments"],
         float(r["cost"])] for r in out["other_traffic"])
    head = ["SMS", "Terkirim", "Terkirim (%)", "Tidak terkirim", "Gagal", "Tidak dikirim", "Belum final",
            "Segmen ditagih", "Biaya (Rp)"]

    def tail(r: dict[str, Any]) -> list[Any]:
        return [r["messages"], r["delivered"], r["delivered_pct"], r["undelivered"], r["failed"], r["not_sent"],
                r["pending"], r["segments"], float(r["cost"])]

    yield "Per sender ID", ["Sender ID", "Blast", *head], ([r["sender"], r["blasts"], *tail(r)] for r in out["by_sender"])
    yield "Per unit", ["Unit", "Blast", *head, "Anggaran (Rp)", "Terpakai (%)"], (
        [r["unit"], r["blasts"], *tail(r), r.get("budget"), r.get("budget_pct")] for r in out["by_unit"])
    yield "Per operator", ["Operator", *head], ([r["operator"], *tail(r)] for r in out["by_operator"])
    yield "SMS masuk per hari", ["Tanggal", "SMS masuk"], ([d["date"], d["messages"]] for d in inb["by_day"])
    yield "SMS masuk per jenis", ["Jenis", "SMS"], (
        [DISPOSITION_LABELS.get(d["disposition"], d["disposition"]), d["messages"]] for d in inb["by_disposition"])
    yield "Topik", ["Kode", "Topik", "Dipensiunkan", "Tiket"], (
        [t["topic"], t["label"], "ya" if t.get("retired") else "", t["tickets"]] for t in inb["by_topic"])
    yield "Sentimen", ["Sentimen", "Pesan"], ([r["sentiment"], r["messages"]] for r in inb["by_sentiment"])
    yield "Wilayah", ["Wilayah", "Tiket"], ([r["region"], r["tickets"]] for r in inb["by_region"])
    yield "Waktu tanggap", ["Ukuran", "Jumlah tiket", "Rata-rata (jam)", "Median (jam)"], [
        ["Balasan pertama", inb["response"]["count"], inb["response"]["mean_hours"], inb["response"]["median_hours"]],
        ["Penyelesaian", inb["resolution"]["count"], inb["resolution"]["mean_hours"], inb["resolution"]["median_hours"]]]
    yield "SLA per unit", ["Unit", "Memenuhi", "Melewati", "Berjalan", "Kepatuhan (%)"], (
        [r["unit"], r["met"], r["missed"], r["running"], r["compliance_pct"]] for r in inb["sla_by_unit"])
    yield "Opt-out & opt-in", ["Ukuran", "Jumlah"], [["Berhenti berlangganan", inb["opt_outs"]],
                                                     ["Daftar berlangganan", inb["opt_ins"]]]
    yield "Polling", ["Polling", "Pilihan", "Suara"], (
        [p.get("name", ""), o.get("label", ""), o.get("votes", 0)] for p in inb["polls"] for o in p.get("options", []))
    yield "Kata teratas", ["Kata", "Jumlah"], ([t["term"], t["count"]] for t in inb.get("top_terms", []))
    yield "Isu utama", ["Topik", "Tiket", "Waktu (WIB)", "Pengirim (disamarkan)", "Contoh pesan"], (
        [t["label"], t["tickets"], e["at"], e["from"], e["text"]] for t in inb["top_issues"] for e in t["examples"]
        or [{"at": "", "from": "", "text": ""}])
    yield "Bulan ke bulan", ["Angka", "Bulan ini", "Bulan lalu", "Perubahan (%)"], (
        [MOM_LABELS.get(r["figure"], r["figure"]), r["this"], r["previous"], r["change_pct"]]
        for r in fig["month_over_month"])
    if report is not None:
        yield "Narasi", ["Bagian", "Teks"], [["Hal menonjol", report.highlights], ["Kendala", report.problems],
                                             ["Rekomendasi", report.recommendations]]


def xlsx_bytes(fig: dict[str, Any], report: Any = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from warta.lib.spreadsheet import neutralise

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in _sheets(fig, report):
        ws = wb.create_sheet(title[:31])
        cells = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            cells.append(c)
        ws.append(cells)
        for row in rows:
            ws.append([neutralise(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
