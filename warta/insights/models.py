"""Public-response analysis: topics, the classifier's lexicon and models, every message's
classification, the counters the dashboards read, and SMS polls.

Theory of operation
-------------------
* Every citizen's message is classified once, at ingest (``warta.insights.ingest``, called by the
  inbox through its hook): topic, sentiment, urgency, place, the model version and the deciding
  words go into ``Classification``. An analyst's correction changes ``topic`` there (the
  classifier's own answer stays in ``predicted_topic``) and is training data for the next model.
* Pages never count messages. Ingest (and a correction) adds to ``DailyCount`` — one row per WIB
  day × topic × region × unit × sentiment × urgent — with an upsert, so a month on the dashboard
  is a few thousand rows whatever the traffic. ``region_id``/``unit_id`` are plain integers with
  0 for "none": a unique key with NULLs would not be unique on PostgreSQL, and counters need no
  foreign keys (a region or unit is never deleted; names are joined in Python).
* Ticket outcomes (response and resolution time, SLA) are counted once per ticket in
  ``UnitDayCount`` when the ticket is forwarded and when it is closed; ``TicketOutcome`` remembers
  what was counted so a re-save never counts twice.
* Topics are rows analysts edit. Retiring keeps the row (history points at it); merging A into B
  sets ``A.merged_into = B`` and retires A: old classifications keep A, figures fold A into B.

Poll lifecycle (``Poll.state``)::

    draft ──draft released (blast sent)──▶ open ──window over──▶ closed (signal poll_closed)
      └──draft withdrawn──▶ cancelled
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Topic(models.Model):
    """A topic of citizens' messages. Codes are stable (CLI, API, routing rules use them)."""

    code = models.SlugField(_("kode"), max_length=30, unique=True)
    name = models.CharField(_("nama"), max_length=100)
    description = models.CharField(_("keterangan"), max_length=300, blank=True)
    order = models.SmallIntegerField(_("urutan"), default=100)
    retired = models.BooleanField(_("dipensiunkan"), default=False)
    retired_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="merged_from", verbose_name=_("digabung ke"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("topik")
        verbose_name_plural = _("topik")
        constraints = [
            models.CheckConstraint(condition=Q(merged_into__isnull=True) | Q(retired=True),
                                   name="topic_merged_is_retired"),
        ]

    def __str__(self) -> str:
        return self.name

    def effective(self) -> Topic:
        """The topic this one counts as today (follows merges)."""
        node, seen = self, {self.pk}
        while node.merged_into_id is not None and node.merged_into_id not in seen:
            seen.add(node.merged_into_id)
            node = node.merged_into  # type: ignore[assignment]
        return node


class TopicEventKind(models.TextChoices):
    ADDED = "added", _("ditambahkan")
    RENAMED = "renamed", _("diganti nama")
    MERGED = "merged", _("digabung")
    RETIRED = "retired", _("dipensiunkan")
    RESTORED = "restored", _("diaktifkan lagi")


class TopicEvent(models.Model):
    """The history of the topic table (the audit trail has it too, this one is for the page)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    kind = models.CharField(max_length=10, choices=TopicEventKind.choices)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class Sentiment(models.TextChoices):
    POSITIF = "positif", _("positif")
    NETRAL = "netral", _("netral")
    NEGATIF = "negatif", _("negatif")


class LexiconKind(models.TextChoices):
    TOPIC = "topic", _("topik")  # the term points at ``topic``
    URGENT = "urgent", _("darurat")  # immediate danger
    POSITIVE = "positive", _("sentimen positif")
    NEGATIVE = "negative", _("sentimen negatif")
    SLANG = "slang", _("singkatan/bahasa gaul")  # ``term`` is written as ``replacement``


class LexiconEntry(models.Model):
    """One line of the readable, editable lexicon (the classifier's first layer).

    ``term`` is a word or a phrase in normalised form (lower case, slang expanded)."""

    kind = models.CharField(_("jenis"), max_length=10, choices=LexiconKind.choices)
    term = models.CharField(_("kata/frasa"), max_length=80)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, null=True, blank=True, related_name="lexicon",
                              verbose_name=_("topik"))
    replacement = models.CharField(_("ditulis sebagai"), max_length=80, blank=True)
    weight = models.FloatField(_("bobot"), default=1.0)
    is_active = models.BooleanField(_("aktif"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["kind", "topic__order", "term"]
        verbose_name = _("leksikon")
        verbose_name_plural = _("leksikon")
        constraints = [
            models.UniqueConstraint(fields=["kind", "term", "topic"], name="lexicon_once"),
            models.CheckConstraint(condition=~Q(kind="topic") | Q(topic__isnull=False), name="lexicon_topic_has_topic"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.term}"


class ModelVersion(models.Model):
    """A trained statistical model (the second layer), kept in the database so every process
    (web, engines, worker) loads the same one. At most one is active."""

    version = models.CharField(_("versi"), max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    trained_on = models.IntegerField(_("contoh latih"), default=0)
    corrections = models.IntegerField(_("koreksi analis"), default=0)
    metrics = models.JSONField(default=dict, blank=True)
    blob = models.BinaryField()  # pickled warta.insights.classifier.Model (our own code only)
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="modelversion_one_active"),
        ]

    def __str__(self) -> str:
        return self.version


class PlaceSource(models.TextChoices):
    TEXT = "text", _("disebut dalam pesan")
    CONTACT = "contact", _("wilayah kontak")
    NONE = "", _("tidak diketahui")


class Classification(models.Model):
    """What the classifier (or an analyst) says about one incoming message."""

    message = models.OneToOneField("inbox.Message", on_delete=models.CASCADE, related_name="classification")
    ticket = models.ForeignKey("inbox.Ticket", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="classifications")
    at = models.DateTimeField()
    day = models.DateField()  # WIB date of ``at``: the counter key
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    predicted_topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    confidence = models.FloatField(default=0.0)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.NETRAL)
    urgent = models.BooleanField(default=False)
    region = models.ForeignKey("contacts.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    place_source = models.CharField(max_length=8, choices=PlaceSource.choices, blank=True, default="")
    unit_id = models.IntegerField(default=0)  # the unit the ticket was routed to at ingest, 0: none
    model_version = models.CharField(max_length=40)
    why = models.JSONField(default=list, blank=True)  # the deciding words
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    corrected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # used by training: the analysts' corrections
            models.Index(fields=["corrected_at"], name="classification_corrected",
                         condition=Q(corrected_at__isnull=False)),
            # used by the dashboard's urgent list
            models.Index(fields=["-at"], name="classification_urgent", condition=Q(urgent=True)),
        ]


class DailyCount(models.Model):
    """Incoming messages per WIB day × topic × region × unit × sentiment × urgent."""

    day = models.DateField()
    topic_id = models.IntegerField()
    region_id = models.IntegerField(default=0)
    unit_id = models.IntegerField(default=0)
    sentiment = models.CharField(max_length=8)
    urgent = models.BooleanField(default=False)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "topic_id", "region_id", "unit_id", "sentiment", "urgent"],
                                    name="dailycount_key"),
        ]
        indexes = [
            # used by the dashboard's region filter: only the region's rows of the range are read
            models.Index(fields=["region_id", "day"], name="dailycount_region"),
        ]


class DailyTopicCount(models.Model):
    """Roll-up of ``DailyCount`` without the region: what pages read when no region is filtered
    (a year is ~40,000 rows instead of ~1,000,000 at a million messages)."""

    day = models.DateField()
    topic_id = models.IntegerField()
    unit_id = models.IntegerField(default=0)
    sentiment = models.CharField(max_length=8)
    urgent = models.BooleanField(default=False)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "topic_id", "unit_id", "sentiment", "urgent"],
                                    name="dailytopiccount_key"),
        ]


class DailyRegionCount(models.Model):
    """Roll-up of ``DailyCount`` without topic and sentiment: the regions' heat table."""

    day = models.DateField()
    region_id = models.IntegerField(default=0)
    unit_id = models.IntegerField(default=0)
    urgent = models.BooleanField(default=False)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "region_id", "unit_id", "urgent"], name="dailyregioncount_key"),
        ]


