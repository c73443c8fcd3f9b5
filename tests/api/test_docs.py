"""docs/api.md's code runs: the example client against a live server, the webhook check against
Warta's own signatures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def block(marker: str) -> str:
    found = re.findall(r"```python\n(# " + re.escape(marker) + r"\n.*?)```", DOC.read_text(), re.S)
    assert len(found) == 1, marker
    return found[0]


@pytest.mark.django_db(transaction=True)
def test_the_example_client_in_the_docs_runs(live_server: Any, tmp_path: Path) -> None:
    from tests.api.test_api import issue
    from tests.blasts.helpers import create_sender
    from tests.conftest import create_unit
    from warta.blasts.models import Materi

    create_sender("GubDKI")
    _t, token = issue(create_unit("bpbd", "BPBD"), scopes=["all"])
    script = tmp_path / "contoh_klien.py"
    script.write_text(block("contoh-klien"))
    env = {**os.environ, "WARTA_URL": live_server.url, "WARTA_TOKEN": token}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sender ID: ['GubDKI']" in done.stdout and "kontak: 1 baru, 1 ditolak" in done.stdout
    assert Materi.objects.count() == 1  # the retry with the same Idempotency-Key made nothing new


def test_the_verification_snippet_accepts_warta_signatures_and_refuses_replays() -> None:
    from types import SimpleNamespace

    from warta.api import webhooks

    scope: dict[str, Any] = {}
    exec(compile(block("verifikasi-webhook"), "api.md", "exec"), scope)  # noqa: S102 - our own doc
    verify = scope["verify"]
    body = b'{"id":"evt_1","type":"test"}'
    hook = SimpleNamespace(secret="whsec_a", previous_secret="", previous_until=None)
    now = int(time.time())
    header = webhooks.signature_header(hook, now, body)  # type: ignore[arg-type]
    assert verify("whsec_a", header, body)
    assert not verify("whsec_b", header, body) and not verify("whsec_a", header, body + b" ")
    old = webhooks.signature_header(hook, now - 600, body)  # type: ignore[arg-type]
    assert not verify("whsec_a", old, body)
