"""The process's classifier, built from the database and rebuilt when it changes.

Theory of operation: building a ``Classifier`` (lexicon, region names, unpickling the active
model) takes a fraction of a second, classifying takes microseconds, so each process keeps one
and checks at most every ``RECHECK`` seconds whether the lexicon, the topic table or the active
model changed (one small query: counts and latest timestamps). When no model has been trained
yet, the lexicon works alone (version ``lex+…``); ``warta insights train`` or the worker's job
trains one, and ``warta insights classify``/``evaluate`` train one in memory from the bundled
labelled set when the database has none, so the command line gives the model's answers on a
fresh install.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .classifier import Classifier, Example, LexRow, Model, read_labelled, read_lexicon_file, train

RECHECK = 30.0
_lock = threading.Lock()
_current: tuple[Any, Classifier, float] | None = None
_memory_model: Model | None = None


def _stamp() -> Any:
    from django.db.models import Count, Max, Q

    from .models import LexiconEntry, ModelVersion, Topic

    lex = LexiconEntry.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    topics = Topic.objects.aggregate(n=Count("id"), r=Count("id", filter=Q(retired=True)),
                                     m=Max("merged_into_id"))
    active = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    return (lex["n"], lex["at"], topics["n"], topics["r"], topics["m"], active)


def lexicon_rows() -> list[LexRow]:
    from .models import LexiconEntry

    rows = [(e.kind, e.topic.code if e.topic_id else "", e.term, e.weight, e.replacement)
            for e in LexiconEntry.objects.filter(is_active=True).select_related("topic")]
    return rows or read_lexicon_file()


def region_rows() -> list[tuple[int, str, str, str]]:
    from warta.contacts.models import Region

    return list(Region.objects.values_list("pk", "code", "name", "level"))


def topic_rows() -> list[tuple[str, bool, str | None]]:
    from .models import Topic

    return [(t.code, t.retired, t.merged_into.code if t.merged_into_id else None)
            for t in Topic.objects.select_related("merged_into")]


def active_model() -> Model | None:
    from .models import ModelVersion

    row = ModelVersion.objects.filter(is_active=True).first()
    return Model.loads(bytes(row.blob)) if row is not None else None


def build(model: Model | None = None) -> Classifier:
    return Classifier(lexicon_rows(), region_rows(), model if model is not None else active_model(),
                      topics=topic_rows())


def get(*, force: bool = False) -> Classifier:
    """This process's classifier (rebuilt when the database changed, checked every RECHECK s)."""
    global _current
    now = time.monotonic()
    with _lock:
        if _current is not None and not force and now - _current[2] < RECHECK:
            return _current[1]
        stamp = _stamp()
        if _current is not None and not force and _current[0] == stamp:
            _current = (stamp, _current[1], now)
            return _current[1]
        clf = build()
        _current = (stamp, clf, now)
        return clf


def reset() -> None:
    global _current
    with _lock:
        _current = None


def reset_all() -> None:
    """Forget every per-process cache of reference data (classifier, topic ids, regions): for
    tests whose database was emptied and reseeded with new ids."""
    from . import ingest, services

    reset()
    services.clear_reference()
    ingest._topics = None
    ingest._kec_cache.clear()


def bundled_model() -> Model:
    """A model trained in memory on the bundled training set (once per process)."""
    global _memory_model
    if _memory_model is None:
        _memory_model = train(read_labelled("train"), version="bundled", lexicon_rows=lexicon_rows(),
                              place_names=[r[2] for r in region_rows()])
    return _memory_model


def for_cli() -> Classifier:
    """The active model, else one trained in memory on the bundled set."""
    model = active_model()
    return build(model if model is not None else bundled_model())


def training_examples() -> tuple[list[Example], int]:
    """The team's training set plus every analyst's correction (the corrected topic wins)."""
    from .models import Classification

    examples = read_labelled("train")
    corrections = 0
    rows = (Classification.objects.filter(corrected_at__isnull=False)
            .select_related("topic", "message").order_by("corrected_at"))
    for c in rows.iterator(chunk_size=2000):
        examples.append(Example(c.message.text, c.topic.code, c.sentiment, c.urgent, ""))
        corrections += 1
    return examples, corrections


def retrain(*, activate: bool = True) -> Any:
    """Train a new model version on the labelled set + corrections; store and (by default) activate it."""
    from django.db import transaction
    from django.utils import timezone

    from .classifier import evaluate
    from .models import ModelVersion

    examples, corrections = training_examples()
    n = ModelVersion.objects.count() + 1
    version = f"m{n}-{timezone.now():%Y%m%d%H%M}"
    model = train(examples, version=version, lexicon_rows=lexicon_rows(), place_names=[r[2] for r in region_rows()])
    metrics = evaluate(build(model), read_labelled("test"))
    with transaction.atomic():
        if activate:
            ModelVersion.objects.filter(is_active=True).update(is_active=False)
        row = ModelVersion.objects.create(version=version, trained_on=len(examples), corrections=corrections,
                                          metrics={k: metrics[k] for k in ("macro_f1", "accuracy", "urgent", "place")},
                                          blob=model.dumps(), is_active=activate)
    reset()
    return row
