"""API clients and tokens: creation, revocation, authentication.

Theory of operation: a token is ``wrt_<prefix>_<secret>`` with 8 random hex characters of prefix
and 32 random bytes of secret (urlsafe base64). The row keeps the prefix and the SHA-256 of the
whole token; a presented token is found by its prefix and compared hash-to-hash with
``hmac.compare_digest``, so neither the lookup nor the compare leaks the secret through timing.
The token value exists only in the return value of ``issue_token``: it is never stored, logged or
audited (the audit trail names the prefix).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from warta.accounts import audit
from warta.accounts.models import Role, Unit, User
from warta.accounts.permissions import has_capability

from . import ratelimit
from .errors import ApiError
from .models import ALL_SCOPES, ApiClient, ApiToken

TOKEN_RE = re.compile(r"^wrt_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _require(actor: User | None) -> None:
    # The shell (actor None) is trusted like every other `warta` command.
    if actor is not None and not has_capability(actor, "api.manage"):
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_unit_scoped(user: User, unit: Unit) -> bool:
    """A client acts only as a liaison of its own unit: never with a central role's reach over
    every unit, and never as a person whose login needs a second factor the API cannot ask for."""
    return user.role == Role.LIAISON and user.unit_id == unit.pk


def create_client(name: str, unit: Unit, actor: User | None, user: User | None = None) -> ApiClient:
    """A client of ``unit``; without ``user`` a service account (liaison of the unit) is made.
    A named ``user`` must be a liaison of ``unit`` (``is_unit_scoped``)."""
    _require(actor)
    if user is not None and not is_unit_scoped(user, unit):
        raise ApiError(400, "user_not_unit_scoped", gettext_lazy(
            "Token API selalu terbatas pada satu unit: pengguna %(user)s harus Penghubung Unit %(unit)s. "
            "Tanpa --user, akun layanan unit dibuat otomatis."), {"user": user.username, "unit": unit.code})
    name = slugify(name)
    if not name:
        raise ApiError(400, "invalid_name", gettext_lazy("Nama klien wajib diisi (huruf, angka, tanda hubung)."))
    if ApiClient.objects.filter(name=name).exists():
        raise ApiError(400, "duplicate_name", gettext_lazy("Klien API bernama %(name)s sudah ada."), {"name": name})
    with transaction.atomic():
        if user is None:
            # A service account that cannot log in to the web: it exists so that the API acts with
            # exactly a liaison's rights and the audit trail has someone to name.
            user = User(username=f"api-{name}"[:150], role=Role.LIAISON, unit=unit,
                        first_name=f"API {name}"[:150])
            user.set_unusable_password()
            user.save()
        client = ApiClient.objects.create(name=name, unit=unit, user=user, created_by=actor)
        audit.record("api.client_created", client, actor=actor, unit=unit,
                     changes={"name": name, "unit": unit.code, "user": user.username})
    return client


def clean_scopes(scopes: list[str] | tuple[str, ...] | None) -> list[str]:
    """``scopes`` checked and sorted; ``all`` stands for every scope."""
    wanted = set(scopes or [])
    if "all" in wanted:
        return list(ALL_SCOPES)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise ApiError(400, "invalid_scope", gettext_lazy("Cakupan tidak dikenal: %(s)s. Pilih dari: %(all)s."),
                       {"s": ", ".join(unknown), "all": ", ".join(ALL_SCOPES)})
    return [s for s in ALL_SCOPES if s in wanted]


def issue_token(client: ApiClient, actor: User | None, expires_at: datetime | None = None,
                scopes: list[str] | tuple[str, ...] | None = None, name: str = "",
                rate: float | None = None, burst: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``client``; the value is returned once and never kept.

    ``scopes`` None gives ``materi:write`` only (what tokens could do before scopes existed)."""
    _require(actor)
    # A token always acts for exactly one unit: its client's, as a liaison of that unit (the same
    # rule ``authenticate`` applies to tokens issued before it existed).
    if client.unit_id is None or not is_unit_scoped(client.user, client.unit):
        raise ApiError(400, "client_not_unit_scoped", gettext_lazy(
            "Klien API ini tidak terbatas pada unitnya; token tidak dapat dibuat. "
            "Minta administrator Warta membuat klien baru."))
    scope_list = clean_scopes(scopes) if scopes is not None else ["materi:write"]
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=f"wrt_{prefix}").exists():
            break
    value = f"wrt_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(client=client, prefix=f"wrt_{prefix}", token_hash=hash_token(value),
                                    created_by=actor, expires_at=expires_at, scopes=scope_list,
                                    name=name[:60], rate=rate, burst=burst)
    audit.record("api.token_created", token, actor=actor, unit=client.unit, object_repr=token.prefix,
                 changes={"client": client.name, "prefix": token.prefix, "name": token.name, "scopes": scope_list,
                          "expires_at": expires_at.isoformat() if expires_at else None})
    return token, value


