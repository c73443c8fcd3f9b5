"""Number lists too long for the composer become contacts imports (issue 12 item 3).

Theory of operation
-------------------
The composer resolves at most ``warta.contacts.audience.MAX_EXTRA_NUMBERS`` typed or uploaded
numbers. A longer list — or an uploaded file too large to read in the form — is handed to the
contacts app's own import pipeline (format sniffing, number checks, opt-outs, dry-run report,
resumable batches) into a new group, and the draft's audience targets that group; the numbers
themselves never sit in the draft. The dry run starts at once; the operator runs the import from
the draft page after reading its report, and submit waits until it is done.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import User

from .models import Draft
from .services import WorkflowError, _require, too_many_numbers, update_draft


def numbers_to_import(actor: User, title: str, numbers: list[str] | None = None, upload: Any = None) -> Any:
    """Turn a list too long for the composer — ``numbers``, or an uploaded file handed over whole —
    into a contacts import into a new group: the contacts app's own pipeline (checks, opt-outs,
    dry-run report). Starts the dry run when the number column is known (else the import page
    asks for the mapping); the operator confirms the import on the draft page."""
    from warta.contacts import imports
    from warta.contacts import services as contacts
    from warta.contacts.models import ImportState

    _require(actor, "contacts.manage")
    stamp = timezone.localtime().strftime("%d-%m-%Y %H:%M:%S")
    group = contacts.create_group(_("Unggahan naskah \"%(t)s\" %(at)s") % {"t": title[:80], "at": stamp},
                                  "public_task", description=_("Dibuat dari daftar nomor yang diunggah di komposer."),
                                  by=actor)
    if upload is not None:
        filename = upload.name or "naskah-nomor.csv"
        path, size = imports.store_upload(upload.chunks(), filename)
    else:
        filename = "naskah-nomor.csv"
        data = ("nomor\n" + "\n".join(n.replace(",", " ") for n in numbers or []) + "\n").encode()
        path, size = imports.store_upload([data], filename)
    try:
        job = imports.create_job(path, filename, size, by=actor)
        job.group = group
        if upload is None:
            job.has_header, job.mapping = True, {"phone": 0}
        if "phone" in job.mapping:
            job.state = ImportState.MAPPED
            job.save()
            imports.start(job, dry_run=True)
        else:
            job.save()
    except imports.ImportRefused as exc:
        raise WorkflowError(str(exc)) from exc
    audit.record("blasts.numbers_to_import", job, actor=actor,
                 changes={"numbers": len(numbers or []), "file_bytes": size, "group": group.pk, "job": job.pk})
    return job


def import_long_list(actor: User, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with an over-long number list, or a large uploaded file, replaced by the group
    of its contacts import."""
    fields = dict(fields)
    upload = fields.pop("numbers_upload", None)
    audience = dict(fields.get("audience") or {})
    if upload is None and not too_many_numbers(audience):
        return fields
    if upload is not None and too_many_numbers(audience):
        raise WorkflowError(_("Unggah satu daftar panjang saja: berkas besar atau lebih dari 10.000 nomor yang "
                              "diketik, tidak keduanya."))
    if upload is not None:  # typed numbers (at most 10,000) stay beside the file's group
        job = numbers_to_import(actor, fields.get("title") or "", upload=upload)
    else:
        job = numbers_to_import(actor, fields.get("title") or "", numbers=audience.pop("numbers"))
    audience["groups"] = sorted({*(audience.get("groups") or []), job.group_id})
    return {**fields, "audience": audience, "import_job": job}


def convert_numbers(draft: Draft, actor: User) -> Draft:
    """The button on a draft saved with too many numbers (before this existed): the same
    conversion as on save."""
    _require(actor, "blasts.compose")
    if not too_many_numbers(draft.audience):
        raise WorkflowError(_("Daftar nomor naskah ini tidak perlu diimpor."))
    fields = import_long_list(actor, {"audience": draft.audience, "title": draft.title})
    return update_draft(draft, actor, **fields)


def start_draft_import(draft: Draft, actor: User) -> Any:
    """After the dry-run report: import the list into the draft's group."""
    from warta.contacts import imports

    _require(actor, "blasts.compose")
    _require(actor, "contacts.manage")
    if draft.import_job is None:
        raise WorkflowError(_("Naskah ini tidak memiliki impor nomor."))
    try:
        return imports.start(draft.import_job, dry_run=False)
    except imports.ImportRefused as exc:
        raise WorkflowError(str(exc)) from exc
