"""Test sends and the staff numbers they may go to (issue 11 item 1).

Theory of operation
-------------------
A test send lets the author see a draft on a real phone before approval; ``warta send`` lets an
administrator try a sender ID or a gateway connection from the command line. Unchecked, either is
a blast without approval: any text, under any sender ID, to any number. So both go through
``queue_test_message``, which holds the rules common to every test message (the mark, the cap),
and a draft's test send adds its own:

* **Visibly a test.** The text goes out as ``[UJI] …``, so nobody can pass it off as an
  announcement.
* **A few numbers.** At most ``MAX_TEST_NUMBERS`` distinct numbers; more is a blast, and a blast
  needs its approvals.

For a draft's test send (the web page), also:

* **Only staff phones.** A test goes only to numbers registered to active staff accounts, each
  proven by a six-digit code sent to that number through the normal outbox (under the SMS
  Center's long number, with the citizens' answers' priority). The code is stored as a keyed
  HMAC, expires after ``CODE_TTL``, dies after ``MAX_CODE_ATTEMPTS`` wrong tries; an account may
  ask for ``MAX_CODES_PER_DAY`` codes a day, one a minute. A number proven by one account cannot
  be claimed by another (a partial unique constraint).
* **Counted.** ``WARTA["TEST_SENDS_PER_USER_PER_DAY"]`` (default 5) per author and
  ``WARTA["TEST_SENDS_PER_DAY"]`` (default 30) for the whole office, per WIB day.
* **Seen.** Each test send is a ``DraftTestSend`` row shown on the verifiers' queue and the draft
  page, and an audit event with the text and the masked numbers.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import User
from warta.accounts.permissions import can_open, has_capability
from warta.sms.numbers import NumberKind, mask, parse_number

from . import composer, outbox
from .models import Blast, Draft, DraftTestSend, SenderID, StaffPhone

TEST_PREFIX = "[UJI] "
MAX_TEST_NUMBERS = 10
CODE_TTL = timedelta(minutes=10)
CODE_INTERVAL = timedelta(seconds=60)
MAX_CODE_ATTEMPTS = 5
MAX_CODES_PER_DAY = 5
# A second identical test send this soon after the first is a double click, not a new request.
DOUBLE_SUBMIT_SECONDS = 10


class TestSendError(Exception):
    """A test send or a phone verification refused; the message says why and what to do."""

    __test__ = False  # not a pytest class
    permanent = True


def _conf(key: str, default: int) -> int:
    return int(getattr(settings, "WARTA", {}).get(key, default))


# -- staff phones --------------------------------------------------------------------------------


def _code_hash(phone: StaffPhone, code: str) -> str:
    return salted_hmac("warta.blasts.staff-phone", f"{phone.user_id}:{phone.e164}:{code}",
                       algorithm="sha256").hexdigest()


def _center_sender() -> SenderID:
    """The SMS Center's long number as a sender ID (as the inbox answers citizens)."""
    center = str(getattr(settings, "WARTA", {}).get("SMS_CENTER_NUMBER", "+622132881818"))
    name = "0" + center[3:] if center.startswith("+62") else center[:11]
    sender, _created = SenderID.objects.get_or_create(
        name=name, defaults={"description": "SMS Center (nomor panjang) — balasan kotak masuk"})
    return sender


def register_phone(user: User, raw: str, now: datetime | None = None) -> StaffPhone:
    """Register (or change) ``user``'s own number and send it a verification code."""
    now = now or timezone.now()
    if not can_open(user, "blasts"):
        raise TestSendError(_("Hanya staf pengelola blast yang mendaftarkan nomor uji."))
    info = parse_number(raw or "")
    if info.kind is not NumberKind.MOBILE or not info.e164:
        raise TestSendError(_("Nomor %(n)s bukan nomor ponsel Indonesia yang valid; tulis seperti 0812xxxxxxxx.")
                            % {"n": raw})
    if StaffPhone.objects.filter(e164=info.e164, verified_at__isnull=False).exclude(user=user).exists():
        raise TestSendError(_("Nomor ini sudah terdaftar pada akun staf lain."))
    with transaction.atomic():
        phone, _created = StaffPhone.objects.select_for_update().get_or_create(user=user, defaults={"e164": info.e164})
        today = timezone.localdate(now)
        sent_today = phone.codes_sent if phone.codes_sent_on == today else 0
        if phone.code_sent_at and now - phone.code_sent_at < CODE_INTERVAL:
            raise TestSendError(_("Kode baru saja dikirim; tunggu satu menit sebelum meminta lagi."))
        if sent_today >= MAX_CODES_PER_DAY:
            raise TestSendError(_("Batas %(n)d kode per hari tercapai; coba lagi besok.") % {"n": MAX_CODES_PER_DAY})
        code = f"{secrets.randbelow(10**6):06d}"
        if phone.e164 != info.e164:
            phone.e164 = info.e164
        phone.verified_at = None
        phone.code_hash = _code_hash(phone, code)
        phone.code_sent_at = now
        phone.code_attempts = 0
        phone.codes_sent_on, phone.codes_sent = today, sent_today + 1
        phone.save()
        # The code travels only in the recipient's own row of the outbox; the blast's text, which
        # consoles and lists show, is a placeholder.
        outbox.create_blast(
            sender=_center_sender(), text=_("Kode verifikasi Warta: ******"),
            recipients=[(info.e164, _("Kode verifikasi nomor uji Warta: %(c)s. Berlaku 10 menit. Jangan berikan "
                                      "kepada siapa pun.") % {"c": code})],
            name=_("Kode verifikasi nomor uji"), priority=Blast.Priority.REPLY, actor=user,
            audit_action="blasts.staff_phone_code_queued")
        audit.record("blasts.staff_phone_code_sent", phone, actor=user, changes={"number": mask(info.e164)})
    return phone