def revoke_token(prefix: str, actor: User | None) -> ApiToken:
    _require(actor)
    prefix = prefix.strip()
    if not prefix.startswith("wrt_"):
        prefix = f"wrt_{prefix}"
    prefix = prefix[:12]  # a whole token pasted by mistake is cut to its public part
    try:
        token = ApiToken.objects.select_related("client__unit").get(prefix=prefix)
    except ApiToken.DoesNotExist:
        raise ApiError(404, "token_not_found", gettext_lazy("Token dengan awalan %(p)s tidak ada."), {"p": prefix}) from None
    n = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now(),
                                                                           revoked_by=actor)
    token.refresh_from_db()
    if n:
        audit.record("api.token_revoked", token, actor=actor, unit=token.client.unit, object_repr=token.prefix,
                     changes={"client": token.client.name, "prefix": token.prefix})
    return token


@dataclass
class Caller:
    client: ApiClient
    token: ApiToken

    @property
    def user(self) -> User:
        return self.client.user

    @property
    def unit(self) -> Unit:
        return self.client.unit

    def unit_ids(self) -> list[int]:
        """The caller's unit and its sub-units: what every endpoint narrows to."""
        return self.client.unit.descendant_ids()

    def require(self, scope: str) -> None:
        if scope not in (self.token.scopes or []):
            raise ApiError(403, "scope_missing", gettext_lazy("Token ini tidak memiliki cakupan %(scope)s. Minta "
                                                        "administrator Warta menambahkannya pada token baru."),
                           {"scope": scope})

    def audit(self, action: str, obj: Any = None, **changes: Any) -> None:
        """The audit event of a change made through the API, naming the client and the key."""
        audit.record(action, obj, actor=self.user, unit=self.unit,
                     changes={"client": self.client.name, "credential": self.token.prefix,
                              "credential_name": self.token.name, **changes})


# Keys this process has just answered 429, by token hash -> the time until which the bucket
# cannot hold a request (the database said so; other workers can only empty it further). A key
# flooding a worker is then refused without a database query, so it cannot slow the database for
# everyone else. Per process and bounded; holds hashes only, never token values.
_cooling: dict[str, float] = {}
_COOLING_MAX = 10_000


def _too_many(wait: float) -> ApiError:
    return ApiError(429, "rate_limited", gettext_lazy("Terlalu banyak permintaan dari token ini. Coba lagi setelah %(s)s detik."),
                    {"s": ratelimit.retry_after_header(wait)},
                    headers={"Retry-After": ratelimit.retry_after_header(wait)})


def authenticate(value: str, now: datetime | None = None, ip: str | None = None) -> Caller:
    """The caller a bearer token stands for, or ``ApiError`` (401, or 429 when over its rate)."""
    now = now or timezone.now()
    digest = hash_token(value or "")
    until = _cooling.get(digest)
    if until is not None:
        left = until - time.time()
        if left > 0:
            raise _too_many(left)
        _cooling.pop(digest, None)
    m = TOKEN_RE.match(value or "")
    token = None
    if m:
        token = ApiToken.objects.select_related("client__user__unit", "client__unit").filter(
            prefix=f"wrt_{m.group(1)}").first()
    # Compare even when no row was found, so that unknown prefixes cost the same as known ones.
    stored = token.token_hash if token is not None else "0" * 64
    if not hmac.compare_digest(stored, hash_token(value or "")) or token is None:
        raise ApiError(401, "token_invalid", gettext_lazy("Token tidak dikenal. Periksa header Authorization: Bearer <token>."))
    if token.revoked_at is not None:
        raise ApiError(401, "token_revoked", gettext_lazy("Token ini sudah dicabut. Minta token baru kepada administrator Warta."))
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiError(401, "token_expired", gettext_lazy("Token ini sudah kedaluwarsa. Minta token baru kepada administrator Warta."))
    client = token.client
    if not client.is_active or not client.user.is_active:
        raise ApiError(401, "client_inactive", gettext_lazy("Klien API ini dinonaktifkan. Hubungi administrator Warta."))
    if not is_unit_scoped(client.user, client.unit):
        # A client made before tokens were always unit-scoped, or whose user changed role or unit
        # since: every endpoint narrows to the client's unit, so it must act as that unit's liaison.
        raise ApiError(401, "client_not_unit_scoped", gettext_lazy(
            "Klien API ini tidak terbatas pada unitnya dan ditolak. Minta administrator Warta membuat klien baru."))
    wait = ratelimit.take(token)
    if wait:
        if len(_cooling) >= _COOLING_MAX:
            _cooling.clear()
        _cooling[digest] = time.time() + wait
        raise _too_many(wait)
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY or (ip and ip != token.last_used_ip):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return Caller(client=client, token=token)


def clients_overview() -> list[dict[str, Any]]:
    return [{"client": c, "tokens": list(c.tokens.all())}
            for c in ApiClient.objects.select_related("unit", "user").prefetch_related("tokens")]
