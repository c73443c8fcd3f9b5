"""API clients and their bearer tokens.

Theory of operation: a unit's own system is an ``ApiClient``. It acts as one Warta user — by
default a service account with the role *liaison* of the client's unit — so every right the API
grants is the right that user has in the web: the same ``materi.submit`` capability, the same
``visible_materi`` narrowing, the same audit trail. A token is ``wrt_<prefix>_<secret>``; only
the SHA-256 of the whole token is stored, the prefix is kept in clear to find the row and to name
the token in lists and in the audit trail. The value is shown once, when it is made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    name = models.SlugField(_("nama"), max_length=60, unique=True)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="api_clients",
                             verbose_name=_("unit"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_clients",
                             verbose_name=_("bertindak sebagai"))
    is_active = models.BooleanField(_("aktif"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("dibuat oleh"))
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("terakhir dipakai"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("klien API")
        verbose_name_plural = _("klien API")

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    # Public part of the token, shown in lists and the audit trail; the lookup key.
    prefix = models.CharField(_("awalan"), max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)  # sha256 hex of the whole token; never the token
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    expires_at = models.DateTimeField(_("kedaluwarsa"), null=True, blank=True)  # None: until revoked
    revoked_at = models.DateTimeField(_("dicabut"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    last_used_at = models.DateTimeField(_("terakhir dipakai"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("alamat terakhir"), null=True, blank=True)
    name = models.CharField(_("nama token"), max_length=60, blank=True)
    # Scope values (``Scope``); a token without a scope may do nothing but authenticate.
    scopes = models.JSONField(_("cakupan"), default=list)
    # Token bucket: refill per second and capacity; None: the WARTA_API_RATE/_BURST defaults.
    rate = models.FloatField(_("permintaan per detik"), null=True, blank=True)
    burst = models.PositiveIntegerField(_("ledakan maksimum"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("token API")
        verbose_name_plural = _("token API")

    def __str__(self) -> str:
        return self.prefix

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


# -- scopes, rate limits, idempotency --------------------------------------------------------------


class Scope(models.TextChoices):
    """What a token may do. A token holds a list of these; every endpoint names the one it needs."""

    MATERI_WRITE = "materi:write", _("serahkan dan baca materi")
    BLASTS_READ = "blasts:read", _("baca naskah, blast dan hasil per penerima")
    BLASTS_WRITE = "blasts:write", _("buat naskah blast (tetap melalui persetujuan)")
    CONTACTS_READ = "contacts:read", _("cari kontak")
    CONTACTS_WRITE = "contacts:write", _("tambah/perbarui kontak dan catat berhenti berlangganan")
    INBOX_READ = "inbox:read", _("baca tiket warga unit")
    INBOX_REPLY = "inbox:reply", _("balas tiket dan ubah statusnya")
    INSIGHTS_READ = "insights:read", _("baca angka analisis unit")


ALL_SCOPES = [s.value for s in Scope]


class RateBucket(models.Model):
    """One token bucket per API token, in the database so that every web worker shares it.

    ``tokens`` is what was left at ``updated`` (seconds since the epoch, a float so that the refill
    is one portable SQL expression on SQLite and PostgreSQL); see ``ratelimit.take``.
    """

    token = models.OneToOneField(ApiToken, on_delete=models.CASCADE, primary_key=True, related_name="bucket")
    tokens = models.FloatField()
    updated = models.FloatField()


class IdempotencyKey(models.Model):
    """The first answer to a creating POST sent with ``Idempotency-Key``: a retry gets it again.

    ``status`` 0 means the first request is still running (a concurrent retry is told 409)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # method, path and body of the first request
    status = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(default=b"")
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="api_idempotency_unique")]
        indexes = [
            # used by the daily purge of keys older than IDEMPOTENCY_DAYS
            models.Index(fields=["created_at"], name="api_idempotency_age"),
        ]


# -- webhooks ------------------------------------------------------------------------------------


class WebhookEvent(models.TextChoices):
    TICKET_ROUTED = "ticket.routed", _("tiket dirutekan ke unit")
    TICKET_UPDATED = "ticket.updated", _("tiket diperbarui")
    BLAST_COMPLETED = "blast.completed", _("blast selesai")
    POLL_CLOSED = "poll.closed", _("jajak pendapat ditutup")
    TEST = "test", _("uji")


class Webhook(models.Model):
    """A unit's receiver of events. The body is signed with ``secret`` (and, during a rotation's
    overlap, also with ``previous_secret`` until ``previous_until``): see ``webhooks``."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="webhooks",
                             verbose_name=_("unit"))
    url = models.URLField(_("URL penerima"), max_length=500)
    events = models.JSONField(_("peristiwa"), default=list)
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("aktif"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    class Meta:
        ordering = ["unit__code", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhook")

    def __str__(self) -> str:
        return f"{self.unit.code} → {self.url}"


class Delivery(models.Model):
    """One event for one webhook, tried until the receiver answers 2xx or 24 hours pass.

    Lifecycle::

        pending ──2xx──▶ delivered
           │ ▲
           └─┘ non-2xx or no answer: attempts+1, next_attempt_at = now + backoff(attempts)
           │
           └──(first attempt more than RETRY_FOR ago)──▶ failed
    """

    class State(models.TextChoices):
        PENDING = "pending", _("menunggu")  # not delivered yet; tried again at next_attempt_at
        DELIVERED = "delivered", _("terkirim")  # the receiver answered 2xx
        FAILED = "failed", _("gagal")  # gave up after 24 hours of retries

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=WebhookEvent.choices)
    event_id = models.CharField(max_length=40)  # the same on every retry: receivers de-duplicate by it
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)  # HTTP status of the last try
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # used by the delivery job: due pending deliveries
            models.Index(fields=["next_attempt_at"], name="api_delivery_due",
                         condition=models.Q(state="pending")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=["pending", "delivered", "failed"]),
                                   name="api_delivery_state_valid"),
        ]


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: the log the unit's administrator reads."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no HTTP answer
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]


class BlastIdRange(models.Model):
    """First and last outbox id of a blast, for per-recipient paging (``endpoints.blasts``).

    A blast's messages are all written in the transaction that creates it and never added to, so
    the range never changes; kept here so that every web worker finds it after the first request
    instead of each paying the MIN/MAX over a million rows once."""

    blast = models.OneToOneField("blasts.Blast", on_delete=models.CASCADE, primary_key=True, related_name="+")
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
