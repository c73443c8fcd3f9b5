"""Workflow services: materi, drafts, approval per sender ID, scheduling and release.

Theory of operation
-------------------
Views parse a form and call one function here; every function checks the actor's rights again
(the server decides, never the page), changes rows with conditional UPDATEs where two clicks or
two people could race, and records the change in the audit trail.

* **Freeze by hash.** ``Draft.content_hash`` covers text, sender, audience and schedule. An
  ``Approval`` counts only while its hash is the draft's hash; ``update_draft`` sends a draft in
  review or approved back to ``draft`` when the hash changes, and ``release`` refuses a draft whose
  hash is not the one the last step approved.
* **Exactly one blast.** ``release`` moves ``approved → released`` with ``UPDATE … WHERE
  state='approved'`` and, in the same transaction, creates the blast through
  ``outbox.create_blast`` and links it one-to-one. A second click finds no row to update.
* **When it may go.** ``earliest_release`` applies the requested time, quiet hours (normal blasts
  wait for their end) and blackout periods (only emergency blasts); ``release_due`` is the
  scheduler's step (``warta blasts-scheduler``).
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import Role, User
from warta.accounts.permissions import has_capability, scope_to_unit
from warta.sms.numbers import NumberKind, parse_number

from . import composer, outbox
from .models import (
    Approval,
    ApprovalPolicy,
    ApprovalStep,
    BlackoutPeriod,
    Blast,
    BlastNotice,
    Draft,
    DraftVersion,
    Materi,
    MateriAttachment,
    OutboundMessage,
    SenderID,
    SenderRegistration,
    Tariff,
    WatchWord,
)
from .ownership import final_approvers, has_second_factor, is_last_step

log = logging.getLogger(__name__)


# Chains created for a sender ID that has none yet (administrators change them in the settings).
# SekdaDKI speaks for the whole provincial secretariat, as heavy as the Governor's own office.
DEFAULT_CHAINS: dict[str, list[tuple[str, str]]] = {
    "GubDKI": [(Role.VERIFIER, "Verifikator"), (Role.APPROVER, "Kepala Dinas")],
    "WagubDKI": [(Role.VERIFIER, "Verifikator"), (Role.APPROVER, "Kepala Dinas")],
    "SekdaDKI": [(Role.VERIFIER, "Verifikator"), (Role.APPROVER, "Kepala Dinas")],
    "HumasDKI": [(Role.VERIFIER, "Verifikator")],
}
FALLBACK_CHAIN = [(Role.VERIFIER, "Verifikator"), (Role.APPROVER, "Kepala Dinas")]

DEFAULT_TARIFFS = {"telkomsel": "350", "indosat": "350", "xl": "350", "tri": "350", "smartfren": "350",
                   "unknown": "350"}


class WorkflowError(Exception):
    """A request the workflow refuses; the message says why and what to do, in Indonesian."""

    permanent = True

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [message]


def _require(user: Any, capability: str) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))


def _conf(key: str, default: Any) -> Any:
    return getattr(settings, "WARTA", {}).get(key, default)


# -- notifications -------------------------------------------------------------------------------


def notify(users: Iterable[User], text: str, draft: Draft | None = None) -> None:
    """In the application always; by e-mail when SMTP is configured (``WARTA_SMTP_HOST``)."""
    people = {u.pk: u for u in users if u.is_active}
    BlastNotice.objects.bulk_create([BlastNotice(user=u, draft=draft, text=text[:300]) for u in people.values()])
    if settings.EMAIL_HOST:
        recipients = [u.email for u in people.values() if u.email]
        if recipients:
            try:
                send_mail(_("[Warta] %(text)s") % {"text": text[:80]}, text, None, recipients, fail_silently=False)
            except Exception:  # noqa: BLE001 - mail trouble must not undo an approval; it is logged
                log.exception("notification e-mail failed")


def unread_notices(user: User) -> QuerySet[BlastNotice]:
    return BlastNotice.objects.filter(user=user, read_at__isnull=True)


# -- materi --------------------------------------------------------------------------------------


def visible_materi(user: User) -> QuerySet[Materi]:
    return scope_to_unit(Materi.objects.select_related("unit", "submitted_by"), user)


def submit_materi(user: User, *, files: Iterable[Any] = (), **fields: Any) -> Materi:
    _require(user, "materi.submit")
    if user.unit_id is None:
        raise WorkflowError(_("Akun Anda belum terhubung ke unit; hubungi administrator."))
    if fields.get("window_start") and fields.get("window_end") and fields["window_end"] <= fields["window_start"]:
        raise WorkflowError(_("Batas akhir pengiriman harus setelah waktu paling cepat."))
    with transaction.atomic():
        materi = Materi.objects.create(unit=user.unit, submitted_by=user, **fields)
        for f in files:
            MateriAttachment.objects.create(materi=materi, file=f, name=f.name[:200], size=f.size,
                                            content_type=getattr(f, "content_type", "") or "")
        audit.record("blasts.materi_submitted", materi, actor=user, unit=materi.unit,
                     changes={"title": materi.title, "attachments": len(list(materi.attachments.all()))})
    notify(User.objects.filter(role=Role.OPERATOR, is_active=True),
           _("Materi baru dari %(unit)s: %(title)s") % {"unit": materi.unit, "title": materi.title})
    return materi


def take_materi(materi: Materi, user: User) -> Materi:
    _require(user, "blasts.compose")
    n = Materi.objects.filter(pk=materi.pk, status=Materi.Status.RECEIVED).update(
        status=Materi.Status.PROCESSING, handled_by=user, updated_at=timezone.now())
    materi.refresh_from_db()
    if n:
        audit.record("blasts.materi_taken", materi, actor=user, unit=materi.unit,
                     changes={"status": ["received", "processing"]})
    return materi


def reject_materi(materi: Materi, user: User, reason: str) -> Materi:
    _require(user, "blasts.compose")
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_("Tuliskan alasan penolakan: unit perlu tahu mengapa materinya tidak disiarkan."))
    n = Materi.objects.filter(pk=materi.pk, status__in=[Materi.Status.RECEIVED, Materi.Status.PROCESSING]).update(
        status=Materi.Status.REJECTED, reject_reason=reason, handled_by=user, updated_at=timezone.now())
    if not n:
        raise WorkflowError(_("Materi ini sudah dijadwalkan atau dikirim; tidak dapat ditolak lagi."))
    materi.refresh_from_db()
    audit.record("blasts.materi_rejected", materi, actor=user, unit=materi.unit, changes={"reason": reason})
    notify(User.objects.filter(unit=materi.unit, role=Role.LIAISON),
           _("Materi \"%(title)s\" ditolak: %(reason)s") % {"title": materi.title, "reason": reason})
    return materi


def _set_materi_status(materi: Materi | None, status: str) -> None:
    if materi is None:
        return
    Materi.objects.filter(pk=materi.pk).exclude(status=Materi.Status.REJECTED).update(
        status=status, updated_at=timezone.now())


def materi_figures(materi: Materi) -> list[dict[str, Any]]:
    """Delivery figures of the blasts made from ``materi`` (what the unit sees at the end)."""
    out = []
    for draft in materi.drafts.filter(blast__isnull=False).select_related("blast", "sender"):
        counts = outbox.status_counts(draft.blast_id)
        out.append({"draft": draft, "blast": draft.blast, **summarise(counts)})
    return out


# -- approval chains -----------------------------------------------------------------------------


def policy_for(sender: SenderID) -> ApprovalPolicy:
    """The sender ID's policy, created with its default chain the first time it is needed."""
    policy, created = ApprovalPolicy.objects.get_or_create(sender=sender)
    if created or not policy.steps.exists():
        for i, (role, label) in enumerate(DEFAULT_CHAINS.get(sender.name, FALLBACK_CHAIN), start=1):
            ApprovalStep.objects.get_or_create(policy=policy, position=i, defaults={"role": role, "label": label})
    return policy


