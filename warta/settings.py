"""Django settings for Warta.

Theory of operation: every setting comes from the environment (``WARTA_*``, ``DATABASE_URL``) with
defaults that serve a laptop demo: SQLite in ``WARTA_DATA_DIR`` (``./var``), a secret key generated
once and kept in that directory, no TLS. Production sets ``DATABASE_URL`` (PostgreSQL),
``WARTA_SECRET_KEY`` (or ``WARTA_SECRET_KEY_FILE``), ``WARTA_ALLOWED_HOSTS`` and
``WARTA_HTTPS=1``; ``warta check --deploy`` then passes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "ya"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("WARTA_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key from the environment, a file, or (demo) one generated once into DATA_DIR."""
    if os.environ.get("WARTA_SECRET_KEY"):
        return os.environ["WARTA_SECRET_KEY"]
    if os.environ.get("WARTA_SECRET_KEY_FILE"):
        return Path(os.environ["WARTA_SECRET_KEY_FILE"]).read_text().strip()
    path = DATA_DIR / "secret.key"
    if not path.exists():
        # Written whole to a private (0600) temporary file, then linked into place: `warta run`
        # starts several processes at once on a fresh data directory, and the first link wins
        # while the others read the winner's key (never a half-written or a second key).
        tmp = DATA_DIR / f".secret.key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("WARTA_DEBUG", False)
HTTPS = env_bool("WARTA_HTTPS", False)
ALLOWED_HOSTS = env_list("WARTA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("WARTA_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "warta.core",
    "warta.accounts",
    "warta.contacts",
    "warta.blasts",
    "warta.inbox",
    "warta.insights",
    "warta.reports",
    "warta.gateway",
    "warta.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "warta.core.csp.ContentSecurityPolicyMiddleware",  # strict CSP: no inline script (docs/security.md)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "warta.accounts.middleware.IdleSessionMiddleware",  # Django's, but polls are not activity
    "warta.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "warta.accounts.middleware.TwoFactorMiddleware",
    "warta.accounts.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that a lockout answer is rendered by Warta rather than by a bare 403.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "warta.urls"
WSGI_APPLICATION = "warta.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "warta.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'warta.sqlite3'}",
        conn_max_age=env_int("WARTA_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One test database per test process, so that concurrent runs on one server (developers,
    # CI, benchmarks) never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the engine writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on busy_timeout instead of failing a lock upgrade mid-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout (django-axes): counted per account and, separately, per address, so that neither one
# attacker guessing many accounts nor many addresses guessing one account gets unlimited tries.
AXES_FAILURE_LIMIT = env_int("WARTA_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("WARTA_LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "warta.accounts.views.locked_out"
# One client-address function (warta/lib/clientaddr.py) for the lockout, the audit trail and the
# rate limits, so that all three agree and none trusts what the client wrote in X-Forwarded-For.
WARTA_PROXY_COUNT = env_int("WARTA_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "warta.lib.clientaddr.client_address"
AXES_VERBOSE = False

# Sessions end after inactivity: renewed on every request except htmx polls
# (warta/accounts/middleware.py, IdleSessionMiddleware).
SESSION_COOKIE_AGE = env_int("WARTA_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

OTP_TOTP_ISSUER = "Warta SMS Center DKI Jakarta"

if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("WARTA_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is a domain owner's decision, not ours
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "warta.core.storage.StaticStorage"},  # WhiteNoise's, never a 500
}
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("WARTA_SMTP_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("WARTA_SMTP_HOST", "")
EMAIL_PORT = env_int("WARTA_SMTP_PORT", 587)
EMAIL_HOST_USER = os.environ.get("WARTA_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("WARTA_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("WARTA_SMTP_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("WARTA_FROM_EMAIL", "warta@localhost")

TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "warta.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("WARTA_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

WARTA = {
    # Roles whose accounts must use TOTP two-factor login (issue: "Login that a government can trust").
    "TWO_FACTOR_ROLES": env_list("WARTA_TWO_FACTOR_ROLES", "admin,approver"),
    "SMS_CENTER_NUMBER": os.environ.get("WARTA_SMS_CENTER_NUMBER", "+622132881818"),
    # Normal blasts are held in these hours (WIB); emergency blasts are not.
    "QUIET_HOURS": os.environ.get("WARTA_QUIET_HOURS", "21:00-06:00"),
    # Password-reset requests per hour, per client address and per e-mail address.
    "PASSWORD_RESET_PER_ADDRESS": env_int("WARTA_PASSWORD_RESET_PER_ADDRESS", 5),
    "PASSWORD_RESET_PER_EMAIL": env_int("WARTA_PASSWORD_RESET_PER_EMAIL", 3),
    # Test sends of drafts (to verified staff phones only): per author and for the office, per day.
    "TEST_SENDS_PER_USER_PER_DAY": int(os.environ.get("WARTA_TEST_SENDS_PER_USER_PER_DAY", "5")),
    "TEST_SENDS_PER_DAY": int(os.environ.get("WARTA_TEST_SENDS_PER_DAY", "30")),
    # Change of an approved blast's deliverable set that release tolerates without new approval.
    "AUDIENCE_ADDED_TOLERANCE": int(os.environ.get("WARTA_AUDIENCE_ADDED_TOLERANCE", "0")),
    "AUDIENCE_REMOVED_TOLERANCE_PERCENT": float(os.environ.get("WARTA_AUDIENCE_REMOVED_TOLERANCE_PERCENT", "5")),
}
