"""The web server's access log never holds tokens, reset links or full mobile numbers (#11, 13)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.core.test_commands import free_port
from warta.core.logging import redact_text

SECRETS = ["s3cr3t-t0ken", "Zx9-reset-token", "081377712345", "6281377712345", "Bearer-abc123"]


def test_redaction_of_urls() -> None:
    line = ('GET /akun/atur-ulang/MTI/cg3x-Zx9-reset-token/?next=/ HTTP/1.1 '
            '/kontak/?q=081377712345&page=2 /api/v1/materi?token=s3cr3t-t0ken /x?to=%2B6281377712345 '
            '/akun/masuk/?next=/kontak/%3Fpage%3D2%26q%3D%252B6281377712345')
    clean = redact_text(line)
    assert not any(secret in clean for secret in SECRETS), clean
    assert "page=2" in clean and "next=/" in clean and "%3Fpage%3D2%26q%3D***" in clean and "/akun/atur-ulang/***/***/" in clean
    assert redact_text("nomor 081377712345 dan 62 8 bukan") == "nomor 081****345 dan 62 8 bukan"


def test_the_web_servers_access_log_is_redacted(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    env = {**os.environ, "WARTA_DATA_DIR": str(tmp_path), "WARTA_WEB_WORKERS": "1"}
    env.pop("DATABASE_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "warta", "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            paths = ["/healthz?token=s3cr3t-t0ken&q=081377712345",
                     "/akun/atur-ulang/MTI/cg3x-Zx9-reset-token/",
                     "/kontak/?q=%2B6281377712345"]
            deadline = time.monotonic() + 60
            for path in paths:
                while True:
                    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                     headers={"Referer": "http://x/?q=081377712345",
                                                              "Authorization": "Bearer Bearer-abc123"})
                    try:
                        urllib.request.urlopen(request, timeout=5).close()
                        break
                    except urllib.error.HTTPError:
                        break  # any answer is logged
                    except (urllib.error.URLError, ConnectionError):
                        assert time.monotonic() < deadline, log.read_text()
                        time.sleep(0.3)
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert "/healthz?token=***&q=***" in text, text
    assert "/akun/atur-ulang/***/***/" in text
    assert not any(secret in text for secret in SECRETS), text
