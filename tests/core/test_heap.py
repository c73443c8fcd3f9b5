"""Long-running processes leave their start-up heap out of the full garbage collections and make
young ones rare (``warta.lib.heap``): the web workers and the delivery engine, checked in real
processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.core.test_commands import free_port

FROZEN = re.compile(r"(\d+) start-up objects left out of the full garbage collections; young collections every 20000")


def _wait_for_line(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = FROZEN.search(log.read_text(errors="replace"))
        if m:
            return int(m.group(1))
        assert proc.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(log.read_text(errors="replace"))


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "WARTA_DATA_DIR": str(tmp), "WARTA_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    return env


def test_freezing_loads_every_view_first(tmp_path: Path) -> None:
    # In a process of its own: freezing the test runner's heap would keep its cyclic garbage.
    code = ("import django, gc, sys; django.setup(); from warta.lib.heap import quiet_collector; "
            "assert 'warta.api.views' not in sys.modules; n = quiet_collector(load_urls=True); "
            "views = sorted(m for m in sys.modules if m.startswith('warta.') and m.endswith('.views')); "
            "print(n, gc.get_freeze_count(), len(gc.get_objects(2)), gc.get_threshold()[0], ' '.join(views))")
    out = subprocess.run([sys.executable, "-c", code], env={**_env(tmp_path), "DJANGO_SETTINGS_MODULE": "warta.settings"},
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    n, frozen, left, young = int(out[0]), int(out[1]), int(out[2]), int(out[3])
    assert n == frozen > 50_000, out
    assert left < 1_000, out  # what a full collection still walks: next to nothing
    assert young == 20_000, out  # CPython's default is 700
    assert {"warta.api.views", "warta.blasts.views", "warta.inbox.views", "warta.reports.views"} <= set(out[4:])


def test_the_web_workers_freeze_their_start_up_heap(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "warta", "web", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                 "--no-collectstatic"], env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)
        try:
            assert _wait_for_line(proc, log) > 50_000
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_the_engine_freezes_its_start_up_heap(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "warta", "migrate", "--verbosity", "0"], env=env, check=True, timeout=300)
    log = tmp_path / "engine.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "warta", "gateway"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            assert _wait_for_line(proc, log) > 50_000
            deadline = time.monotonic() + 30
            while "engine " not in log.read_text() or " started" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)  # and it runs on: the freeze came before the engine's loop
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()