class TermCount(models.Model):
    """Deciding words per WIB day and topic (top terms, without reading messages)."""

    day = models.DateField()
    topic_id = models.IntegerField()
    term = models.CharField(max_length=80)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "topic_id", "term"], name="termcount_key")]


class MonthRegionCount(models.Model):
    """``DailyRegionCount`` per calendar month (``month`` is its first day): a year's heat table
    reads 12 months instead of 365 days of rows."""

    month = models.DateField()
    region_id = models.IntegerField(default=0)
    unit_id = models.IntegerField(default=0)
    urgent = models.BooleanField(default=False)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "region_id", "unit_id", "urgent"], name="monthregioncount_key"),
        ]


class MonthTermCount(models.Model):
    """``TermCount`` per calendar month (``month`` is its first day)."""

    month = models.DateField()
    topic_id = models.IntegerField()
    term = models.CharField(max_length=80)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "topic_id", "term"], name="monthtermcount_key")]


class UnitDayCount(models.Model):
    """Ticket outcomes per WIB day × unit: forwarded (with the time it took) and closed (with the
    time to resolution and whether the SLA deadline was met). ``unit_id`` 0: the SMS Center."""

    day = models.DateField()
    unit_id = models.IntegerField(default=0)
    forwarded = models.IntegerField(default=0)
    response_seconds = models.BigIntegerField(default=0)  # sum, over ``forwarded``
    closed = models.IntegerField(default=0)
    resolution_seconds = models.BigIntegerField(default=0)  # sum, over ``closed``
    within_sla = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "unit_id"], name="unitdaycount_key")]


