"""Demo data, created idempotently: the whole product on a fresh clone (`make run`).

Units, one user per role, the four sender IDs, 600 made-up contacts, routing rules that send
citizens' complaints to the units that act on them, a few citizens' messages (one of them an
overdue ticket), and blasts in each stage: one finished (released at once; the demo engine sends
it to the simulator, which reports some messages undelivered, so the console shows failures),
one scheduled for tomorrow and one waiting for the verifier. Each part is its own function so a
later part (e.g. topic routing rules) can be added beside it without touching the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from warta.accounts import audit
from warta.accounts.models import Role, Unit, UnitKind, User
from warta.blasts.models import SenderID

DEMO_PASSWORD = "Warta-Demo-2026"

# (code, name, kind, parent code)
UNITS: list[tuple[str, str, str, str | None]] = [
    ("diskominfotik", "Dinas Komunikasi, Informatika dan Kehumasan (Diskominfotik)", UnitKind.DINAS, None),
    ("dinkes", "Dinas Kesehatan", UnitKind.SKPD, None),
    ("dlh", "Dinas Lingkungan Hidup", UnitKind.SKPD, None),
    ("dishub", "Dinas Perhubungan", UnitKind.SKPD, None),
    ("bpbd", "Badan Penanggulangan Bencana Daerah (BPBD)", UnitKind.SKPD, None),
    ("binamarga", "Dinas Bina Marga", UnitKind.SKPD, None),
    ("jakpus", "Kota Administrasi Jakarta Pusat", UnitKind.KOTA, None),
    ("jakut", "Kota Administrasi Jakarta Utara", UnitKind.KOTA, None),
    ("jakbar", "Kota Administrasi Jakarta Barat", UnitKind.KOTA, None),
    ("jaksel", "Kota Administrasi Jakarta Selatan", UnitKind.KOTA, None),
    ("jaktim", "Kota Administrasi Jakarta Timur", UnitKind.KOTA, None),
    ("kepseribu", "Kabupaten Administrasi Kepulauan Seribu", UnitKind.KOTA, None),
    ("rsud-tarakan", "RSUD Tarakan", UnitKind.UKPD, "dinkes"),
    ("puskesmas-gambir", "Puskesmas Kecamatan Gambir", UnitKind.UKPD, "dinkes"),
    ("sudin-lh-jakut", "Suku Dinas Lingkungan Hidup Jakarta Utara", UnitKind.UKPD, "dlh"),
    ("sudin-hub-jaksel", "Suku Dinas Perhubungan Jakarta Selatan", UnitKind.UKPD, "dishub"),
    ("pusdatin-bpbd", "Pusat Data dan Informasi Kebencanaan", UnitKind.UKPD, "bpbd"),
    ("sudin-bm-jaktim", "Suku Dinas Bina Marga Jakarta Timur", UnitKind.UKPD, "binamarga"),
    ("kec-gambir", "Kecamatan Gambir", UnitKind.UKPD, "jakpus"),
    ("kec-penjaringan", "Kecamatan Penjaringan", UnitKind.UKPD, "jakut"),
]

# (username, first name, last name, role, unit code)
USERS: list[tuple[str, str, str, str, str]] = [
    ("admin", "Adi", "Pratama", Role.ADMIN, "diskominfotik"),
    ("operator", "Sari", "Wulandari", Role.OPERATOR, "diskominfotik"),
    ("verifikator", "Budi", "Santoso", Role.VERIFIER, "diskominfotik"),
    ("penyetuju", "Ratna", "Dewi", Role.APPROVER, "diskominfotik"),
    ("penghubung", "Joko", "Susilo", Role.LIAISON, "bpbd"),
    ("penghubung-dinkes", "Maya", "Lestari", Role.LIAISON, "dinkes"),
    ("analis", "Dian", "Kusuma", Role.ANALYST, "diskominfotik"),
]

SENDER_IDS: list[tuple[str, str]] = [
    ("GubDKI", "Gubernur Provinsi DKI Jakarta"),
    ("WagubDKI", "Wakil Gubernur Provinsi DKI Jakarta"),
    ("SekdaDKI", "Sekretaris Daerah Provinsi DKI Jakarta"),
    ("HumasDKI", "Humas Pemerintah Provinsi DKI Jakarta"),
]


# Sample citizens' messages to 021 3288 1818 (demo only).
SAMPLE_MESSAGES: list[tuple[str, str]] = [
    ("+6281311110001", "Selamat siang, di RT 05 RW 02 Kelurahan Kampung Melayu air sudah setinggi lutut. Mohon bantuan pompa."),
    ("+6285711110002", "Sampah di pinggir Kali Ciliwung dekat Bukit Duri belum diangkut seminggu, bau sekali."),
    ("+6287811110003", "Jalan Raya Bogor dekat Pasar Rebo berlubang besar, sudah dua motor jatuh."),
    ("+6281211110004", "INFO"),
]
DEMO_GROUP = "Warga DKI (demo)"
FIRST_NAMES = ["Andi", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gilang", "Hana", "Indra", "Joko", "Kartika", "Lestari",
               "Made", "Nur", "Oki", "Putri", "Rizki", "Siti", "Taufik", "Wulan", "Yusuf", "Zahra"]
LAST_NAMES = ["Saputra", "Wijaya", "Hidayat", "Lestari", "Pratama", "Kurniawan", "Siregar", "Nasution", "Simanjuntak",
              "Sari", "Rahman", "Hasibuan", "Setiawan", "Gunawan"]
MOBILE_PREFIXES = ["0811", "0812", "0813", "0821", "0852", "0857", "0856", "0815", "0817", "0818", "0878", "0838",
                   "0895", "0896", "0881", "0882"]


@dataclass(frozen=True)
class SeedResult:
    created_units: int
    created_users: int
    created_sender_ids: int
    created_contacts: int = 0
    created_messages: int = 0
    created_blasts: int = 0


def seed() -> SeedResult:
    result = _seed_accounts()
    _seed_routing_rules()  # before the sample messages, so they are routed
    created_contacts = _seed_contacts()
    _seed_keyword_routing_rules()
    created_messages = _seed_messages()
    created_messages += _seed_overdue_ticket()
    created_blasts = _seed_blasts()
    final = SeedResult(result.created_units, result.created_users, result.created_sender_ids,
                       created_contacts, created_messages, created_blasts)
    if any(final.__dict__.values()):
        audit.record("demo.seeded", object_type="core.demo", changes=final.__dict__)
    return final


@transaction.atomic
def _seed_accounts() -> SeedResult:
    units: dict[str, Unit] = {}
    created_units = created_users = created_senders = 0
    for code, name, kind, parent in UNITS:
        unit, created = Unit.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "parent": units.get(parent) if parent else None}
        )
        units[code] = unit
        created_units += created
    for username, first, last, role, unit_code in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, role=role,
                        unit=units[unit_code], email=f"{username}@warta.invalid")
            user.set_password(DEMO_PASSWORD)
            user.save()
            created_users += 1
    # The final approval of a sender ID is its owner's (or a delegate's): the Kepala Dinas owns the
    # leaders' masks; HumasDKI, approved in one step by a verifier, is the Kepala Bidang Humas's.
    owner = User.objects.filter(username="penyetuju").first()
    owners = {"HumasDKI": User.objects.filter(username="verifikator").first()}
    for name, description in SENDER_IDS:
        _sender, created = SenderID.objects.get_or_create(
            name=name, defaults={"description": description, "owner": owners.get(name, owner)})
        created_senders += created
    return SeedResult(created_units, created_users, created_senders)


def _seed_contacts(count: int = 600) -> int:
    """A few hundred made-up contacts across the kelurahan, imported the way an operator would."""
    import csv
    import random
    import tempfile
    from pathlib import Path

    from django.core.management import call_command

    from warta.contacts.models import Contact, Region

    if Contact.objects.exists():
        return 0
    kelurahan = list(Region.objects.filter(level="kelurahan").values_list("code", flat=True))
    rng = random.Random(2026)  # the same demo every time
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kontak-demo.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["nomor", "nama", "kelurahan", "label"])
            for _ in range(count):
                number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7, 10**8)}"
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                writer.writerow([number, name, rng.choice(kelurahan) if kelurahan else "", "demo"])
        call_command("contacts", "import", str(path), "--group", DEMO_GROUP, "--json", stdout=_Null())
    return Contact.objects.count()


# Routing by topic (issue 14): (topic code, unit code). Demo only; administrators edit the table.
ROUTING_RULES: list[tuple[str, str]] = [
    ("banjir", "bpbd"), ("sampah", "dlh"), ("lingkungan", "dlh"), ("jalan", "binamarga"),
    ("kesehatan", "dinkes"), ("transportasi", "dishub"),
]


def _seed_routing_rules() -> int:
    """Topic routing rules for the demo units, so forwarding works out of the box (idempotent)."""
    from warta.inbox.models import RoutingRule

    created = 0
    units = {u.code: u for u in Unit.objects.filter(code__in=[u for _t, u in ROUTING_RULES])}
    for topic, unit_code in ROUTING_RULES:
        unit = units.get(unit_code)
        if unit is not None and not RoutingRule.objects.filter(kind="topic", pattern=topic).exists():
            # After the keyword rules (priority 100+): a rule on the citizen's own words is decided
            # before the classifier's guess at a topic ("Sampah di pinggir Kali Ciliwung" names
            # rubbish, though the model reads the river as a flood), and the topic catches the rest.
            RoutingRule.objects.create(kind="topic", pattern=topic, unit=unit, priority=500)
            created += 1
    return created


def _seed_messages() -> int:
    """Citizens' messages as if they had arrived at 021 3288 1818 (tickets, acknowledgements)."""
    from warta.inbox.ingest import MO, receive_mo_batch
    from warta.inbox.models import Message

    if Message.objects.exists():
        return 0
    results = receive_mo_batch([
        MO(connection="demo", source=number, destination="02132881818", text=text,
           smsc_message_id=f"demo-{i}")
        for i, (number, text) in enumerate(SAMPLE_MESSAGES)
    ])
    return results.count("stored")