def set_chain(sender: SenderID, steps: list[tuple[str, str, User | None]], actor: User) -> ApprovalPolicy:
    """Replace a sender ID's chain: ``[(role, label, user or None), …]`` in order. A step may
    name one user; the last step always belongs to the sender ID's owner (or a delegate)."""
    _require(actor, "blasts.configure")
    if not steps:
        raise WorkflowError(_("Rantai persetujuan minimal satu langkah."))
    for _role, _label, user in steps:
        if user is not None and not has_capability(user, "blasts.approve"):
            raise WorkflowError(_("%(u)s tidak dapat menyetujui naskah (perannya bukan Verifikator atau Penyetuju).")
                                % {"u": user.display_name()})
    last_user = steps[-1][2]
    if last_user is not None and last_user.pk != sender.owner_id:
        raise WorkflowError(_("Langkah terakhir selalu milik pemilik sender ID %(s)s atau wakilnya; kosongkan nama "
                              "pada langkah terakhir, atau jadikan %(u)s pemilik/wakil.")
                            % {"s": sender.name, "u": last_user.display_name()})
    with transaction.atomic():
        policy = policy_for(sender)
        before = [(s.role, s.label, s.user_id) for s in policy.steps.all()]
        policy.steps.all().delete()
        for i, (role, label, user) in enumerate(steps, start=1):
            ApprovalStep.objects.create(policy=policy, position=i, role=role, label=label, user=user)
        audit.record("blasts.chain_changed", sender, actor=actor,
                     changes={"steps": [before, [(r, lab, u.pk if u else None) for r, lab, u in steps]]})
    return policy


@dataclass
class StepStatus:
    step: ApprovalStep
    approval: Approval | None

    @property
    def done(self) -> bool:
        return self.approval is not None


def chain_status(draft: Draft) -> list[StepStatus]:
    """Each step of the draft's chain with the approval that counts for the *current* content."""
    steps = list(policy_for(draft.sender).steps.select_related("user"))
    approvals = {a.step: a for a in draft.approvals.filter(decision=Approval.Decision.APPROVED,
                                                           content_hash=draft.content_hash).select_related("by")}
    return [StepStatus(s, approvals.get(s.position)) for s in steps]


def next_step(draft: Draft) -> ApprovalStep | None:
    for st in chain_status(draft):
        if not st.done:
            return st.step
    return None


def final_step_needs_totp(user: User, draft: Draft) -> bool:
    """Would ``user``'s approval of the draft's next step be refused for want of TOTP?"""
    step = next_step(draft)
    return step is not None and is_last_step(step) and not has_second_factor(user)


def _step_users(step: ApprovalStep) -> QuerySet[User]:
    if is_last_step(step):
        return final_approvers(step.policy.sender)
    if step.user_id:
        return User.objects.filter(pk=step.user_id, is_active=True)
    return User.objects.filter(role=step.role, is_active=True)


def why_cannot_decide(user: User, draft: Draft) -> str | None:
    """None when ``user`` may approve or send back the draft's next step; else the reason."""
    if not has_capability(user, "blasts.approve"):
        return _("Peran Anda tidak termasuk dalam rantai persetujuan.")
    if draft.state != Draft.State.REVIEW:
        return _("Naskah ini tidak sedang menunggu persetujuan.")
    if draft.author_id == user.pk:
        return _("Prinsip empat mata: penyusun tidak dapat menyetujui naskahnya sendiri.")
    step = next_step(draft)
    if step is None:
        return _("Semua langkah sudah disetujui.")
    if is_last_step(step):
        sender = draft.sender
        if sender.owner_id is None:
            return _("Sender ID %(s)s belum punya pemilik: administrator perlu menetapkan pemiliknya sebelum "
                     "persetujuan akhir.") % {"s": sender.name}
        if not final_approvers(sender).filter(pk=user.pk).exists():
            return _("Persetujuan akhir untuk %(s)s hanya oleh pemiliknya (%(o)s) atau wakil yang ditunjuknya.") % {
                "s": sender.name, "o": sender.owner.display_name() if sender.owner else "—"}
    elif step.user_id and step.user_id != user.pk:
        return _("Langkah \"%(step)s\" menunggu %(name)s.") % {"step": step.label, "name": step.user.display_name()}
    elif not step.user_id and step.role != user.role:
        return _("Langkah \"%(step)s\" menunggu peran %(role)s.") % {"step": step.label,
                                                                      "role": Role(step.role).label}
    if draft.approvals.filter(decision=Approval.Decision.APPROVED, content_hash=draft.content_hash, by=user).exists():
        return _("Anda sudah menyetujui langkah sebelumnya; langkah berikut perlu orang lain.")
    return None


def pending_for(user: User) -> list[Draft]:
    """Drafts waiting for ``user``'s decision (the approvers' queue)."""
    if not has_capability(user, "blasts.approve"):
        return []
    drafts = Draft.objects.filter(state=Draft.State.REVIEW).select_related(
        "sender", "author", "materi__unit").defer("audience_set")
    return [d for d in drafts if why_cannot_decide(user, d) is None]


# -- checks --------------------------------------------------------------------------------------


def in_quiet_hours(at: datetime) -> bool:
    spec = _conf("QUIET_HOURS", "21:00-06:00")
    if not spec:
        return False
    start_s, end_s = spec.split("-")
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    local = timezone.localtime(at).time()
    return (local >= start or local < end) if start > end else (start <= local < end)


