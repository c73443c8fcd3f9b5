"""Users, roles, units and the audit trail.

Theory of operation: a user has exactly one role and belongs to one unit. What a role may open is a
table in ``permissions.py``; what a user may *see* inside an area is narrowed by unit for unit
liaisons (``Unit.visible_to``). The audit trail is append-only four times over: the model refuses
updates and deletes, no view offers them, database triggers refuse UPDATE, DELETE and TRUNCATE
even from a shell (migrations 0002, 0003), and on PostgreSQL the application runs under a role
that does not own the table (``warta db-app-role``); its rows form a hash chain
(``auditchain.py``), so what an owner of the database removes anyway is detected by
``warta audit verify``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import connections, models, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import auditchain


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    OPERATOR = "operator", _("Operator (Pelaksana)")
    VERIFIER = "verifier", _("Verifikator (Kepala Seksi/Bidang)")
    APPROVER = "approver", _("Penyetuju (Kepala Dinas/pemilik Sender ID)")
    LIAISON = "liaison", _("Penghubung Unit (SKPD/UKPD)")
    ANALYST = "analyst", _("Analis")


class UnitKind(models.TextChoices):
    DINAS = "dinas", _("Dinas pengelola (Diskominfotik)")
    SKPD = "skpd", _("SKPD")
    KOTA = "kota", _("Kota/Kabupaten Administrasi")
    UKPD = "ukpd", _("UKPD")


class Unit(models.Model):
    """A regional work unit. SKPD and the Kota/Kabupaten Administrasi sit under the province;
    UKPD sit under an SKPD or a Kota. Diskominfotik runs the SMS Center."""

    code = models.SlugField(_("kode"), max_length=40, unique=True)
    name = models.CharField(_("nama"), max_length=200)
    kind = models.CharField(_("jenis"), max_length=10, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("induk"),
    )
    email = models.EmailField(_("surel"), blank=True)
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit")
        verbose_name_plural = _("unit")

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Unit]:
        chain: list[Unit] = []
        node = self.parent
        while node is not None and len(chain) < 10:
            chain.append(node)
            node = node.parent
        return chain

    def descendant_ids(self) -> set[int]:
        """This unit and every unit below it (the tree is shallow: province → SKPD → UKPD)."""
        ids = {self.pk}
        frontier = [self.pk]
        while frontier:
            frontier = list(Unit.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            frontier = [pk for pk in frontier if pk not in ids]
            ids.update(frontier)
        return ids

    @classmethod
    def visible_to(cls, user: User) -> QuerySet[Unit]:
        """Units whose data ``user`` may see: all for central roles, its own subtree for liaisons."""
        if user.sees_all_units:
            return cls.objects.all()
        if user.unit_id is None:
            return cls.objects.none()
        assert user.unit is not None
        return cls.objects.filter(pk__in=user.unit.descendant_ids())


class WartaUserManager(UserManager["User"]):
    def create_superuser(self, username: str, email: str | None = None, password: str | None = None, **extra: Any) -> User:
        # `warta createsuperuser` makes an Administrator: superuser flags alone would give a user
        # Django's powers but no Warta role, and the menus follow roles.
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    role = models.CharField(_("peran"), max_length=12, choices=Role.choices, default=Role.OPERATOR)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="members",
        verbose_name=_("unit"),
    )
    phone = models.CharField(_("nomor ponsel"), max_length=20, blank=True)

    objects = WartaUserManager()

    class Meta:
        verbose_name = _("pengguna")
        verbose_name_plural = _("pengguna")
        constraints = [
            # A liaison without a unit would see nothing or, worse, be mistaken for central staff.
            models.CheckConstraint(
                condition=~Q(role="liaison") | Q(unit__isnull=False),
                name="liaison_has_unit",
            ),
        ]

    @property
    def sees_all_units(self) -> bool:
        return self.role != Role.LIAISON

    @property
    def requires_two_factor(self) -> bool:
        return self.role in settings.WARTA["TWO_FACTOR_ROLES"]

    def display_name(self) -> str:
        return self.get_full_name() or self.username


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailIsAppendOnly(_("Jejak audit tidak dapat diubah."))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly(_("Jejak audit tidak dapat dihapus."))


class AuditTrailIsAppendOnly(Exception):
    pass


class AuditEvent(models.Model):
    """One state-changing action: who, when, from where, on what, what changed. Append-only."""

    # Set before the insert (not auto_now_add, which would overwrite it after the hash is made).
    at = models.DateTimeField(_("waktu"), default=timezone.now, editable=False, db_index=True)
    # PROTECT: an account that has acted is deactivated, never deleted, so the trail keeps
    # pointing at it (and the UPDATE trigger would refuse SET_NULL anyway).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("pelaku"),
    )
    # The name is copied so that the trail still says who acted after an account is removed.
    actor_name = models.CharField(_("nama pelaku"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("alamat IP"), null=True, blank=True)
    action = models.CharField(_("tindakan"), max_length=60, db_index=True)
    object_type = models.CharField(_("jenis objek"), max_length=60, blank=True, db_index=True)
    object_id = models.CharField(_("ID objek"), max_length=64, blank=True)
    object_repr = models.CharField(_("objek"), max_length=200, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    changes = models.JSONField(_("perubahan"), default=dict, blank=True)
    # The hash chain (auditchain.py): each row's hash covers the previous row's.
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("peristiwa audit")
        verbose_name_plural = _("jejak audit")
        indexes = [
            # used by the audit screen's filter on one object
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # used by audit.record_views: has this user's session seen these records this hour
            # (partial: only the reading events, so other writes do not pay for it)
            models.Index(fields=["actor", "object_type", "at"], condition=models.Q(action="data.viewed"),
                         name="audit_data_viewed_idx"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditTrailIsAppendOnly(_("Jejak audit tidak dapat diubah."))
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            connection = connections[using]
            auditchain.lock(connection)
            self.changes = auditchain.normalise_changes(self.changes)
            self.prev_hash = auditchain.head_hash(connection, self._meta.db_table)
            self.hash = auditchain.row_hash(self.prev_hash, self)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly(_("Jejak audit tidak dapat dihapus."))

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"