# (word in the citizen's message, unit code): whole words, case-insensitive, first match wins.
KEYWORD_ROUTES: list[tuple[str, str]] = [
    ("banjir", "bpbd"), ("genangan", "bpbd"), ("pompa", "bpbd"), ("longsor", "bpbd"), ("kebakaran", "bpbd"),
    ("sampah", "dlh"), ("limbah", "dlh"),
    ("berlubang", "binamarga"), ("jalan rusak", "binamarga"), ("trotoar", "binamarga"),
    ("DBD", "dinkes"), ("demam berdarah", "dinkes"), ("puskesmas", "dinkes"), ("vaksin", "dinkes"),
    ("macet", "dishub"), ("lampu lalu lintas", "dishub"), ("parkir liar", "dishub"),
]


def _seed_keyword_routing_rules() -> int:
    """Routing by words in the message, so a complaint reaches the unit that acts on it at once."""
    from warta.inbox.models import RoutingRule

    if RoutingRule.objects.filter(kind="keyword").exists():
        return 0
    units = {u.code: u for u in Unit.objects.filter(code__in={code for _w, code in KEYWORD_ROUTES})}
    rules = [RoutingRule(kind="keyword", pattern=word, unit=units[code], priority=100 + i)
             for i, (word, code) in enumerate(KEYWORD_ROUTES) if code in units]
    RoutingRule.objects.bulk_create(rules)
    return len(rules)


