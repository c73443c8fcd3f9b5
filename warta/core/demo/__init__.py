"""Demo data: the units, one user per role and the four sender IDs, created idempotently."""

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


def seed() -> SeedResult:
    result = _seed_accounts()
    _seed_routing_rules()  # before the sample messages, so they are routed
    created_contacts = _seed_contacts()
    created_messages = _seed_messages()
    final = SeedResult(result.created_units, result.created_users, result.created_sender_ids,
                       created_contacts, created_messages)
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
    owner = User.objects.filter(username="penyetuju").first()
    for name, description in SENDER_IDS:
        _sender, created = SenderID.objects.get_or_create(name=name, defaults={"description": description, "owner": owner})
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
            RoutingRule.objects.create(kind="topic", pattern=topic, unit=unit, priority=50)
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


class _Null:
    def write(self, *_args: object) -> None:
        pass

    def flush(self) -> None:
        pass
