"""Helpers for the contacts tests: files to import, contacts and groups with sane defaults."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

_n = itertools.count(1)


def mobile(n: int | None = None) -> str:
    """A valid Telkomsel number in E.164, distinct per call (or per ``n``)."""
    n = next(_n) if n is None else n
    return f"+62812{10000000 + n:08d}"


def create_contact(e164: str | None = None, **fields: Any) -> Any:
    from warta.contacts.models import Contact

    fields.setdefault("operator", "telkomsel")
    return Contact.objects.create(e164=e164 or mobile(), **fields)


def create_group(name: str | None = None, **fields: Any) -> Any:
    from warta.contacts.models import ContactGroup

    fields.setdefault("lawful_basis", "public_task")
    return ContactGroup.objects.create(name=name or f"Grup {next(_n)}", **fields)


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def import_file(path: Path, *, dry_run: bool = False, group: Any = None, mapping: dict[str, int] | None = None,
                batch_size: int | None = None) -> Any:
    """Create a job for ``path`` and run it synchronously (as the worker would)."""
    from warta.contacts import imports

    job = imports.create_job(str(path), path.name, path.stat().st_size)
    if mapping is not None:
        job.mapping = mapping
    job.group = group
    job.save()
    imports.start(job, dry_run=dry_run, enqueue=False)
    if batch_size:
        from warta.contacts import conf  # noqa: F401

    result = imports.execute(job.pk)
    assert result is not None
    result.refresh_from_db()
    return result


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
