"""Sender IDs (masks) and, in later issues, materi, drafts, approvals, blasts and the outbox."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Operators accept alphanumeric masks of at most 11 GSM characters (TON 5).
sender_name_validator = RegexValidator(
    r"^[A-Za-z0-9 .\-]{1,11}$",
    _("Sender ID maksimal 11 karakter: huruf, angka, spasi, titik atau tanda hubung."),
)


class SenderID(models.Model):
    name = models.CharField(_("nama"), max_length=11, unique=True, validators=[sender_name_validator])
    description = models.CharField(_("keterangan"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="owned_sender_ids", verbose_name=_("pemilik (penyetuju)"),
    )
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sender ID")
        verbose_name_plural = _("sender ID")

    def __str__(self) -> str:
        return self.name
