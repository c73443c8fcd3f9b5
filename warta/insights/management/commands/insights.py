"""``warta insights classify [--json] (TEXT… | --file FILE)`` · ``warta insights evaluate [--json]``
· ``warta insights train`` — the classifier from the command line (docs/insights.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Klasifikasi pesan warga: classify, evaluate, train."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("classify", help="topik, sentimen, darurat dan tempat dari teks")
        c.add_argument("texts", nargs="*")
        c.add_argument("--file", help="satu pesan per baris")
        c.add_argument("--json", action="store_true")
        e = sub.add_parser("evaluate", help="presisi/recall/F1 terhadap bagian uji set berlabel tim")
        e.add_argument("--json", action="store_true")
        e.add_argument("--set", default="test", choices=["test", "fresh", "train"])
        e.add_argument("--lexicon-only", action="store_true", help="tanpa model statistik (garis dasar)")
        t = sub.add_parser("train", help="latih versi model baru (set berlabel + koreksi analis) dan aktifkan")
        t.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + opts["action"])(opts)

    def _classify(self, opts: dict[str, Any]) -> None:
        from warta.insights import engine

        if opts["file"]:
            if opts["texts"]:
                raise CommandError("Berikan TEKS atau --file, bukan keduanya.")
            try:
                with open(opts["file"], encoding="utf-8", errors="replace") as fh:
                    texts = fh.read().splitlines()
            except OSError as exc:
                raise CommandError(f"Berkas tidak dapat dibaca: {exc}") from exc
        else:
            texts = list(opts["texts"])
        if not texts:
            raise CommandError("Berikan teks pesan atau --file BERKAS (satu pesan per baris).")
        results = engine.for_cli().classify_many(texts)
        if opts["json"]:
            self.stdout.write(json.dumps([r.public() for r in results], ensure_ascii=False))
            return
        for r in results:
            place = f"{r.place['name']} ({r.place['level']}, {r.place['code']})" if r.place else "-"
            self.stdout.write(f"{r.topic:13} {r.sentiment:8} {'DARURAT' if r.urgent else '-':8} {place:40} "
                              f"[{', '.join(r.why)}] {r.text[:60]}")

    def _evaluate(self, opts: dict[str, Any]) -> None:
        from warta.insights import engine
        from warta.insights.classifier import evaluate, read_labelled

        clf = engine.build(None) if opts["lexicon_only"] else engine.for_cli()
        if opts["lexicon_only"]:
            clf.model = None
            clf.version = "lex"
        report = evaluate(clf, read_labelled(opts["set"]))
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        w = self.stdout.write
        w(f"versi {report['version']} · {opts['set']} · {report['n']} pesan")
        w(f"{'topik':14} {'presisi':>8} {'recall':>8} {'F1':>8} {'n':>5}")
        for code, m in report["topics"].items():
            w(f"{code:14} {m['precision']:8.3f} {m['recall']:8.3f} {m['f1']:8.3f} {m['support']:5d}")
        w(f"macro-F1 {report['macro_f1']:.4f} · akurasi {report['accuracy']:.4f}")
        labels = list(report["confusion"])
        w("matriks kebingungan (baris: benar, kolom: tebakan)")
        w(" " * 13 + " ".join(f"{c[:5]:>5}" for c in labels))
        for a in labels:
            w(f"{a:13}" + " ".join(f"{report['confusion'][a][b]:5d}" for b in labels))
        s, u, p = report["sentiment"], report["urgent"], report["place"]
        w(f"sentimen: akurasi {s['accuracy']:.4f}")
        w(f"darurat: recall {u['recall']:.4f} presisi {u['precision']:.4f} (n={u['support']})")
        w(f"tempat: benar sampai kecamatan {p['kecamatan_accuracy']:.4f}, tepat {p['exact_accuracy']:.4f} "
          f"(n={p['support']}); tempat keliru pada pesan tanpa tempat: {p['false_places']}")

    def _train(self, opts: dict[str, Any]) -> None:
        from warta.insights import engine

        row = engine.retrain()
        out = {"version": row.version, "trained_on": row.trained_on, "corrections": row.corrections, **row.metrics}
        self.stdout.write(json.dumps(out, ensure_ascii=False) if opts["json"] else
                          f"model {row.version}: {row.trained_on} contoh ({row.corrections} koreksi), "
                          f"macro-F1 uji {row.metrics.get('macro_f1')}")