OVERDUE_MESSAGE = ("+6281911110005", "Sudah tiga kali mengurus surat pindah di kantor kelurahan Cempaka Putih, "
                   "selalu disuruh kembali besok. Mohon kejelasan.")


def _seed_overdue_ticket() -> int:
    """A ticket that arrived eight days ago and was never verified: the inbox shows it overdue and
    the scheduler escalates it to the SMS Center's verifier."""
    from datetime import timedelta

    from django.utils import timezone

    from warta.inbox.ingest import MO, receive_mo_batch
    from warta.inbox.models import Conversation

    number, text = OVERDUE_MESSAGE
    if Conversation.objects.filter(address=number).exists():
        return 0
    at = timezone.now() - timedelta(days=8)
    results = receive_mo_batch([MO(connection="demo", source=number, destination="02132881818", text=text,
                                   smsc_message_id="demo-overdue", received_at=at)], now=at)
    return results.count("stored")


def _seed_blasts() -> int:
    """A finished blast, a scheduled one and one waiting for approval, through the real workflow."""
    from datetime import timedelta

    from django.utils import timezone

    from warta.blasts import services
    from warta.blasts.models import Draft
    from warta.contacts.models import ContactGroup

    group = ContactGroup.objects.filter(name=DEMO_GROUP).first()
    users = {u.username: u for u in User.objects.filter(username__in=["operator", "verifikator", "penyetuju"])}
    if group is None or len(users) < 3 or Draft.objects.exists():
        return 0
    operator, verifier, approver = users["operator"], users["verifikator"], users["penyetuju"]
    # The demo's history is written as if the approvers had clicked in a session that passed TOTP
    # (what django-otp's middleware marks with ``is_verified``): the final approval requires it, and
    # the demo users have no TOTP device so that anyone can log in to the demo with a password.
    for person in (verifier, approver):
        person.is_verified = lambda: True  # type: ignore[attr-defined]
    senders = {s.name: s for s in SenderID.objects.filter(name__in=["HumasDKI", "GubDKI"])}
    audience = {"groups": [group.pk]}
    now = timezone.now()

    # Finished: released now and sent by the demo engine. Inside quiet hours (21:00–06:00 WIB) it
    # is released as of 20:00 WIB the evening before, so a demo started at night still shows it.
    done = services.create_draft(operator, sender=senders["HumasDKI"], title="Car Free Day Sudirman-Thamrin",
                                 text="Car Free Day Minggu ini pukul 06.00-10.00 di Sudirman-Thamrin. "
                                      "Gunakan transportasi umum. Info: 112", audience=audience)
    services.submit_for_review(done, operator)
    services.approve(done, verifier, "Sesuai materi Humas.")
    done.refresh_from_db()
    if done.state == Draft.State.APPROVED:
        local = timezone.localtime(now)
        at = now if not services.in_quiet_hours(now) else (
            local.replace(hour=20, minute=0, second=0, microsecond=0)
            - (timedelta(days=1) if local.hour < 12 else timedelta(0)))
        services.release(done, actor=operator, now=at)

    # Scheduled: approved by the whole GubDKI chain, to be released tomorrow at 09:00 WIB.
    tomorrow = (timezone.localtime(now) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    scheduled = services.create_draft(operator, sender=senders["GubDKI"], title="Imbauan siaga banjir",
                                      text="Musim hujan: bersihkan saluran air di lingkungan Anda. Darurat banjir "
                                           "hubungi 112. -Gubernur DKI", audience=audience, send_at=tomorrow)
    services.submit_for_review(scheduled, operator)
    services.approve(scheduled, verifier, "Teks sudah ringkas.")
    services.approve(scheduled, approver, "Setuju.")

    # Waiting: submitted, the verifier has it in the approval queue.
    waiting = services.create_draft(operator, sender=senders["HumasDKI"], title="Vaksinasi gratis di puskesmas",
                                    text="Vaksinasi influenza gratis untuk lansia di puskesmas kecamatan, "
                                         "Senin-Jumat 08.00-12.00. Bawa KTP.", audience=audience)
    services.submit_for_review(waiting, operator)
    return 3


class _Null:
    def write(self, *_args: object) -> None:
        pass

    def flush(self) -> None:
        pass
