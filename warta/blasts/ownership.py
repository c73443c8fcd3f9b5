"""Who speaks for a sender ID: its owner, the delegates the owner names for a period, and the
second factor every final approval needs (issue 11 item 2).

Theory of operation
-------------------
A sender ID's chain ends with its owner (``SenderID.owner``): whatever role the last step names,
only the owner or a delegate whose dates include today (WIB) may take it, and only from a
session that passed TOTP (django-otp's ``is_verified``), whatever their role. Delegations are
rows with dates, never deleted, revoked with a timestamp; the owner or an administrator manages
them, and each change is in the audit trail. ``services.why_cannot_decide`` and
``services.approve`` apply these rules; nothing else decides who may give a final approval.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import User
from warta.accounts.permissions import has_capability

from .models import ApprovalStep, SenderDelegation, SenderID


def is_last_step(step: ApprovalStep) -> bool:
    return not ApprovalStep.objects.filter(policy_id=step.policy_id, position__gt=step.position).exists()


def active_delegations(sender: SenderID, today: Any = None) -> QuerySet[SenderDelegation]:
    today = today or timezone.localdate()
    return SenderDelegation.objects.filter(sender=sender, revoked_at__isnull=True, starts_on__lte=today,
                                           ends_on__gte=today)


def final_approvers(sender: SenderID, today: Any = None) -> QuerySet[User]:
    """Who may give the last approval under ``sender``: its owner and today's delegates."""
    ids = set(active_delegations(sender, today).values_list("delegate_id", flat=True))
    if sender.owner_id:
        ids.add(sender.owner_id)
    return User.objects.filter(pk__in=ids, is_active=True, role__in=_approver_roles())


def _approver_roles() -> set[str]:
    from warta.accounts.permissions import CAPABILITIES

    return set(CAPABILITIES["blasts.approve"])


def has_second_factor(user: Any) -> bool:
    """Did this session pass TOTP? django-otp's OTPMiddleware puts ``is_verified`` on the request's
    user; a user object from anywhere else (a shell, a job) has not."""
    check = getattr(user, "is_verified", None)
    return bool(callable(check) and check())


def set_owner(sender: SenderID, owner: User, actor: User) -> SenderID:
    from .services import WorkflowError, _require

    _require(actor, "blasts.configure")
    if not has_capability(owner, "blasts.approve"):
        raise WorkflowError(_("%(u)s tidak dapat menyetujui naskah; pilih Verifikator atau Penyetuju.")
                            % {"u": owner.display_name()})
    before = sender.owner.username if sender.owner else None
    SenderID.objects.filter(pk=sender.pk).update(owner=owner)
    sender.refresh_from_db()
    audit.record("blasts.sender_owner_changed", sender, actor=actor, changes={"owner": [before, owner.username]})
    return sender


def can_manage_delegations(user: User, sender: SenderID) -> bool:
    return has_capability(user, "blasts.configure") or (sender.owner_id is not None and sender.owner_id == user.pk)


def delegate(sender: SenderID, actor: User, *, to: User, starts_on: Any, ends_on: Any, reason: str = "") -> SenderDelegation:
    from .services import WorkflowError

    if not can_manage_delegations(actor, sender):
        raise PermissionDenied(_("Hanya administrator atau pemilik sender ID yang dapat menunjuk wakil."))
    if not has_capability(to, "blasts.approve"):
        raise WorkflowError(_("%(u)s tidak dapat menyetujui naskah; pilih Verifikator atau Penyetuju.")
                            % {"u": to.display_name()})
    if to.pk == sender.owner_id:
        raise WorkflowError(_("%(u)s sudah pemilik sender ID ini.") % {"u": to.display_name()})
    if ends_on < starts_on:
        raise WorkflowError(_("Tanggal selesai harus sama dengan atau setelah tanggal mulai."))
    if ends_on < timezone.localdate():
        raise WorkflowError(_("Tanggal selesai sudah lewat."))
    d = SenderDelegation.objects.create(sender=sender, delegate=to, starts_on=starts_on, ends_on=ends_on,
                                        reason=reason.strip()[:200], created_by=actor)
    audit.record("blasts.delegation_created", d, actor=actor,
                 changes={"sender": sender.name, "delegate": to.username, "starts_on": str(starts_on),
                          "ends_on": str(ends_on), "reason": d.reason})
    return d


def revoke_delegation(d: SenderDelegation, actor: User) -> SenderDelegation:
    if not can_manage_delegations(actor, d.sender):
        raise PermissionDenied(_("Hanya administrator atau pemilik sender ID yang dapat mencabut wakil."))
    n = SenderDelegation.objects.filter(pk=d.pk, revoked_at__isnull=True).update(revoked_at=timezone.now(),
                                                                                revoked_by=actor)
    d.refresh_from_db()
    if n:
        audit.record("blasts.delegation_revoked", d, actor=actor,
                     changes={"sender": d.sender.name, "delegate": d.delegate.username})
    return d
