"""Gammu SMSD transport (``gammu+sqlite:///path/to/smsd.db``): Warta writes Gammu's ``outbox``
tables and reads ``inbox`` and ``sentitems``.

URL validation is here so ``warta connection add`` catches typos now; the transport itself is a
later task of issue 4 and ``open_bind`` says so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from . import ConnectionSpec, ConnectionURLError, TransportError, float_option, split_options


def parse(url: str) -> ConnectionSpec:
    parts = urlsplit(url)
    if parts.netloc:
        raise ConnectionURLError(
            _("URL gammu+sqlite memakai tiga garis miring dan path berkas: gammu+sqlite:///var/lib/gammu/smsd.db "
              "(didapat host %(host)r).") % {"host": parts.netloc})
    if not parts.path or parts.path == "/":
        raise ConnectionURLError(_("URL gammu+sqlite:/// perlu path berkas basis data SMSD."))
    options = split_options(parts.query, {"tps": "pesan per detik"}, "gammu+sqlite")
    return ConnectionSpec(kind="gammu+sqlite", url=url, path=parts.path, window=1,
                          tps=float_option(options, "tps", 1.0, 0.0, 100.0), binds=1, options=options)


def open_bind(spec: ConnectionSpec, **callbacks: Any) -> Any:
    raise TransportError(_("Transport Gammu SMSD belum tersedia di versi ini."), permanent=True)
