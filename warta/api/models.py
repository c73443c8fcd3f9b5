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

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("token API")
        verbose_name_plural = _("token API")

    def __str__(self) -> str:
        return self.prefix

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
