"""Settings that the first start of a fresh installation creates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def test_processes_starting_together_on_a_fresh_data_dir_share_one_secret_key(tmp_path: Path) -> None:
    # `warta run` (and several engines) start at once; none may crash creating the key, and all
    # must sign sessions with the same one.
    env = {**os.environ, "WARTA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "warta.settings"}
    env.pop("WARTA_SECRET_KEY", None)
    code = f"import django; django.setup(); {READ_KEY}"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _out, err in results]
    keys = {out.strip() for out, _err in results}
    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".secret.key.*"))  # no temporary file left behind


def test_a_key_created_by_another_process_meanwhile_is_used_not_a_crash(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    # The race made deterministic: the key appears between our existence check and our write.
    import warta.settings as ws

    (tmp_path / "secret.key").write_text("kunci-proses-lain")
    monkeypatch.setattr(ws, "DATA_DIR", tmp_path)
    monkeypatch.delenv("WARTA_SECRET_KEY", raising=False)
    monkeypatch.delenv("WARTA_SECRET_KEY_FILE", raising=False)
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self.name == "secret.key" else real_exists(self))
    assert ws._secret_key() == "kunci-proses-lain"
    assert not list(tmp_path.glob(".secret.key.*"))
