"""Issue 12 item 3 in Chromium: an operator uploads 10,050 numbers in the composer; the counter
says the list becomes a group; saving turns it into a contacts import (dry run and its report on
the draft page), the operator runs the import, and the draft goes up for approval with the group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.blasts.test_blast_sop import sign_in

N = 10_050


def test_a_long_number_list_becomes_a_group_import(browser: Any, live_server: Any, actors: dict[str, Any],
                                                   transactional_db: Any, tmp_path: Path, settings: Any) -> None:
    from tests.blasts.helpers import create_sender
    from warta.blasts.models import Draft
    from warta.contacts import imports

    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": ""}
    create_sender("HumasDKI")
    upload = tmp_path / "nomor-warga.csv"
    upload.write_text("nomor\n" + "\n".join(f"0815{40000000 + i:08d}" for i in range(N)) + "\n")

    op = sign_in(browser, live_server, "operator")
    op.goto("/blast/naskah/baru/")
    op.fill("input[name=title]", "Vaksinasi keliling")
    op.select_option("select[name=sender]", label="HumasDKI")
    op.fill("textarea[name=text]", "Vaksinasi gratis di kelurahan Anda Sabtu ini. Info 112.")
    op.set_input_files("input[name=numbers_file]", str(upload))
    op.wait_for_selector(f"#a-too-many[data-numbers='{N}']")
    op.click("#save-draft")
    op.wait_for_selector("#draft-import")
    assert op.get_attribute("#draft-state", "data-state") == "draft"
    draft = Draft.objects.get(title="Vaksinasi keliling")
    assert draft.import_job is not None and "numbers" not in draft.audience

    imports.execute(draft.import_job_id)  # the worker's step: the dry run
    op.reload()
    assert f"{N} kontak baru" in op.inner_text("#dry-run-report")
    op.click("#run-import")
    imports.execute(draft.import_job_id)  # the worker's step: the import
    op.reload()
    op.wait_for_selector("#import-done")
    op.click("#submit-draft")
    assert op.get_attribute("#draft-state", "data-state") == "review"
    assert op.get_attribute("#frozen-audience", "data-size") == str(N)
