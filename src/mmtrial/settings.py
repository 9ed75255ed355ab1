"""Django settings for mmtrial: one module; environment variables choose the database.

- MMTRIAL_DATA_DIR: where the SQLite database and the secret key live (default ./var/).
- DATABASE_URL: a PostgreSQL URL (psycopg 3) for multi-site use; SQLite in WAL mode otherwise.
- MMTRIAL_DEBUG=1: development mode. MMTRIAL_ALLOWED_HOSTS: comma-separated host names.
- MMTRIAL_AUDIT_KEY or MMTRIAL_AUDIT_KEY_FILE: the key that seals the audit chain's head, kept
  outside the database and its backups (mmtrial.edc.audit_seal; docs/operations.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("MMTRIAL_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """From the environment, else a random key kept in the data directory (created once)."""
    if key := os.environ.get("MMTRIAL_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("MMTRIAL_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h
    for h in os.environ.get("MMTRIAL_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # its Swagger UI files, served locally (no CDN: sites may be offline)
    "mmtrial.edc",
    "mmtrial.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "mmtrial.web.middleware.WebAccessMiddleware",
]

ROOT_URLCONF = "mmtrial.web.urls"
WSGI_APPLICATION = "mmtrial.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        config["ATOMIC_REQUESTS"] = False
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "mmtrial.sqlite3",
        # Keep each worker's connection: closing the last connection to a WAL database
        # checkpoints it and syncs the file, which cost 5-25 ms on every request (measured,
        # docs/benchmarks.md, web section).
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at
            # BEGIN so that two writers queue instead of failing half-way with "database locked".
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": _database()}

# The rendered participant timelines (mmtrial.web.timeline_cache): each worker keeps its own in
# memory; the key is checked against the database on every request, so no worker can serve a
# stale one. MMTRIAL_TIMELINE_CACHE=off renders every request (the benchmark's "before").
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "timeline": (
        {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
        if os.environ.get("MMTRIAL_TIMELINE_CACHE", "") == "off"
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "mmtrial-timeline",
            # about 25 kB a page: at most about 50 MB per worker
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "edc.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "mmtrial.edc.passwords.PasswordHistoryValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_TIME = None  # only a logged administrator action unlocks an account
AXES_LOCKOUT_TEMPLATE = "web/lockout.html"
# Accounts are locked by user name (21 CFR 11.300(d)); rotating IP addresses must not unlock them.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

SESSION_COOKIE_AGE = 30 * 60  # idle timeout (EMA computerised systems guideline, Annex 4)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Behind TLS (every real deployment) set MMTRIAL_HTTPS=1; the local demo runs on plain HTTP.
SESSION_COOKIE_SECURE = os.environ.get("MMTRIAL_HTTPS", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# Kept outside the database (and outside its backups): see mmtrial.edc.audit_seal.
MMTRIAL_AUDIT_KEY = os.environ.get("MMTRIAL_AUDIT_KEY", "")
MMTRIAL_AUDIT_KEY_FILE = os.environ.get("MMTRIAL_AUDIT_KEY_FILE", "")
# Passwords: no reuse of the last N (validator above); the maximum age is the sponsor
# administrator's audited setting (SecurityPolicy), not a setting here.
MMTRIAL_PASSWORD_HISTORY = 5

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MMTRIAL_LOG_LEVEL", "WARNING")},
}