def verify_phone(user: User, code: str, now: datetime | None = None) -> StaffPhone:
    now = now or timezone.now()
    with transaction.atomic():
        phone = StaffPhone.objects.select_for_update().filter(user=user).first()
        if phone is None or not phone.code_hash:
            raise TestSendError(_("Minta kode verifikasi dulu."))
        if phone.code_sent_at is None or now - phone.code_sent_at > CODE_TTL:
            raise TestSendError(_("Kode sudah kedaluwarsa; minta kode baru."))
        if phone.code_attempts >= MAX_CODE_ATTEMPTS:
            raise TestSendError(_("Terlalu banyak kode salah; minta kode baru."))
        wrong = not hmac.compare_digest(phone.code_hash, _code_hash(phone, (code or "").strip()))
        if wrong:
            # Committed with this block; the refusal is raised after it, so the count stays.
            phone.code_attempts += 1
            phone.save(update_fields=["code_attempts"])
            audit.record("blasts.staff_phone_code_failed", phone, actor=user,
                         changes={"number": mask(phone.e164), "attempts": phone.code_attempts})
        else:
            phone.verified_at = now
            phone.code_hash = ""
            try:
                with transaction.atomic():
                    phone.save(update_fields=["verified_at", "code_hash"])
            except IntegrityError:
                raise TestSendError(_("Nomor ini sudah terdaftar pada akun staf lain.")) from None
            audit.record("blasts.staff_phone_verified", phone, actor=user, changes={"number": mask(phone.e164)})
    if wrong:
        raise TestSendError(_("Kode salah; periksa SMS terakhir dari Warta."))
    return phone


def remove_phone(user: User) -> None:
    phone = StaffPhone.objects.filter(user=user).first()
    if phone is not None:
        audit.record("blasts.staff_phone_removed", phone, actor=user, changes={"number": mask(phone.e164)})
        phone.delete()


def verified_phones() -> QuerySet[StaffPhone]:
    """The numbers a test may go to: verified, of active staff accounts."""
    return StaffPhone.objects.filter(verified_at__isnull=False, user__is_active=True).select_related("user")


def check_test_numbers(raw: str) -> tuple[list[str], list[str]]:
    """(numbers in E.164, errors) for a draft's test numbers: each must be a verified staff phone."""
    from .services import parse_test_numbers

    good, bad = parse_test_numbers(raw or "")
    good = list(dict.fromkeys(good))  # the cap counts distinct numbers, as queue_test_message does
    errors = []
    if bad:
        errors.append(_("Nomor uji tidak valid: %(n)s.") % {"n": ", ".join(bad)})
    if len(good) > MAX_TEST_NUMBERS:
        errors.append(_("Nomor uji maksimal %(n)d.") % {"n": MAX_TEST_NUMBERS})
    staff = set(verified_phones().filter(e164__in=good).values_list("e164", flat=True))
    strangers = [n for n in good if n not in staff]
    if strangers:
        errors.append(_("Kirim uji hanya ke nomor staf yang terverifikasi; %(n)s bukan. Staf mendaftarkan "
                        "nomornya di Naskah & Blast → Nomor uji saya.") % {"n": ", ".join(mask(n) for n in strangers)})
    return good, errors


# -- test sends ----------------------------------------------------------------------------------


def marked(text: str) -> str:
    """``text`` as a test message goes out: behind ``[UJI] `` (once, however often it is marked)."""
    return text if text.startswith(TEST_PREFIX) else TEST_PREFIX + text


