"""The seeded topics and the services that change the topic table (add, rename, merge, retire).

Theory of operation: a topic is never deleted. Renaming changes only the name (the code is the
stable key the CLI, the API and routing rules use). Retiring hides a topic from the classifier
and from forms; its old classifications keep it, and figures still show it. Merging A into B
retires A with ``merged_into = B``: history keeps A, figures fold A into B, and the lexicon
entries of A move to B so the classifier learns the merge at once. Each change is a
``TopicEvent`` (shown on the topic page) and an audit record.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

# (code, name, order) — the 16 topics of issue 14.
SEED: list[tuple[str, str, int]] = [
    ("banjir", "Banjir & drainase", 10),
    ("sampah", "Sampah & kebersihan", 20),
    ("transportasi", "Kemacetan & transportasi", 30),
    ("jalan", "Jalan & infrastruktur", 40),
    ("kesehatan", "Kesehatan", 50),
    ("pendidikan", "Pendidikan", 60),
    ("adminduk", "Administrasi kependudukan (KTP/KK/akta)", 70),
    ("bansos", "Bantuan sosial", 80),
    ("keamanan", "Keamanan & ketertiban", 90),
    ("lingkungan", "Lingkungan & polusi", 100),
    ("air", "Air bersih", 110),
    ("listrik", "Listrik & PJU", 120),
    ("pungli", "Pelayanan publik & pungli", 130),
    ("apresiasi", "Apresiasi", 140),
    ("informasi", "Permintaan informasi", 150),
    ("lainnya", "Lainnya", 999),
]
FALLBACK = "lainnya"
# Ticket.topic values before issue 14 → topic codes.
LEGACY: dict[str, str] = {"kependudukan": "adminduk", "sosial": "bansos"}


def seed(apps: Any = None, schema_editor: Any = None) -> None:
    """Insert missing seeded topics (idempotent; data migration and the tests' reseed)."""
    topic_model = apps.get_model("insights", "Topic") if apps is not None else None
    if topic_model is None:
        from .models import Topic as topic_model  # noqa: N813
    existing = set(topic_model.objects.values_list("code", flat=True))
    topic_model.objects.bulk_create([topic_model(code=c, name=n, order=o) for c, n, o in SEED if c not in existing])


class TopicError(ValueError):
    """A topic change that cannot be made; the message says what to do (Indonesian)."""


def _event(topic: Any, actor: Any, kind: str, **data: Any) -> None:
    from warta.accounts import audit

    from .models import TopicEvent
    from .services import clear_reference

    TopicEvent.objects.create(topic=topic, actor=actor, kind=kind, data=data)
    clear_reference()
    audit.record(f"insights.topic.{kind}", topic, actor=actor, changes=data)


def add_topic(code: str, name: str, *, actor: Any, order: int = 500) -> Any:
    from .models import Topic

    code = code.strip().lower()
    if not code or Topic.objects.filter(code=code).exists():
        raise TopicError(_("Kode topik sudah dipakai atau kosong; pilih kode lain."))
    with transaction.atomic():
        topic = Topic.objects.create(code=code, name=name.strip(), order=order)
        _event(topic, actor, "added", code=code, name=topic.name)
    return topic


def rename_topic(topic: Any, name: str, *, actor: Any) -> Any:
    old = topic.name
    with transaction.atomic():
        topic.name = name.strip()
        topic.save(update_fields=["name"])
        _event(topic, actor, "renamed", name=[old, topic.name])
    return topic


def retire_topic(topic: Any, *, actor: Any) -> Any:
    if topic.code == FALLBACK:
        raise TopicError(_("Topik 'lainnya' adalah tujuan cadangan dan tidak dapat dipensiunkan."))
    with transaction.atomic():
        topic.retired, topic.retired_at = True, timezone.now()
        topic.save(update_fields=["retired", "retired_at"])
        _event(topic, actor, "retired")
    return topic


def restore_topic(topic: Any, *, actor: Any) -> Any:
    if topic.merged_into_id is not None:
        raise TopicError(_("Topik ini sudah digabung; tambahkan topik baru bila perlu dipisah lagi."))
    with transaction.atomic():
        topic.retired, topic.retired_at = False, None
        topic.save(update_fields=["retired", "retired_at"])
        _event(topic, actor, "restored")
    return topic


def merge_topic(topic: Any, into: Any, *, actor: Any) -> Any:
    from .models import LexiconEntry

    target = into.effective()
    if target.pk == topic.pk or topic.code == FALLBACK:
        raise TopicError(_("Topik tidak dapat digabung ke dirinya sendiri atau dari 'lainnya'."))
    if target.retired:
        raise TopicError(_("Topik tujuan sudah dipensiunkan; pilih topik yang masih aktif."))
    with transaction.atomic():
        topic.merged_into, topic.retired, topic.retired_at = target, True, timezone.now()
        topic.save(update_fields=["merged_into", "retired", "retired_at"])
        target_terms = set(LexiconEntry.objects.filter(topic=target).values_list("kind", "term"))
        for entry in LexiconEntry.objects.filter(topic=topic):
            if (entry.kind, entry.term) in target_terms:
                entry.is_active = False
                entry.save(update_fields=["is_active"])
            else:
                entry.topic = target
                entry.save(update_fields=["topic"])
        _event(topic, actor, "merged", into=target.code)
    return topic


def effective_map() -> dict[int, int]:
    """topic id → the id it counts as (itself unless merged)."""
    from .models import Topic

    parent = dict(Topic.objects.values_list("pk", "merged_into_id"))
    out: dict[int, int] = {}
    for pk in parent:
        node, hops = pk, 0
        while parent.get(node) is not None and hops < 20:
            node, hops = parent[node], hops + 1  # type: ignore[assignment]
        out[pk] = node
    return out
