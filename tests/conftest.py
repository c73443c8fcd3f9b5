"""Shared test fixtures: named actors and ``create_*`` helpers whose defaults keep invariants.

The actors are the people of the SOP: an administrator, an operator, a verifier, an approver, a
unit liaison of BPBD, a liaison of another unit (Dinas Kesehatan) and an analyst.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest

# Quiet hours hold normal blasts while they run (#10 item 11): a test must not depend on the hour
# it runs at, so they are off unless a test sets them (with a frozen clock). The environment
# variable reaches the processes tests start (``warta run``, engines, the web server).
os.environ.setdefault("WARTA_QUIET_HOURS", "")


@pytest.fixture(autouse=True)
def _no_quiet_hours_unless_asked(settings: Any) -> None:
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}

PASSWORD = "Sandi-Uji-2026!"
_counter = itertools.count(1)


def create_unit(code: str | None = None, name: str | None = None, kind: str = "skpd", parent: Any = None) -> Any:
    from warta.accounts.models import Unit

    n = next(_counter)
    return Unit.objects.create(code=code or f"unit-{n}", name=name or f"Unit {n}", kind=kind, parent=parent)


def create_user(role: str = "operator", unit: Any = None, username: str | None = None, **extra: Any) -> Any:
    from warta.accounts.models import User

    if unit is None:
        unit = create_unit()
    user = User(username=username or f"{role}-{next(_counter)}", role=role, unit=unit,
                email=extra.pop("email", f"{role}{next(_counter)}@example.invalid"), **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def confirm_totp(user: Any) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="uji", confirmed=True)


def totp_now(device: Any, offset: int = 0) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


def login(client: Any, user: Any) -> Any:
    """Log ``user`` in on the test client, second factor included when the role requires it."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(user)
    if user.requires_two_factor:
        device = user.totpdevice_set.filter(confirmed=True).first() or confirm_totp(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def _reseed_reference_data() -> None:
    """Put back what data migrations load (regions, keywords, topics and lexicon) after a transactional test's flush."""
    import importlib

    from django.apps import apps

    for module in ("warta.contacts.migrations.0002_load_regions", "warta.inbox.migrations.0002_keywords",
                   "warta.insights.migrations.0002_insights_seed"):
        migration = importlib.import_module(module)
        (getattr(migration, "load", None) or migration.seed)(apps, None)
    # The rows came back under new ids: the analyser's per-process caches of ids must not outlive them.
    from warta.insights.ingest import forget_caches

    forget_caches()


@pytest.fixture(autouse=True)
def _reference_data_survives_flush(request: Any, django_db_blocker: Any) -> Any:
    # Transactional tests (engine, live server) end with a flush that empties every table,
    # including the reference data the migrations loaded; a later test must still find it.
    # So a test that uses the database gets it back first when it is missing.
    marker = request.node.get_closest_marker("django_db")
    if marker or {"db", "transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("_django_db_helper")  # the database is set up for this test
        from warta.contacts.models import Region
        from warta.inbox.models import Keyword
        from warta.insights.models import Topic

        with django_db_blocker.unblock():
            if not Region.objects.exists() or not Keyword.objects.exists() or not Topic.objects.exists():
                _reseed_reference_data()
                # New rows, new ids: the insights app's per-process caches must not keep the old ones.
                from warta.insights.engine import reset_all

                reset_all()
    yield


@pytest.fixture
def units(db: Any) -> dict[str, Any]:
    kominfo = create_unit("diskominfotik", "Diskominfotik", kind="dinas")
    bpbd = create_unit("bpbd", "BPBD")
    dinkes = create_unit("dinkes", "Dinas Kesehatan")
    pusdatin = create_unit("pusdatin", "Pusdatin BPBD", kind="ukpd", parent=bpbd)
    return {"kominfo": kominfo, "bpbd": bpbd, "dinkes": dinkes, "pusdatin": pusdatin}


@pytest.fixture
def actors(units: dict[str, Any]) -> dict[str, Any]:
    return {
        "admin": create_user("admin", units["kominfo"], "admin"),
        "operator": create_user("operator", units["kominfo"], "operator"),
        "verifier": create_user("verifier", units["kominfo"], "verifikator"),
        "approver": create_user("approver", units["kominfo"], "penyetuju"),
        "liaison": create_user("liaison", units["bpbd"], "penghubung"),
        "other_liaison": create_user("liaison", units["dinkes"], "penghubung-dinkes"),
        "analyst": create_user("analyst", units["kominfo"], "analis"),
    }


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    # Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    # for as long as the browser is open, and asyncio.run() in later tests would refuse to start.
    items.sort(key=lambda item: "tests/e2e/" in str(item.fspath))


def _lift_audit_triggers_for_test_flushes() -> None:
    """pytest-django empties the database after a transactional test with DELETE/TRUNCATE, which
    the audit trail's triggers refuse (warta/accounts/auditdb.py). The test process owns the test
    database, so it lifts those two triggers around the flush, inside the flush's own transaction;
    the application has no such path, so production stays strict."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    from warta.accounts.auditdb import TABLE, flush_wrapping_sql

    original = BaseDatabaseOperations.execute_sql_flush
    if getattr(original, "_warta_lifts_audit_triggers", False):
        return

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        if any(TABLE in sql for sql in sql_list):
            before, after = flush_wrapping_sql(self.connection.vendor)
            sql_list = [*before, *sql_list, *after]
        original(self, sql_list)

    execute_sql_flush._warta_lifts_audit_triggers = True  # type: ignore[attr-defined]
    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    _lift_audit_triggers_for_test_flushes()
    # Tests render pages without running collectstatic first.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = True
    # A fast hasher: the production one is slow on purpose, and tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_AUTOREFRESH = True
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
