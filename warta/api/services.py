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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import Role, Unit, User
from warta.accounts.permissions import has_capability

from .models import ApiClient, ApiToken

TOKEN_RE = re.compile(r"^wrt_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


class ApiError(Exception):
    """A refusal the API answers with ``{"detail": message, "code": code}`` and ``status``."""

    def __init__(self, status: int, code: str, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


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
        raise ApiError(400, "user_not_unit_scoped", _(
            "Token API selalu terbatas pada satu unit: pengguna %(user)s harus Penghubung Unit %(unit)s. "
            "Tanpa --user, akun layanan unit dibuat otomatis.") % {"user": user.username, "unit": unit.code})
    name = slugify(name)
    if not name:
        raise ApiError(400, "invalid_name", _("Nama klien wajib diisi (huruf, angka, tanda hubung)."))
    if ApiClient.objects.filter(name=name).exists():
        raise ApiError(400, "duplicate_name", _("Klien API bernama %(name)s sudah ada.") % {"name": name})
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


def issue_token(client: ApiClient, actor: User | None, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``client``; the value is returned once and never kept."""
    _require(actor)
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=f"wrt_{prefix}").exists():
            break
    value = f"wrt_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(client=client, prefix=f"wrt_{prefix}", token_hash=hash_token(value),
                                    created_by=actor, expires_at=expires_at)
    audit.record("api.token_created", token, actor=actor, unit=client.unit, object_repr=token.prefix,
                 changes={"client": client.name, "prefix": token.prefix,
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
        raise ApiError(404, "token_not_found", _("Token dengan awalan %(p)s tidak ada.") % {"p": prefix}) from None
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


def authenticate(value: str, now: datetime | None = None) -> Caller:
    """The caller a bearer token stands for, or ``ApiError(401)`` saying why not."""
    now = now or timezone.now()
    m = TOKEN_RE.match(value or "")
    token = None
    if m:
        token = ApiToken.objects.select_related("client__user__unit", "client__unit").filter(
            prefix=f"wrt_{m.group(1)}").first()
    # Compare even when no row was found, so that unknown prefixes cost the same as known ones.
    stored = token.token_hash if token is not None else "0" * 64
    if not hmac.compare_digest(stored, hash_token(value or "")) or token is None:
        raise ApiError(401, "token_invalid", _("Token tidak dikenal. Periksa header Authorization: Bearer <token>."))
    if token.revoked_at is not None:
        raise ApiError(401, "token_revoked", _("Token ini sudah dicabut. Minta token baru kepada administrator Warta."))
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiError(401, "token_expired", _("Token ini sudah kedaluwarsa. Minta token baru kepada administrator Warta."))
    client = token.client
    if not client.is_active or not client.user.is_active:
        raise ApiError(401, "client_inactive", _("Klien API ini dinonaktifkan. Hubungi administrator Warta."))
    if not is_unit_scoped(client.user, client.unit):
        # A client made before tokens were always unit-scoped, or whose user changed role since.
        raise ApiError(401, "client_not_unit_scoped", _(
            "Klien API ini tidak terbatas pada unitnya dan ditolak. Minta administrator Warta membuat klien baru."))
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return Caller(client=client, token=token)


def clients_overview() -> list[dict[str, Any]]:
    return [{"client": c, "tokens": list(c.tokens.all())}
            for c in ApiClient.objects.select_related("unit", "user").prefetch_related("tokens")]
