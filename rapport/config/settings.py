"""Rapport settings. Everything that differs between machines comes from the environment.

Variables (see docs/operations.md): RAPPORT_DATA_DIR, DATABASE_URL, REDIS_URL, SECRET_KEY,
RAPPORT_DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, RAPPORT_BASE_URL, EMAIL_HOST, EMAIL_PORT,
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL, RAPPORT_SECURE, RAPPORT_ENCRYPTION_KEYS,
RAPPORT_ATTACHMENT_MAX_MB.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("RAPPORT_DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _encryption_keys() -> list[str]:
    """Fernet keys for secrets kept in the database (SMTP and IMAP passwords), newest first.

    RAPPORT_ENCRYPTION_KEYS is a comma-separated list: the first key encrypts, every key decrypts,
    so a key is rotated by putting a new one in front. Without it, one key is generated once and
    kept in the data dir (mode 0600), like SECRET_KEY.
    """
    from_env = _env_list("RAPPORT_ENCRYPTION_KEYS", "")
    if from_env:
        return from_env
    key_file = DATA_DIR / "encryption_key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return [key_file.read_text().strip()]


ENCRYPTION_KEYS = _encryption_keys()
DEBUG = _env_bool("RAPPORT_DEBUG")
TESTING = _env_bool("RAPPORT_TESTING")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")
# The address users reach Rapport at; used in links inside emails (password reset, invites).
BASE_URL = os.environ.get("RAPPORT_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "django_htmx",
    "ninja",
    "csp",
    "rapport.core",
    "rapport.accounts",
    "rapport.contacts",
    "rapport.activities",
    "rapport.integrations",
    "rapport.sales",
    "rapport.service",
    "rapport.web",
]

MIDDLEWARE = [
    "rapport.core.middleware.RequestIdMiddleware",
    "rapport.core.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rapport.accounts.middleware.PrincipalMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.config.urls"
WSGI_APPLICATION = "rapport.config.wsgi.application"
ASGI_APPLICATION = "rapport.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "rapport.web.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "rapport.sqlite3"),
            "OPTIONS": {
                # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock at
                # BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions, background work -------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The database cache keeps several app processes consistent without another server.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "rapport_cache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

HUEY: dict[str, object]
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "rapport", "url": REDIS_URL}
else:
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "rapport", "filename": str(DATA_DIR / "huey.sqlite3")}
# Tests run tasks in-process, right when they are enqueued (which is on transaction commit).
HUEY["immediate"] = TESTING
HUEY["consumer"] = {"workers": 2, "worker_type": "thread", "periodic": True}

# --- authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Lock a user + address pair out after repeated failures (django-axes).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "email"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "rapport.accounts.views.lockout_response"
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "Rapport"

# --- email ----------------------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Rapport <rapport@localhost>")
# Files attached to activities (uploaded, or from synced email): largest accepted size.
ATTACHMENT_MAX_BYTES = int(float(os.environ.get("RAPPORT_ATTACHMENT_MAX_MB", "25")) * 1024 * 1024)
ATTACHMENT_MAX_PER_ACTIVITY = 20
# Refused whatever the content type (compared case-insensitively with the name's last extension):
# programs and scripts that run when opened. See rapport/activities/attachments.py, docs/security.md.
ATTACHMENT_BLOCKED_EXTENSIONS = (
    ".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".cpl", ".msi", ".msp", ".msc", ".dll", ".jar",
    ".js", ".jse", ".mjs", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".ps1", ".psm1", ".sh", ".bash",
    ".lnk", ".reg", ".scf", ".app", ".apk",
)  # fmt: skip
# Uploads: Django keeps a file of up to FILE_UPLOAD_MAX_MEMORY_SIZE in memory and streams a larger
# one to a temporary file (FILE_UPLOAD_TEMP_DIR), so attachments up to ATTACHMENT_MAX_BYTES upload
# with Django's defaults; DATA_UPLOAD_MAX_MEMORY_SIZE counts the other form fields only.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2621440

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- security headers -----------------------------------------------------------------------
SECURE = _env_bool("RAPPORT_SECURE", default=not DEBUG and not TESTING and BASE_URL.startswith("https"))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and _env_bool("RAPPORT_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RAPPORT_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "huey": {"level": "WARNING" if TESTING else "INFO"}},
}

# How long a worker heartbeat stays fresh before /healthz calls the worker down.
WORKER_HEARTBEAT_STALE_SECONDS = 180
IDEMPOTENCY_KEY_TTL_HOURS = 24
# Size of the demo data (`rapport demo`) relative to the full demo (10,000 contacts).
DEMO_SCALE = float(os.environ.get("RAPPORT_DEMO_SCALE", "1"))