def quiet_hours_end(at: datetime) -> datetime:
    """The first moment at or after ``at`` outside quiet hours."""
    probe = at
    for _i in range(24 * 4 + 1):  # quarter-hour steps, one day at most
        if not in_quiet_hours(probe):
            return probe
        local = timezone.localtime(probe)
        probe = local.replace(minute=(local.minute // 15) * 15, second=0, microsecond=0) + timedelta(minutes=15)
    return probe


def blackout_at(sender: SenderID, at: datetime) -> BlackoutPeriod | None:
    return BlackoutPeriod.objects.filter(senders=sender, starts_at__lte=at, ends_at__gt=at).first()


def earliest_release(draft: Draft, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    at = max(draft.send_at or now, now)
    if not draft.emergency and in_quiet_hours(at):
        at = quiet_hours_end(at)
    return at


def content_flags(draft: Draft) -> list[dict[str, str]]:
    """What a verifier should look at; not blocking (the verifier decides)."""
    flags: list[dict[str, str]] = []
    comp = composer.compose(draft.text)
    segs = max(comp.segments, comp.longest_segments)
    if segs > composer.WARN_SEGMENTS:
        flags.append({"kind": "segments", "text": _("Lebih dari satu segmen (%(n)d segmen); targetnya satu SMS "
                                                    "160 karakter GSM-7.") % {"n": segs}})
    if comp.encoding == "ucs2":
        flags.append({"kind": "ucs2", "text": _("Teks memakai UCS-2 (70 karakter per segmen).")})
    hits = composer.watch_hits(draft.text, WatchWord.objects.values_list("word", flat=True))
    if hits:
        flags.append({"kind": "watch", "text": _("Kata dalam daftar pantauan: %(w)s.") % {"w": ", ".join(hits)}})
    if composer.has_link(draft.text):
        flags.append({"kind": "link", "text": _("Teks memuat tautan; pastikan tautannya resmi dan benar.")})
    policy = policy_for(draft.sender)
    if policy.require_opt_out_line and not composer.has_opt_out_line(draft.text, policy.opt_out_words.split(",")):
        flags.append({"kind": "opt_out", "text": _("Kebijakan sender ID ini meminta baris berhenti berlangganan "
                                                   "(mis. \"Balas BERHENTI\").")})
    if draft.emergency:
        flags.append({"kind": "emergency", "text": _("Blast DARURAT: %(r)s") % {"r": draft.emergency_reason}})
    return flags


def draft_errors(draft: Draft, *, now: datetime | None = None, for_submit: bool = False) -> list[str]:
    """Blocking problems: with any of these the draft cannot go up the chain."""
    now = now or timezone.now()
    errors: list[str] = []
    if not draft.text.strip():
        errors.append(_("Teks SMS kosong."))
    unknown = composer.unknown_fields(draft.text)
    if unknown:
        errors.append(_("Kolom personalisasi tidak dikenal: %(f)s. Yang tersedia: %(ok)s.")
                      % {"f": ", ".join("{" + f + "}" for f in unknown),
                         "ok": ", ".join("{" + f + "}" for f in composer.FIELDS)})
    comp = composer.compose(draft.text)
    if comp.needs_justification and not draft.justification.strip():
        errors.append(_("Naskah lebih dari dua segmen: tuliskan alasannya, atau persingkat."))
    if draft.send_at and draft.send_at < now - timedelta(minutes=1) and for_submit:
        errors.append(_("Waktu kirim sudah lewat; pilih waktu yang akan datang atau kosongkan untuk segera."))
    if draft.window_end and draft.window_end <= max(draft.send_at or now, now):
        errors.append(_("Batas akhir kirim harus setelah waktu kirim."))
    if draft.emergency and not draft.emergency_reason.strip():
        errors.append(_("Blast darurat wajib disertai alasan."))
    if not draft.sender.is_active:
        errors.append(_("Sender ID %(s)s tidak aktif.") % {"s": draft.sender.name})
    if not draft.emergency:
        blk = blackout_at(draft.sender, earliest_release(draft, now))
        if blk is not None:
            errors.append(_("Masa tenang \"%(name)s\" (sampai %(end)s): %(sender)s hanya boleh mengirim blast darurat.")
                          % {"name": blk.name, "end": timezone.localtime(blk.ends_at).strftime("%d-%m-%Y %H:%M"),
                             "sender": draft.sender.name})
    if too_many_numbers(draft.audience):
        errors.append(_("Daftar %(n)d nomor terlalu panjang untuk naskah (maksimal %(max)d): jadikan impor kontak ke "
                        "grup baru dengan tombol \"Jadikan impor kontak\", atau buka Ubah lalu simpan.")
                      % {"n": len(draft.audience["numbers"]), "max": 10_000})
    job = draft.import_job
    if job is not None and job.state != "done":
        errors.append(_("Daftar nomor unggahan sedang diimpor ke grup \"%(g)s\" (%(s)s); ajukan setelah impornya "
                        "selesai.") % {"g": job.group.name if job.group else "—", "s": job.get_state_display()})
    if for_submit and not too_many_numbers(draft.audience):
        counts = audience_counts(draft.audience)
        if counts["deliverable"] == 0:
            errors.append(_("Penerima kosong: tidak ada nomor yang dapat dikirimi. Pilih grup, segmen, wilayah "
                            "atau unggah nomor."))
    return errors


# -- audience and cost ---------------------------------------------------------------------------


def _resolve(audience: dict[str, Any]) -> Any:
    from warta.contacts.audience import resolve

    return resolve(groups=audience.get("groups") or [], segments=audience.get("segments") or [],
                   regions=audience.get("regions") or [], numbers=audience.get("numbers") or [])


def too_many_numbers(audience: dict[str, Any]) -> bool:
    """More typed/uploaded numbers than the composer resolves: they belong in a group (import)."""
    from warta.contacts.audience import MAX_EXTRA_NUMBERS

    return len(audience.get("numbers") or []) > MAX_EXTRA_NUMBERS


def audience_counts(audience: dict[str, Any]) -> dict[str, Any]:
    """Deliverable, excluded by reason, and deliverable per operator. Never raises: a list too
    long to count is reported as such (``too_many``), so no page fails on it."""
    if not any(audience.get(k) for k in ("groups", "segments", "regions", "numbers")):
        return {"deliverable": 0, "excluded": {}, "excluded_labelled": [], "total": 0, "by_operator": {}}
    if too_many_numbers(audience):
        return {"deliverable": 0, "excluded": {}, "excluded_labelled": [], "total": len(audience["numbers"]),
                "by_operator": {}, "too_many": len(audience["numbers"])}
    aud = _resolve(audience)
    counts = aud.counts()
    by_op: Counter[str] = Counter(dict(aud.deliverable().values_list("operator").annotate(n=Count("pk"))
                                       .values_list("operator", "n")))
    for e164 in aud._extra_non_contacts():  # the numbers typed or uploaded that are not contacts
        by_op[str(parse_number(e164).operator)] += 1
    return {**counts.as_dict(), "excluded_labelled": counts.excluded_labelled(), "by_operator": dict(by_op)}


def deliverable_numbers(audience: dict[str, Any]) -> list[str]:
    """The deliverable numbers of ``audience`` now, sorted, each once."""
    if not any(audience.get(k) for k in ("groups", "segments", "regions", "numbers")):
        return []
    numbers: set[str] = set()
    for batch in _resolve(audience).iter_deliverable(batch_size=10_000):
        numbers.update(e164 for _cid, e164, _op in batch)
    return sorted(numbers)


def freeze_audience(numbers: list[str]) -> tuple[int, str, bytes]:
    """(size, SHA-256 of the sorted numbers, the numbers zlib-compressed) of a sorted list."""
    blob = "\n".join(numbers).encode()
    return len(numbers), hashlib.sha256(blob).hexdigest(), zlib.compress(blob, 6)


def frozen_numbers(draft: Draft) -> set[str]:
    if not draft.audience_set:
        return set()
    return set(zlib.decompress(bytes(draft.audience_set)).decode().split("\n")) - {""}


def audience_tolerance() -> tuple[int, float]:
    """(numbers that may join, percent that may drop out) between approval and release."""
    return int(_conf("AUDIENCE_ADDED_TOLERANCE", 0)), float(_conf("AUDIENCE_REMOVED_TOLERANCE_PERCENT", 5))


def _within_tolerance(added: int, removed: int, approved: int) -> bool:
    may_add, may_drop = audience_tolerance()
    return added <= may_add and removed * 100 <= may_drop * max(approved, 1)


def check_audience(draft: Draft, actor: User | None = None) -> set[str]:
    """Before release, for a draft approved before the set was frozen (no ``audience_hash``):
    the approvers saw a count, so the same count goes; anything else asks for approval again.
    Drafts with a frozen set are checked during the freeze itself (``release``)."""
    current = deliverable_numbers(draft.audience)
    approved = (draft.audience_counts or {}).get("deliverable")
    if approved == len(current):
        return set(current)
    _reopen_for_audience(draft, actor, added=max(len(current) - (approved or 0), 0),
                         removed=max((approved or 0) - len(current), 0), current=current)
    return set()  # not reached: _reopen_for_audience raises


def _reopen_for_audience(draft: Draft, actor: User | None, *, added: int, removed: int,
                         current: list[str] | None = None) -> None:
    """The audience changed beyond the tolerance: freeze the new set, void every approval, put
    the draft back up its chain with the difference for the approvers, and say so."""
    if current is None:
        current = deliverable_numbers(draft.audience)
    size, digest, blob = freeze_audience(current)
    change = {"added": added, "removed": removed, "approved": draft.audience_size, "now": size,
              "at": timezone.now().isoformat()}
    with transaction.atomic():
        locked = Draft.objects.select_for_update().get(pk=draft.pk)
        if locked.state != Draft.State.APPROVED:
            raise WorkflowError(_("Naskah ini tidak lagi menunggu pengiriman."))
        locked.state = Draft.State.REVIEW
        locked.approved_hash = ""
        locked.approved_at = None
        locked.version += 1
        locked.audience_size, locked.audience_hash, locked.audience_set = size, digest, blob
        locked.audience_counts = audience_counts(locked.audience)
        locked.audience_change = change
        locked.save()
        _set_materi_status(locked.materi, Materi.Status.PROCESSING)
        audit.record("blasts.audience_changed", locked, actor=actor,
                     changes={"added": added, "removed": removed, "approved": change["approved"], "now": size,
                              "hash": [draft.audience_hash, digest]})
    message = _("Penerima berubah sejak disetujui (%(a)d baru, %(r)d tidak lagi dapat dikirimi); naskah "
                "\"%(t)s\" kembali menunggu persetujuan.") % {"a": added, "r": removed, "t": draft.title}
    first = next_step(locked)
    notify({*_step_users(first), locked.author} if first else {locked.author}, message, locked)
    raise WorkflowError(message)


def tariffs() -> dict[str, Decimal]:
    base = {k: Decimal(str(v)) for k, v in {**DEFAULT_TARIFFS, **_conf("TARIFFS", {})}.items()}
    base.update({t.operator: t.price_per_segment for t in Tariff.objects.all()})
    return base


def cost_estimate(text: str, by_operator: dict[str, int]) -> dict[str, Any]:
    comp = composer.compose(text)
    segments = max(comp.segments, comp.longest_segments, 1)
    prices = tariffs()
    rows = []
    total = Decimal(0)
    for op, n in sorted(by_operator.items()):
        price = prices.get(op, prices.get("unknown", Decimal(0)))
        cost = price * segments * n
        total += cost
        rows.append({"operator": op, "recipients": n, "price": price, "cost": cost})
    return {"segments": segments, "rows": rows, "total": total}


def registered_operators(sender: SenderID, today: Any = None) -> set[str] | None:
    """Operators that deliver under ``sender``; None when the registry for it is not kept at all."""
    regs = list(sender.registrations.all())
    if not regs:
        return None
    today = today or timezone.localdate()
    return {r.operator for r in regs
            if r.status == SenderRegistration.Status.REGISTERED and (r.expires_on is None or r.expires_on >= today)}


# -- drafts --------------------------------------------------------------------------------------

_DRAFT_FIELDS = ("title", "text", "justification", "audience", "test_numbers", "send_at", "window_end",
                 "emergency", "emergency_reason", "sender", "materi", "import_job")


def usable_senders(user: User) -> QuerySet[SenderID]:
    if not has_capability(user, "blasts.compose"):
        return SenderID.objects.none()
    # The SMS Center's long number answers citizens (inbox); blasts go out under the masks.
    center = settings.WARTA.get("SMS_CENTER_NUMBER", "")
    national = "0" + center[3:] if center.startswith("+62") else center
    return SenderID.objects.filter(is_active=True).exclude(name=national)


def _check_sender(user: User, sender: SenderID) -> None:
    if not usable_senders(user).filter(pk=sender.pk).exists():
        raise WorkflowError(_("Anda tidak dapat memakai sender ID %(s)s.") % {"s": sender.name})


def _version(draft: Draft, actor: User) -> None:
    DraftVersion.objects.create(draft=draft, number=draft.version, content=draft.frozen_content()
                                | {"title": draft.title, "justification": draft.justification},
                                content_hash=draft.content_hash, created_by=actor)


def create_draft(author: User, **fields: Any) -> Draft:
    _require(author, "blasts.compose")
    _check_sender(author, fields["sender"])
    if not (fields.get("text") or "").strip():
        raise WorkflowError(_("Teks SMS kosong."))
    from .longlists import import_long_list

    fields = {k: v for k, v in import_long_list(author, fields).items() if k in _DRAFT_FIELDS}
    with transaction.atomic():
        draft = Draft(author=author, **fields)
        draft.emergency_reason = draft.emergency_reason if draft.emergency else ""
        draft.save()
        if draft.materi_id:
            take_materi(draft.materi, author)
        audit.record("blasts.draft_created", draft, actor=author,
                     changes={"sender": draft.sender.name, "materi": draft.materi_id, "hash": draft.content_hash})
    return draft


def _without_numbers(changes: dict[str, Any]) -> dict[str, Any]:
    """A draft's changes as the audit trail may hold them: it never holds a full number
    (docs/privacy.md), so typed audience numbers become a count and test numbers are masked."""
    from warta.sms.numbers import mask

    def audience(value: Any) -> Any:
        if isinstance(value, dict) and value.get("numbers"):
            return {**value, "numbers": len(value["numbers"])}
        return value

    def tests(value: Any) -> Any:
        if not value:
            return value
        good, bad = parse_test_numbers(str(value))
        return ", ".join([mask(n) for n in good] + ["…"] * len(bad))

    out = dict(changes)
    if "audience" in out:
        out["audience"] = [audience(v) for v in out["audience"]]
    if "test_numbers" in out:
        out["test_numbers"] = [tests(v) for v in out["test_numbers"]]
    return out


def update_draft(draft: Draft, actor: User, **fields: Any) -> Draft:
    """Change a draft. A change of frozen content in review or after approval sends it back."""
    _require(actor, "blasts.compose")
    if "sender" in fields:
        _check_sender(actor, fields["sender"])
    if "audience" in fields or fields.get("numbers_upload") is not None:
        from .longlists import import_long_list

        fields = import_long_list(actor, {"title": draft.title, "audience": draft.audience, **fields})
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state in (Draft.State.RELEASED, Draft.State.WITHDRAWN):
            raise WorkflowError(_("Naskah ini sudah %(s)s dan tidak dapat diubah.") % {"s": draft.get_state_display()})
        before = audit.snapshot(draft, list(_DRAFT_FIELDS))
        old_hash = draft.content_hash
        for k, v in fields.items():
            if k in _DRAFT_FIELDS:
                setattr(draft, k, v)
        if not draft.emergency:
            draft.emergency_reason = ""
        if not draft.text.strip():
            raise WorkflowError(_("Teks SMS kosong."))
        draft.content_hash = draft.compute_hash()
        reopened = draft.content_hash != old_hash and draft.state in (Draft.State.REVIEW, Draft.State.APPROVED)
        if reopened:
            was = draft.state
            draft.state = Draft.State.DRAFT
            draft.approved_hash = ""
            draft.approved_at = None
            draft.version += 1
            _set_materi_status(draft.materi, Materi.Status.PROCESSING)
        draft.save()
        changes = _without_numbers(audit.diff(before, audit.snapshot(draft, list(_DRAFT_FIELDS))))
        audit.record("blasts.draft_changed", draft, actor=actor, changes=changes)
        if reopened:
            audit.record("blasts.draft_reopened", draft, actor=actor,
                         changes={"state": [was, "draft"], "hash": [old_hash, draft.content_hash]})
    if reopened:
        approvers = {a.by for a in draft.approvals.filter(decision=Approval.Decision.APPROVED)}
        notify(approvers, _("Naskah \"%(t)s\" diubah setelah disetujui; persetujuan lama tidak berlaku.")
               % {"t": draft.title}, draft)
    return draft


def submit_for_review(draft: Draft, actor: User, now: datetime | None = None) -> Draft:
    _require(actor, "blasts.compose")
    errors = draft_errors(draft, now=now, for_submit=True)
    if errors:
        raise WorkflowError(errors[0], errors)
    size, digest, blob = freeze_audience(deliverable_numbers(draft.audience))
    seen = draft.content_hash
    draft.audience_hash = digest
    with transaction.atomic():
        n = Draft.objects.filter(pk=draft.pk, state=Draft.State.DRAFT, content_hash=seen).update(
            state=Draft.State.REVIEW, submitted_at=timezone.now(), audience_counts=audience_counts(draft.audience),
            audience_size=size, audience_hash=digest, audience_set=blob, audience_change={},
            content_hash=draft.compute_hash())
        if not n:
            raise WorkflowError(_("Naskah ini sudah diajukan atau diubah orang lain; muat ulang halaman."))
        draft.refresh_from_db()
        _version(draft, actor)
        audit.record("blasts.draft_submitted", draft, actor=actor,
                     changes={"version": draft.version, "hash": draft.content_hash,
                              "audience": {"size": size, "hash": digest}})
    step = next_step(draft)
    if step is not None:
        notify(_step_users(step).exclude(pk=draft.author_id),
               _("Naskah \"%(t)s\" (%(s)s) menunggu persetujuan Anda.") % {"t": draft.title, "s": draft.sender.name},
               draft)
    return draft


def _decision_guard(draft: Draft, actor: User, seen_hash: str | None) -> Draft:
    draft = Draft.objects.select_related("sender", "author").get(pk=draft.pk)
    if seen_hash is not None and seen_hash != draft.content_hash:
        raise WorkflowError(_("Naskah berubah sejak Anda membukanya; periksa versi terbaru sebelum memutuskan."))
    reason = why_cannot_decide(actor, draft)
    if reason:
        raise WorkflowError(reason)
    return draft


def approve(draft: Draft, actor: User, comment: str = "", *, seen_hash: str | None = None,
            now: datetime | None = None) -> Draft:
    """Approve the next step. The last step freezes the draft and releases it when it is due."""
    if (draft.state == Draft.State.APPROVED or draft.state == Draft.State.RELEASED) and \
            draft.approvals.filter(by=actor, decision=Approval.Decision.APPROVED, content_hash=draft.content_hash).exists():
        return draft  # a double click: the first click did it all
    draft = _decision_guard(draft, actor, seen_hash)
    step = next_step(draft)
    assert step is not None
    if is_last_step(step) and not has_second_factor(actor):
        raise WorkflowError(_("Persetujuan akhir memerlukan verifikasi dua langkah (TOTP). Aktifkan di halaman "
                              "Dua langkah (/akun/dua-langkah/daftar/) atau masuk ulang dengan kode TOTP, lalu "
                              "setujui lagi."))
    try:
        with transaction.atomic():
            Approval.objects.create(draft=draft, step=step.position, step_label=step.label, version=draft.version,
                                    content_hash=draft.content_hash, decision=Approval.Decision.APPROVED,
                                    comment=comment.strip(), by=actor)
            audit.record("blasts.draft_approved", draft, actor=actor,
                         changes={"step": step.label, "version": draft.version, "hash": draft.content_hash})
            final = next_step(draft) is None
            if final:
                n = Draft.objects.filter(pk=draft.pk, state=Draft.State.REVIEW, content_hash=draft.content_hash).update(
                    state=Draft.State.APPROVED, approved_hash=draft.content_hash, approved_at=timezone.now())
                if not n:
                    raise WorkflowError(_("Naskah berubah saat disetujui; periksa lagi."))
                _set_materi_status(draft.materi, Materi.Status.SCHEDULED)
    except IntegrityError:
        draft.refresh_from_db()
        return draft  # the same step of the same content was approved by a concurrent click
    draft.refresh_from_db()
    if draft.state == Draft.State.APPROVED:
        notify([draft.author], _("Naskah \"%(t)s\" disetujui.") % {"t": draft.title}, draft)
        release_if_due(draft, now=now)
        draft.refresh_from_db()
    else:
        following = next_step(draft)
        if following is not None:
            notify(_step_users(following).exclude(pk__in=[draft.author_id, actor.pk]),
                   _("Naskah \"%(t)s\" (%(s)s) menunggu persetujuan Anda.") % {"t": draft.title,
                                                                              "s": draft.sender.name}, draft)
    return draft


def send_back(draft: Draft, actor: User, comment: str, *, seen_hash: str | None = None) -> Draft:
    if not (comment or "").strip():
        raise WorkflowError(_("Tuliskan apa yang perlu diperbaiki."))
    draft = _decision_guard(draft, actor, seen_hash)
    step = next_step(draft)
    with transaction.atomic():
        n = Draft.objects.filter(pk=draft.pk, state=Draft.State.REVIEW).update(state=Draft.State.DRAFT)
        if not n:
            raise WorkflowError(_("Naskah ini tidak sedang menunggu persetujuan."))
        Approval.objects.create(draft=draft, step=step.position if step else None, step_label=step.label if step else "",
                                version=draft.version, content_hash=draft.content_hash,
                                decision=Approval.Decision.SENT_BACK, comment=comment.strip(), by=actor)
        audit.record("blasts.draft_sent_back", draft, actor=actor, changes={"comment": comment.strip()[:500]})
    notify([draft.author], _("Naskah \"%(t)s\" dikembalikan: %(c)s") % {"t": draft.title, "c": comment.strip()}, draft)
    draft.refresh_from_db()
    return draft


def add_comment(draft: Draft, actor: User, comment: str) -> Approval:
    if not (has_capability(actor, "blasts.approve") or has_capability(actor, "blasts.compose")):
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))
    if not (comment or "").strip():
        raise WorkflowError(_("Komentar kosong."))
    a = Approval.objects.create(draft=draft, step=None, version=draft.version, content_hash=draft.content_hash,
                                decision=Approval.Decision.COMMENT, comment=comment.strip(), by=actor)
    audit.record("blasts.draft_commented", draft, actor=actor, changes={"comment": comment.strip()[:500]})
    return a


def withdraw(draft: Draft, actor: User) -> Draft:
    _require(actor, "blasts.compose")
    n = Draft.objects.filter(pk=draft.pk, state__in=[Draft.State.DRAFT, Draft.State.REVIEW, Draft.State.APPROVED]
                             ).update(state=Draft.State.WITHDRAWN)
    if not n:
        raise WorkflowError(_("Naskah ini sudah dikirim ke antrean; batalkan blast-nya dari konsol."))
    audit.record("blasts.draft_withdrawn", draft, actor=actor)
    draft.refresh_from_db()
    return draft


def parse_test_numbers(raw: str) -> tuple[list[str], list[str]]:
    good, bad = [], []
    for token in raw.replace(";", ",").replace("\n", ",").split(","):
        token = token.strip()
        if not token:
            continue
        info = parse_number(token)
        (good if info.kind is NumberKind.MOBILE and info.e164 else bad).append(info.e164 or token)
    return good, bad


# -- release -------------------------------------------------------------------------------------


def release_blocker(draft: Draft, now: datetime) -> str | None:
    """Why an approved draft may not be released at ``now`` (None: it may)."""
    if earliest_release(draft, now) > now:
        if draft.send_at and draft.send_at > now:
            return _("Terjadwal %(t)s WIB.") % {"t": timezone.localtime(draft.send_at).strftime("%d-%m-%Y %H:%M")}
        return _("Jam tenang: dikirim %(t)s WIB.") % {
            "t": timezone.localtime(earliest_release(draft, now)).strftime("%d-%m-%Y %H:%M")}
    if not draft.emergency:
        blk = blackout_at(draft.sender, now)
        if blk is not None:
            return _("Masa tenang \"%(n)s\": hanya blast darurat.") % {"n": blk.name}
        for check in RELEASE_CHECKS:  # e.g. the unit's monthly SMS budget (registered by reports)
            why = check(draft, now)
            if why:
                return why
    return None


#: Checks that apps above blasts add to a normal blast's release (``register_release_check``):
#: each takes (draft, now) and returns why the draft is held, or None. Emergencies skip them.
RELEASE_CHECKS: list[Callable[[Draft, datetime], str | None]] = []


def register_release_check(check: Callable[[Draft, datetime], str | None]) -> None:
    if check not in RELEASE_CHECKS:
        RELEASE_CHECKS.append(check)


def _recipients(draft: Draft, allowed_ops: set[str] | None, skipped: Counter[str],
                only: set[str] | None = None, seen: set[str] | None = None) -> Iterator[tuple[str, str, str]]:
    """(e164, operator, text) for each deliverable recipient that is also in ``only`` (the frozen
    set), noting every deliverable number in ``seen``: the audience has already checked the
    numbers, so the outbox takes them as prepared."""
    from warta.contacts.models import Contact

    personalise = bool(composer.fields_in(draft.text))
    for batch in _resolve(draft.audience).iter_deliverable(batch_size=5000):
        extra: dict[int, tuple[str, str]] = {}
        if personalise:
            ids = [cid for cid, _e, _o in batch if cid is not None]
            for pk, name, region, level in Contact.objects.filter(pk__in=ids).values_list(
                    "pk", "name", "region__name", "region__level"):
                extra[pk] = (name, region if level == "kelurahan" else "")
        for cid, e164, operator in batch:
            if seen is not None:
                seen.add(e164)
            if only is not None and e164 not in only:
                continue  # not approved: joined a group after submit, or typed in since
            if allowed_ops is not None and operator not in allowed_ops:
                skipped[operator] += 1
                continue
            if personalise:
                name, kel = extra.get(cid, ("", "")) if cid is not None else ("", "")
                yield e164, operator, composer.render(draft.text, {"nama": name, "kelurahan": kel})
            else:
                yield e164, operator, draft.text


def release(draft: Draft, actor: User | None = None, now: datetime | None = None) -> Blast | None:
    """Freeze the approved draft into the outbox as its one blast. Idempotent: None when another
    call already released it (or it is no longer approved)."""
    now = now or timezone.now()
    draft.refresh_from_db()
    if draft.compute_hash() != draft.approved_hash:
        raise WorkflowError(_("Isi naskah berbeda dari yang disetujui; ajukan ulang untuk persetujuan."))
    if draft.window_end and draft.window_end <= now:
        Draft.objects.filter(pk=draft.pk, state=Draft.State.APPROVED).update(state=Draft.State.WITHDRAWN)
        audit.record("blasts.draft_expired", draft, actor=actor, changes={"window_end": draft.window_end.isoformat()})
        return None
    if draft.state != Draft.State.APPROVED:
        return None
    # The frozen set is checked in the same pass that writes the outbox (one resolution of the
    # audience, not two): a drift beyond the tolerance rolls the whole freeze back.
    frozen = frozen_numbers(draft) if draft.audience_hash else check_audience(draft, actor=actor)
    seen: set[str] = set()
    try:
        blast, summary = _freeze(draft, actor, now, frozen, seen)
    except _AudienceDrift as drift:
        _reopen_for_audience(draft, actor, added=drift.added, removed=drift.removed)
        raise  # not reached: _reopen_for_audience raises WorkflowError
    if blast is None:
        return None
    draft.refresh_from_db()
    notify([draft.author], _("Blast \"%(t)s\" masuk antrean: %(n)d penerima.") % {"t": draft.title,
                                                                               "n": summary["queued"]}, draft)
    return blast


class _AudienceDrift(Exception):
    def __init__(self, added: int, removed: int) -> None:
        super().__init__(f"audience drift +{added} -{removed}")
        self.added, self.removed = added, removed


def _freeze(draft: Draft, actor: User | None, now: datetime, frozen: set[str],
            seen: set[str]) -> tuple[Blast | None, dict[str, Any]]:
    with transaction.atomic():
        # The claim: one conditional UPDATE. On PostgreSQL a concurrent release blocks on the row
        # and then matches nothing; on SQLite writers are serialised. Either way one blast.
        n = Draft.objects.filter(pk=draft.pk, state=Draft.State.APPROVED, approved_hash=draft.content_hash,
                                 released_at__isnull=True, blast__isnull=True).update(released_at=now)
        if not n:
            return None, {}
        skipped: Counter[str] = Counter()
        allowed = registered_operators(draft.sender)
        blast, summary = outbox.create_blast(
            sender=draft.sender, text=composer.render(draft.text, {}) if composer.fields_in(draft.text) else draft.text,
            recipients=_recipients(draft, allowed, skipped, only=frozen, seen=seen), name=draft.title,
            priority=Blast.Priority.EMERGENCY if draft.emergency else Blast.Priority.NORMAL,
            valid_until=draft.window_end, actor=actor, audit_action="blasts.blast_released", prepared=True)
        removed = len(frozen - seen)
        if draft.audience_hash:
            added = len(seen - frozen)
            if not _within_tolerance(added, removed, len(frozen)):
                raise _AudienceDrift(added, removed)  # rolls back the claim, the blast and its rows
        summary = {"queued": summary["queued"], "invalid": len(summary["invalid"]),
                   "duplicates": summary["duplicates"], "not_registered": dict(skipped),
                   "emergency": draft.emergency, "approved_audience": draft.audience_size,
                   "no_longer_deliverable": removed}
        Draft.objects.filter(pk=draft.pk).update(state=Draft.State.RELEASED, blast=blast, release_summary=summary)
        _set_materi_status(draft.materi, Materi.Status.SENT)
        audit.record("blasts.draft_released", draft, actor=actor, changes={"blast": blast.pk, **summary})
    return blast, summary


def release_if_due(draft: Draft, actor: User | None = None, now: datetime | None = None) -> Blast | None:
    now = now or timezone.now()
    if draft.state != Draft.State.APPROVED or release_blocker(draft, now):
        return None
    return release(draft, actor=actor, now=now)


def release_due(now: datetime | None = None) -> list[Blast]:
    """The scheduler's step: release every approved draft whose time has come (emergency first)."""
    now = now or timezone.now()
    out = []
    for draft in Draft.objects.filter(state=Draft.State.APPROVED).defer("audience_set").order_by(
            "-emergency", "send_at", "id"):
        try:
            blast = release_if_due(draft, now=now)
        except WorkflowError as exc:
            log.warning("draft %s not released: %s", draft.pk, exc)
            continue
        if blast is not None:
            out.append(blast)
    return out


# -- console -------------------------------------------------------------------------------------

SENT_STATES = ("submitted", "delivered", "undelivered", "expired", "rejected", "unknown")
FAILED_STATES = ("undelivered", "rejected", "failed", "expired")


def summarise(counts: dict[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    final = sum(counts.get(s, 0) for s in OutboundMessage.FINAL)
    return {
        "counts": counts, "total": total,
        "queued": counts.get("queued", 0) + counts.get("sending", 0),
        "sent": sum(counts.get(s, 0) for s in SENT_STATES),
        "delivered": counts.get("delivered", 0),
        "failed": sum(counts.get(s, 0) for s in FAILED_STATES),
        "cancelled": counts.get("cancelled", 0) + counts.get("suppressed", 0),
        "final": final,
        "percent": round(100 * final / total) if total else 0,
    }


def _by_operator_rows(blast: Blast) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for op, state, n in (OutboundMessage.objects.filter(blast=blast).values_list("operator", "state")
                         .annotate(n=Count("id")).values_list("operator", "state", "n")):
        out.setdefault(op or "unknown", {})[state] = n
    return out


def by_operator(blast: Blast) -> dict[str, dict[str, int]]:
    """Messages per operator and state. A finished blast's figures no longer change: they are
    taken from the outbox once and kept on the blast. A running blast's are taken at most every
    30 s (shared by every viewer), not on each 2-second refresh of the console."""
    if blast.finished_at is not None:
        if blast.final_by_operator is None:
            blast.final_by_operator = _by_operator_rows(blast)
            Blast.objects.filter(pk=blast.pk).update(final_by_operator=blast.final_by_operator)
        return dict(blast.final_by_operator)
    from django.core.cache import cache

    key = f"warta:blast-by-operator:{blast.pk}"
    hit = cache.get(key)
    if hit is None:
        hit = _by_operator_rows(blast)
        cache.set(key, hit, 30)
    return dict(hit)


RECEIPT_WAIT_HOURS = (1, 720)


def set_receipt_wait(sender: SenderID, hours: int, actor: User | None) -> SenderID:
    """How long messages under ``sender`` wait for a delivery receipt before the engine expires
    them as "tidak ada laporan" (issue 10 item 3). Audited; the command line and the settings page
    both come here."""
    low, high = RECEIPT_WAIT_HOURS
    if not low <= hours <= high:
        raise WorkflowError(_("Batas tunggu laporan harus %(low)s–%(high)s jam (30 hari), bukan %(h)s.")
                            % {"low": low, "high": high, "h": hours})
    from warta.accounts import audit

    with transaction.atomic():
        before = SenderID.objects.select_for_update().get(pk=sender.pk).receipt_wait_hours
        SenderID.objects.filter(pk=sender.pk).update(receipt_wait_hours=hours)
        sender.receipt_wait_hours = hours
        audit.record("blasts.receipt_wait_changed", sender, actor=actor,
                     changes={"receipt_wait_hours": [before, hours]})
    return sender


CONSOLE_FAILURES = 50


def recent_failures(blast: Blast, limit: int = CONSOLE_FAILURES) -> list[dict[str, Any]]:
    """The newest messages of ``blast`` that ended in a failure, with what the SMSC or the
    transport said (the receipt's stat and err, or the SMPP status), numbers masked: the console's
    "why it did not arrive" list (index ``outbox_console_failures``). All of them are in the
    recipients' export."""
    from warta.sms.numbers import mask

    from .models import OutboundMessage

    S = OutboundMessage.State
    rows = (OutboundMessage.objects
            .filter(blast=blast, state__in=[S.UNDELIVERED, S.REJECTED, S.FAILED, S.EXPIRED])
            .order_by("-id")
            .values("id", "to", "operator", "state", "error", "status", "done_at")[:limit])
    labels = dict(S.choices)
    return [{"number": mask(r["to"]), "operator": r["operator"], "state": r["state"],
             "state_label": labels.get(r["state"], r["state"]), "error": r["error"], "status": r["status"],
             "at": r["done_at"]} for r in rows]


def console(blast: Blast, now: datetime | None = None) -> dict[str, Any]:
    """The console's figures: totals from the blast's counter rows (never a scan of its
    messages), the rate over the sending window (first accepted → last final, or now while it
    runs), the cost recorded at submit, and what the operator may still do."""
    from .models import OutboxCount

    now = now or timezone.now()
    data = summarise(outbox.status_counts(blast.pk))
    data["by_operator"] = {op: summarise(c) for op, c in sorted(by_operator(blast).items())}
    done = data["total"] - data["queued"]
    if blast.started_at is not None:
        end = blast.finished_at or now
        elapsed = max((end - blast.started_at).total_seconds(), 1.0)
        rate = done / elapsed if done else 0.0
    else:
        elapsed, rate = 0.0, 0.0
    data["rate"] = round(rate, 1)
    data["window_seconds"] = int(elapsed)
    running = blast.state == Blast.State.ACTIVE
    data["eta_seconds"] = int(data["queued"] / rate) if running and rate and data["queued"] else None
    data["finished"] = blast.finished_at is not None
    data["cost"] = OutboxCount.cost_total(blast.pk)
    data["quiet_until"] = quiet_hours_end(now) if blast.state == Blast.State.QUIET else None
    data["can_pause"] = blast.state in (Blast.State.ACTIVE, Blast.State.QUIET)
    data["can_resume"] = blast.state == Blast.State.PAUSED
    data["can_cancel"] = blast.state in (Blast.State.ACTIVE, Blast.State.PAUSED, Blast.State.QUIET)
    draft = getattr(blast, "draft", None) if hasattr(blast, "draft") else None
    data["not_registered"] = (draft.release_summary or {}).get("not_registered", {}) if draft else {}
    return data


def control(blast: Blast, action: str, actor: User) -> Blast:
    _require(actor, "blasts.compose")
    fn = {"pause": outbox.pause, "resume": outbox.resume, "cancel": outbox.cancel}.get(action)
    if fn is None:
        raise WorkflowError(_("Tindakan tidak dikenal."))
    try:
        return fn(blast, actor=actor)
    except outbox.OutboxError as exc:
        raise WorkflowError(str(exc)) from exc


def recipient_rows(blast: Blast, viewer: User) -> Iterator[list[Any]]:
    from warta.sms.numbers import mask

    full = has_capability(viewer, "numbers.view_full")
    for to, op, state, error, sent, done in (OutboundMessage.objects.filter(blast=blast).order_by("id")
                                             .values_list("to", "operator", "state", "error", "sent_at", "done_at")
                                             .iterator(chunk_size=5000)):
        yield [to if full else mask(to), op, state, error,
               timezone.localtime(sent).strftime("%Y-%m-%d %H:%M:%S") if sent else "",
               timezone.localtime(done).strftime("%Y-%m-%d %H:%M:%S") if done else ""]


RECIPIENT_HEADER = ["nomor", "operator", "status", "keterangan", "dikirim", "selesai"]


def record_export(blast: Blast, viewer: User, fmt: str) -> None:
    audit.record("blasts.recipients_exported", blast, actor=viewer,
                 changes={"format": fmt, "full_numbers": has_capability(viewer, "numbers.view_full")})


# -- what a unit sees -----------------------------------------------------------------------------


def unit_drafts(user: User) -> QuerySet[Draft]:
    """Released drafts of ``user``'s unit and the units below it, for the read-only pages of
    liaisons and analysts: a draft belongs to its materi's unit, or to its author's when it was
    written without materi."""
    if not has_capability(user, "blasts.view_unit") or user.unit is None:
        return Draft.objects.none()
    ids = user.unit.descendant_ids()
    return (Draft.objects.filter(blast__isnull=False)
            .filter(Q(materi__unit_id__in=ids) | Q(materi__isnull=True, author__unit_id__in=ids))
            .select_related("sender", "blast", "materi__unit").defer("audience_set").order_by("-released_at", "-id"))


def unit_figures(draft: Draft) -> dict[str, Any]:
    return summarise(outbox.status_counts(draft.blast_id)) if draft.blast_id else summarise({})


# -- history -------------------------------------------------------------------------------------


def history(user: User, *, sender: str = "", unit: str = "", date_from: Any = None, date_to: Any = None,
            text: str = "", state: str = "") -> QuerySet[Draft]:
    # The frozen recipient set can be megabytes per draft: lists never load it.
    qs = Draft.objects.select_related("sender", "author", "materi__unit", "blast").defer("audience_set")
    if sender:
        qs = qs.filter(sender__name=sender)
    if unit:
        qs = qs.filter(materi__unit__code=unit)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if text:
        qs = qs.filter(Q(text__icontains=text) | Q(title__icontains=text))
    if state:
        qs = qs.filter(state=state)
    return qs
