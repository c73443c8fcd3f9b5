"""Transports: one module per kind of connection, registered in one plain dict.

Theory of operation: a connection is a URL. ``parse_url`` picks the transport module by the URL's
scheme and lets it validate the rest, raising ``ConnectionURLError`` with a precise Indonesian
message (so a typo is caught at ``warta connection add``, not at 3 a.m.). The engine asks the same
module for a ``Bind`` (the typed contract in ``base``: ``start()``, ``close()``, ``bound``,
``window``, ``submit(sender, to, text) -> list[PartResult]``). Receipts and citizens' messages
come back through the callbacks the engine passes in.

``REGISTRY`` maps scheme → module: ``smpp``, ``kannel``, ``gammu+sqlite``, and ``memory`` (an
in-process SMSC double for tests and benchmarks).

Errors (one tree)::

    TransportError(permanent: bool)          a send or bind failed; transient ones are retried
    ConnectionURLError(ValueError)           a connection URL is wrong (always permanent)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .base import TransportModule


class TransportError(Exception):
    """A transport failed. ``permanent``: sending the same thing again will fail the same way."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class ConnectionURLError(ValueError):
    """A connection URL that cannot work; the message says what to fix, in Indonesian."""


@dataclass(frozen=True)
class ConnectionSpec:
    """A parsed connection URL. ``password`` never appears in repr."""

    kind: str  # the REGISTRY key
    url: str = field(repr=False)
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = field(default="", repr=False)
    path: str = ""
    window: int = 1
    tps: float = 0.0
    binds: int = 1
    options: dict[str, str] = field(default_factory=dict, repr=False)  # may hold a secret
    config: Any = field(default=None, repr=False)  # transport-specific (e.g. ClientConfig)


def _registry() -> dict[str, ModuleType]:
    from . import gammu, kannel, memory, smpp

    return {"smpp": smpp, "kannel": kannel, "gammu+sqlite": gammu, "memory": memory}


REGISTRY_SCHEMES = ("smpp", "kannel", "gammu+sqlite", "memory")


def transport_for(kind: str) -> TransportModule:
    """The transport module for ``kind``, typed by the contract every transport keeps."""
    module: TransportModule = _registry()[kind]
    return module


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return _(" (mungkin maksud Anda %(s)s?)") % {"s": match[0]} if match else ""


def parse_url(url: str) -> ConnectionSpec:
    url = (url or "").strip()
    if not url:
        raise ConnectionURLError(_("URL koneksi kosong. Contoh: smpp://SYSTEM_ID:SANDI@HOST:2775?window=64"))
    if "://" not in url:
        raise ConnectionURLError(
            _("URL koneksi harus diawali skema, misalnya smpp://, kannel:// atau gammu+sqlite:///…; "
              "didapat %(url)r.") % {"url": redact_url(url)})
    scheme = url.split("://", 1)[0].lower()
    registry = _registry()
    if scheme not in registry:
        raise ConnectionURLError(
            _("Skema %(scheme)r tidak dikenal%(hint)s. Skema yang didukung: %(known)s.")
            % {"scheme": scheme, "hint": suggest(scheme, REGISTRY_SCHEMES), "known": ", ".join(REGISTRY_SCHEMES)})
    spec: ConnectionSpec = registry[scheme].parse(url)
    return spec


def redact_url(url: str) -> str:
    """``url`` with the password (and any ``secret=`` option) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, hostport = netloc.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            netloc = f"{userinfo}@{hostport}"
        query = "&".join(
            (kv.split("=", 1)[0] + "=***") if kv.split("=", 1)[0].lower() in {"secret", "password"} else kv
            for kv in parts.query.split("&") if kv
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "***"


def split_options(query: str, known: dict[str, str], scheme: str) -> dict[str, str]:
    """Query options as a dict; unknown keys get a precise error with a suggestion."""
    options: dict[str, str] = {}
    for item in query.split("&"):
        if not item:
            continue
        if "=" not in item:
            raise ConnectionURLError(_("Opsi %(item)r tidak punya nilai; tulis seperti window=64.") % {"item": item})
        key, value = item.split("=", 1)
        if key not in known:
            raise ConnectionURLError(
                _("Opsi %(key)r tidak dikenal untuk %(scheme)s://%(hint)s. Opsi yang dikenal: %(known)s.")
                % {"key": key, "scheme": scheme, "hint": suggest(key, tuple(known)), "known": ", ".join(known)})
        options[key] = value
    return options


def int_option(options: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConnectionURLError(
            _("Opsi %(key)s harus bilangan bulat, bukan %(raw)r.") % {"key": key, "raw": raw}) from None
    if not low <= value <= high:
        raise ConnectionURLError(
            _("Opsi %(key)s=%(v)s di luar batas %(lo)s–%(hi)s.") % {"key": key, "v": value, "lo": low, "hi": high})
    return value


def float_option(options: dict[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConnectionURLError(
            _("Opsi %(key)s harus angka, bukan %(raw)r.") % {"key": key, "raw": raw}) from None
    if not low <= value <= high:
        raise ConnectionURLError(
            _("Opsi %(key)s=%(v)s di luar batas %(lo)s–%(hi)s.") % {"key": key, "v": raw, "lo": low, "hi": high})
    return value


def host_and_port(url: str, scheme: str, default_port: int) -> tuple[str, int, str, str, str]:
    """(host, port, username, password, query) of a ``scheme://user:pass@host:port?query`` URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConnectionURLError(
            _("Port pada URL %(url)s tidak valid: harus angka 1–65535.") % {"url": redact_url(url)}) from None
    if not parts.hostname:
        raise ConnectionURLError(
            _("URL %(url)s tidak menyebut host. Contoh: %(scheme)s://USER:SANDI@10.0.0.5:%(port)s")
            % {"url": redact_url(url), "scheme": scheme, "port": default_port})
    if parts.path not in ("", "/"):
        raise ConnectionURLError(
            _("URL %(scheme)s:// tidak memakai path (%(path)r); opsi ditulis setelah '?'.")
            % {"scheme": scheme, "path": parts.path})
    from urllib.parse import unquote

    return (parts.hostname, port or default_port, unquote(parts.username or ""),
            unquote(parts.password or ""), parts.query)
