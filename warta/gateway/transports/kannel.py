"""Kannel smsbox transport (``kannel://USER:PASS@HOST:13013?secret=…``).

URL validation is here so ``warta connection add`` catches typos now. The sender (sendsms with
dlr-mask and a per-message dlr-url) and the callback views are a later task of issue 4:
``open_bind`` says so instead of pretending.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from . import ConnectionSpec, TransportError, float_option, host_and_port, int_option, split_options

KNOWN = {"secret": "rahasia callback", "window": "pesan tanpa jawaban", "tps": "pesan per detik",
         "binds": "jumlah koneksi", "smsc": "smsc-id Kannel"}


def parse(url: str) -> ConnectionSpec:
    host, port, user, password, query = host_and_port(url, "kannel", 13013)
    options = split_options(query, KNOWN, "kannel")
    from . import ConnectionURLError

    if not user:
        raise ConnectionURLError(_("URL kannel:// perlu USER:SANDI sendsms-user, misalnya kannel://warta:sandi@host:13013."))
    return ConnectionSpec(kind="kannel", url=url, host=host, port=port, username=user, password=password,
                          window=int_option(options, "window", 100, 1, 10000),
                          tps=float_option(options, "tps", 0.0, 0.0, 100000.0),
                          binds=int_option(options, "binds", 1, 1, 1), options=options)


def open_bind(spec: ConnectionSpec, **callbacks: Any) -> Any:
    raise TransportError(_("Transport Kannel belum tersedia di versi ini."), permanent=True)
