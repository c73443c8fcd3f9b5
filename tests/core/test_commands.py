"""The `warta` command: seeding, deploy checks, and `warta run` started twice in a row."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management import call_command

from warta.accounts.models import Unit, User
from warta.blasts.models import SenderID

ROOT = Path(__file__).resolve().parents[2]


def test_seed_demo_is_idempotent(db: Any) -> None:
    call_command("seed-demo")
    counts = (Unit.objects.count(), User.objects.count(), SenderID.objects.count())
    call_command("seed-demo")
    assert (Unit.objects.count(), User.objects.count(), SenderID.objects.count()) == counts
    # The four masks, plus the long number the inbox answers citizens from.
    assert set(SenderID.objects.values_list("name", flat=True)) == {"GubDKI", "WagubDKI", "SekdaDKI", "HumasDKI", "02132881818"}
    assert set(User.objects.values_list("role", flat=True)) == {"admin", "operator", "verifier", "approver", "liaison", "analyst"}
    assert Unit.objects.get(code="rsud-tarakan").parent == Unit.objects.get(code="dinkes")
    from warta.contacts.models import Contact
    from warta.inbox.models import Ticket

    assert Contact.objects.count() >= 550  # 600 generated, a few random duplicates merged
    assert Contact.objects.filter(region__isnull=False).count() == Contact.objects.count()
    # Four complaints ("INFO" is a keyword, answered without a ticket), routed by the demo's rules.
    assert Ticket.objects.count() == 4
    assert Ticket.objects.get(subject__startswith="Selamat siang, di RT 05").unit.code == "bpbd"
    assert Ticket.objects.get(subject__startswith="Sampah di pinggir").unit.code == "dlh"
    assert Ticket.objects.get(subject__startswith="Jalan Raya Bogor").unit.code == "binamarga"
    from django.utils import timezone

    overdue = Ticket.objects.get(subject__startswith="Sudah tiga kali")
    assert overdue.overdue_clock(timezone.now()) == "verify"
    from warta.blasts.models import Draft

    states = {d.title: d.state for d in Draft.objects.all()}
    assert states == {"Car Free Day Sudirman-Thamrin": "released", "Imbauan siaga banjir": "approved",
                      "Vaksinasi gratis di puskesmas": "review"}
    finished = Draft.objects.get(state="released").blast
    assert finished.messages.count() == Contact.objects.count()
    assert Draft.objects.get(state="approved").send_at > timezone.now()


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    env = {**os.environ, "WARTA_DATA_DIR": str(tmp_path), "WARTA_SECRET_KEY": "x" * 60 + "-Prod-Key-For-Check",
           "WARTA_HTTPS": "1", "WARTA_DEBUG": "0", "WARTA_ALLOWED_HOSTS": "sms.jakarta.go.id"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process
    result = subprocess.run([sys.executable, "-m", "warta", "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port whose next port is free too (the simulator's MO endpoint listens on port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no pair of free ports")


def run_once(data_dir: Path) -> str:
    port = free_port()
    # Own ports for the simulator too, so a demo running on this machine does not collide.
    env = {**os.environ, "WARTA_DATA_DIR": str(data_dir), "WARTA_SIM_PORT": str(free_port_pair())}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "warta", "run", "--bind", f"127.0.0.1:{port}"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        # Generous: a fresh demo migrates, collects static files and imports 600 contacts first,
        # on a CI machine whose two cores are busy; a demo that never comes up still fails.
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/akun/masuk/", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGINT)
                    out, _ = proc.communicate(timeout=30)
                    raise AssertionError("warta run did not serve the login page:\n" + out[-3000:]) from None
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/warta.css", timeout=2) as r:
            assert r.status == 200
        # Every child (web, worker, gateway with its simulator, scheduler) is still up: the first
        # one to die would have brought `warta run` down.
        time.sleep(3)
        assert proc.poll() is None, "warta run stopped on its own"
    finally:
        if proc.returncode is None:  # not already collected by the failure above
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Warta berjalan di http://127.0.0.1" in out and "penyetuju" in out
    return page


def test_warta_run_serves_the_login_page_twice_in_a_row(tmp_path: Path) -> None:
    assert "Masuk ke Warta" in run_once(tmp_path)
    assert "Masuk ke Warta" in run_once(tmp_path)


def test_warta_web_serves_pages_on_a_fresh_production_data_directory(tmp_path: Path) -> None:
    """#11, item 19: without collected static files every page answered 500."""
    data = tmp_path / "data"
    env = {**os.environ, "WARTA_DATA_DIR": str(data), "WARTA_DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "warta", "migrate", "-v0"], env=env, check=True, timeout=300)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "warta", "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/akun/masuk/", timeout=5) as response:
                    status, html = response.status, response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "warta web did not answer"
                time.sleep(0.3)
        assert status == 200
        css = re.search(r'href="(/static/warta\.[0-9a-f]{12}\.css)"', html)
        assert css is not None, html[:500]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{css.group(1)}", timeout=5) as response:
            assert response.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_pages_render_even_when_static_files_were_never_collected(tmp_path: Path, settings: Any) -> None:
    from warta.core.storage import StaticStorage

    storage = StaticStorage(location=str(tmp_path / "static"), base_url="/static/")
    assert storage.url("warta.css") == "/static/warta.css"


def test_a_name_that_is_no_static_file_is_refused_without_a_false_alarm(tmp_path: Path, caplog: Any,
                                                                       settings: Any) -> None:
    """WhiteNoise asks for names that are no static file at every start (``htmx-2.0.11.js``,
    from ``htmx-2.0.11.min.js``) and expects ValueError; a "not collected" error there was a
    false alarm in every ``make run`` and used up the warning a real missing file should get."""
    import pytest

    from warta.core.storage import StaticStorage

    root = tmp_path / "static"
    settings.STATIC_ROOT = str(root)
    call_command("collectstatic", interactive=False, verbosity=0)
    storage = StaticStorage(location=str(root), base_url="/static/")
    StaticStorage._warned = False
    with pytest.raises(ValueError):
        storage.url("vendor/htmx-2.0.11.js")
    assert not [r for r in caplog.records if "not collected" in r.getMessage()]
    assert storage.url("vendor/htmx-2.0.11.min.js").startswith("/static/vendor/htmx-2.0.11.min.")  # hashed