def queue_test_message(
    *,
    sender: SenderID | str,
    text: str,
    recipients: Iterable[str],
    name: str,
    actor: User | None,
    audit_action: str,
    priority: int = Blast.Priority.NORMAL,
) -> tuple[Blast, dict[str, Any]]:
    """Queue a test message: ``text`` marked ``[UJI]`` to at most ``MAX_TEST_NUMBERS`` distinct
    valid mobile numbers, as a small blast. The one place these rules live: a draft's test send
    (``test_send``) and ``warta send`` both come here.

    Refuses (``TestSendError``, nothing queued) empty text, more numbers than the cap, or no valid
    number; an unknown or inactive sender ID is refused by the outbox (``OutboxError``). Returns
    the blast and the outbox's summary, whose ``invalid`` and ``duplicates`` count the numbers
    given here.
    """
    if not text.strip():
        raise TestSendError(_("Teks SMS uji kosong; tulis isi pesannya."))
    numbers: list[str] = []
    invalid: list[str] = []
    duplicates = 0
    for raw in recipients:
        info = parse_number(raw)
        if info.kind is not NumberKind.MOBILE or not info.e164:
            invalid.append(raw)
        elif info.e164 in numbers:
            duplicates += 1
        elif len(numbers) >= MAX_TEST_NUMBERS:
            # Stops reading here: a file of a million numbers is refused as fast as eleven.
            raise TestSendError(_("SMS uji paling banyak ke %(n)d nomor. Untuk lebih banyak penerima, buat naskah "
                                  "blast dan ajukan untuk persetujuan.") % {"n": MAX_TEST_NUMBERS})
        else:
            numbers.append(info.e164)
    if not numbers:
        raise TestSendError(_("Tidak ada nomor ponsel yang valid untuk SMS uji; tulis seperti 0812xxxxxxxx."))
    blast, summary = outbox.create_blast(sender=sender, text=marked(text), recipients=numbers, name=name,
                                         priority=priority, actor=actor, audit_action=audit_action)
    summary.update(invalid=invalid, duplicates=duplicates)
    return blast, summary


def _day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def remaining_today(user: User, now: datetime | None = None) -> int:
    now = now or timezone.now()
    since = _day_start(now)
    mine = DraftTestSend.objects.filter(by=user, at__gte=since).count()
    office = DraftTestSend.objects.filter(at__gte=since).count()
    return max(0, min(_conf("TEST_SENDS_PER_USER_PER_DAY", 5) - mine, _conf("TEST_SENDS_PER_DAY", 30) - office))


def test_send(draft: Draft, actor: User, now: datetime | None = None) -> Blast:
    """Send the draft, marked ``[UJI]`` and rendered for a sample recipient, to its test numbers."""
    from .services import WorkflowError, _require, draft_errors

    now = now or timezone.now()
    _require(actor, "blasts.compose")
    if draft.state not in (Draft.State.DRAFT, Draft.State.REVIEW):
        raise WorkflowError(_("Kirim uji hanya sebelum persetujuan selesai."))
    good, errors = check_test_numbers(draft.test_numbers)
    if errors:
        raise WorkflowError(errors[0], errors)
    if not good:
        raise WorkflowError(_("Isi nomor uji dulu (nomor staf terverifikasi, maksimal %(n)d).") % {"n": MAX_TEST_NUMBERS})
    if composer.unknown_fields(draft.text):
        raise WorkflowError(draft_errors(draft)[0])
    text = marked(composer.render(draft.text, {}))
    name = _("[UJI] %(t)s") % {"t": draft.title}
    with transaction.atomic():
        # Under the draft's row lock: the same person's identical test of the last seconds is the
        # answer to a double click, and two clicks cannot both pass the daily limit.
        Draft.objects.select_for_update().filter(pk=draft.pk).first()
        recent = Blast.objects.filter(
            sender=draft.sender, name=name, text=text, created_by=actor,
            created_at__gte=now - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).order_by("-created_at").first()
        if recent is not None:
            return recent
        if remaining_today(actor, now) <= 0:
            raise WorkflowError(_("Batas kirim uji hari ini tercapai (%(u)d per orang, %(d)d per hari untuk semua "
                                  "staf). Ajukan naskah untuk persetujuan, atau coba lagi besok.")
                                % {"u": _conf("TEST_SENDS_PER_USER_PER_DAY", 5), "d": _conf("TEST_SENDS_PER_DAY", 30)})
        try:
            blast, _summary = queue_test_message(sender=draft.sender, text=text, recipients=good, name=name,
                                                 actor=actor, audit_action="blasts.test_blast_created")
        except TestSendError as exc:
            raise WorkflowError(str(exc)) from None
        owners = {p.e164: p.user.display_name() for p in verified_phones().filter(e164__in=good)}
        recipients = [{"name": owners.get(n, ""), "number": mask(n)} for n in good]
        DraftTestSend.objects.create(draft=draft, blast=blast, by=actor, recipients=recipients, text=text)
        audit.record("blasts.test_sent", draft, actor=actor,
                     changes={"sender": draft.sender.name, "text": text, "to": recipients, "blast": blast.pk})
    return blast


def recent_test_sends(days: int = 7) -> QuerySet[DraftTestSend]:
    """For the verifiers' queue: every test send of the last ``days`` days."""
    return DraftTestSend.objects.filter(at__gte=timezone.now() - timedelta(days=days)).select_related(
        "draft__sender", "by")


def can_see_test_sends(user: Any) -> bool:
    return has_capability(user, "blasts.approve") or has_capability(user, "blasts.configure")
