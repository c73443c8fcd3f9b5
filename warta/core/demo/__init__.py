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


@dataclass(frozen=True)
class SeedResult:
    created_units: int
    created_users: int
    created_sender_ids: int


@transaction.atomic
def seed() -> SeedResult:
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
    result = SeedResult(created_units, created_users, created_senders)
    if created_units or created_users or created_senders:
        audit.record("demo.seeded", object_type="core.demo", changes=result.__dict__)
    return result
