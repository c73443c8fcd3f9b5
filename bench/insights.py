"""Classifier throughput on one core (the issue's goal: ≥ 5,000 msg/s), lexicon baseline vs model.

    .venv/bin/python bench/insights.py

Prints messages per second for classify_many in batches of 2,000 (as ingest calls it) on the
team's labelled set repeated, and the evaluation figures of both layers on the held-out and
fresh sets. The 1,000,000-inbound / 5,000,000-outbound dashboard page-time run is not written
yet (see docs/benchmarks.md).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "warta.settings")


def main() -> None:
    import django

    from warta.insights.classifier import (
        Classifier,
        evaluate,
        read_labelled,
        read_lexicon_file,
        train,
    )
    from warta.insights.engine import region_rows

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows, regions = read_lexicon_file(), region_rows()
    t0 = time.perf_counter()
    model = train(read_labelled("train"), version="bench", lexicon_rows=rows, place_names=[r[2] for r in regions])
    print(f"training: {time.perf_counter() - t0:.1f} s on {model.trained_on} examples")
    texts = [e.text for e in read_labelled("train") + read_labelled("test") + read_labelled("fresh")]
    texts = (texts * (20_000 // len(texts) + 1))[:20_000]
    for name, clf in (("lexicon", Classifier(rows, regions, None)), ("lexicon+model", Classifier(rows, regions, model))):
        clf.classify_many(texts[:2000])  # warm caches
        clf.normalise._cache.clear()
        t0 = time.process_time()
        for i in range(0, len(texts), 2000):
            clf.classify_many(texts[i:i + 2000])
        cpu = time.process_time() - t0
        print(f"{name}: {len(texts) / cpu:,.0f} msg/s of CPU ({len(texts)} messages, batches of 2,000)")
        for split in ("test", "fresh"):
            r = evaluate(clf, read_labelled(split))
            print(f"  {split}: macro-F1 {r['macro_f1']:.3f}, accuracy {r['accuracy']:.3f}, "
                  f"sentiment {r['sentiment']['accuracy']:.3f}, urgent recall {r['urgent']['recall']:.3f} "
                  f"precision {r['urgent']['precision']:.3f}, place→kecamatan {r['place']['kecamatan_accuracy']:.3f}")


if __name__ == "__main__":
    main()