class TicketOutcome(models.Model):
    """What of a ticket has been counted in ``UnitDayCount`` (so it is counted once)."""

    ticket = models.OneToOneField("inbox.Ticket", on_delete=models.CASCADE, related_name="+")
    forwarded_counted = models.BooleanField(default=False)
    closed_counted = models.BooleanField(default=False)


class Poll(models.Model):
    """An SMS poll: a blast whose text asks a question with numbered or keyword options.

    It goes through the blast's approval chain as an ordinary ``Draft``; the poll opens when
    that draft is released and stays open ``window_hours``. Replies in the window that name an
    option are counted (``PollResponse``), not ticketed."""

    class State(models.TextChoices):
        DRAFT = "draft", _("konsep")  # the draft is being written/approved
        OPEN = "open", _("terbuka")  # released: replies are counted
        CLOSED = "closed", _("ditutup")  # window over; poll_closed sent
        CANCELLED = "cancelled", _("dibatalkan")  # the draft was withdrawn

    draft = models.OneToOneField("blasts.Draft", on_delete=models.PROTECT, related_name="poll")
    question = models.CharField(_("pertanyaan"), max_length=300)
    options = models.JSONField(_("pilihan"), default=list)  # [{"key": "1", "label": "...", "words": [...]}]
    window_hours = models.PositiveIntegerField(_("jendela balasan (jam)"), default=72)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    responses = models.IntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("jajak pendapat")
        verbose_name_plural = _("jajak pendapat")
        indexes = [
            # used by ingest's poll step: open polls
            models.Index(fields=["closes_at"], name="poll_open", condition=Q(state="open")),
        ]

    def __str__(self) -> str:
        return self.question


class PollResponse(models.Model):
    """One citizen's answer (the first valid one from a number counts)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="answers")
    message = models.OneToOneField("inbox.Message", on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=32)
    option = models.CharField(max_length=20)
    region_id = models.IntegerField(default=0)  # the contact's region (kelurahan), 0: unknown
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "address"], name="pollresponse_once")]


class PollCount(models.Model):
    """Live results: answers per poll × option × region (kelurahan; kota/kecamatan by code)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="+")
    option = models.CharField(max_length=20)
    region_id = models.IntegerField(default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "option", "region_id"], name="pollcount_key")]


class BlastImpact(models.Model):
    """A blast's 48-hour impact, computed off the page (scheduler job ``insights.impact`` and on
    first view) so dashboards never join a million recipients with the inbox."""

    blast = models.OneToOneField("blasts.Blast", on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    complete = models.BooleanField(default=False)  # the 48 hours after are over: final figures
    data = models.JSONField(default=dict)


def topic_choices() -> list[tuple[str, Any]]:
    """(code, name) of the topics in use, for forms."""
    return list(Topic.objects.filter(retired=False).values_list("code", "name"))
