"""Settings for both first-class configurations, chosen by environment variables.

Embedded default (nothing set): SQLite in CIRROSTACK_DATA_DIR, an in-memory channel layer, and a Celery
broker on the filesystem, so a fresh checkout runs with nothing to install but the project itself.
Production: DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker + results, channels-redis).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CIRROSTACK_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """A stable key per data directory, so sessions and signed values survive restarts without setup."""
    configured = os.environ.get("CIRROSTACK_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("CIRROSTACK_DEBUG")
ALLOWED_HOSTS = env_list("CIRROSTACK_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CIRROSTACK_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "channels",
    "django_htmx",
    "portal",
    "accounts",
    "infrastructure",
    "compute",
    "storage",
    "networking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'cirrostack.sqlite3'}"),
        conn_max_age=int(os.environ.get("CIRROSTACK_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write concurrently: WAL and IMMEDIATE transactions turn
    # "database is locked" failures into short waits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- identity -------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # LDAP logins per domain (LdapConfiguration rows); local users never reach a directory.
    "accounts.ldap_backend.CirrostackLDAPBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous callers are refused upstream
LOGIN_URL = "ui:login"
LOGIN_REDIRECT_URL = "ui:dashboard"
LOGOUT_REDIRECT_URL = "ui:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# PASSWORD_HASHERS is deliberately not set: Django's default list (PBKDF2 first, Argon2/bcrypt/scrypt accepted)
# hashes every portal password, and upgrades older hashes at the next login. Only the tests pick a fast one.

# Seconds a signed-in session (web UI and CloudStack API login) lives without a request: an idle timeout,
# since every request renews the session.
CIRROSTACK_SESSION_TIMEOUT = int(os.environ.get("CIRROSTACK_SESSION_TIMEOUT", "1800"))
SESSION_COOKIE_AGE = CIRROSTACK_SESSION_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True

# Login throttling (accounts.services_security), for every password login (web UI, CloudStack login, LDAP):
# this many failures of one user name, or from one client address, within the window lock further attempts
# for the lockout time (seconds). An address gets more tries, since many users may share one (NAT).
CIRROSTACK_LOGIN_FAILURE_LIMIT = int(os.environ.get("CIRROSTACK_LOGIN_FAILURE_LIMIT", "5"))
CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
CIRROSTACK_LOGIN_FAILURE_WINDOW = int(os.environ.get("CIRROSTACK_LOGIN_FAILURE_WINDOW", "900"))
CIRROSTACK_LOGIN_LOCKOUT = int(os.environ.get("CIRROSTACK_LOGIN_LOCKOUT", "900"))
# Reverse proxies in front of the portal that append to X-Forwarded-For; 0 trusts none (REMOTE_ADDR is the
# client). Set it behind a proxy, or every client shares the proxy's address for throttling.
CIRROSTACK_TRUSTED_PROXIES = int(os.environ.get("CIRROSTACK_TRUSTED_PROXIES", "0"))

# Keys that encrypt stored secrets (API secret keys, LDAP bind passwords), comma-separated: the first encrypts,
# all decrypt (SECRET_KEY too, always). Unset: derived from SECRET_KEY.
CIRROSTACK_ENCRYPTION_KEYS = env_list("CIRROSTACK_ENCRYPTION_KEY", "")

# --- i18n -----------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static files ---------------------------------------------------------------------------------------
# Behind a reverse proxy that mounts the portal under a path and strips it (docs/deploy/nginx.conf):
# CIRROSTACK_URL_PREFIX=/cloud. Django writes its URLs with it (FORCE_SCRIPT_NAME, which WhiteNoise honours
# too), `manage.py serve` passes it to uvicorn as the root path, and Channels' router strips that.
URL_PREFIX = os.environ.get("CIRROSTACK_URL_PREFIX", "").rstrip("/")
if URL_PREFIX and not URL_PREFIX.startswith("/"):
    raise ImproperlyConfigured("CIRROSTACK_URL_PREFIX must start with '/' (e.g. /cloud)")
FORCE_SCRIPT_NAME = URL_PREFIX or None
# Absolute: a relative STATIC_URL gets the script prefix of the first request that reads it, and WhiteNoise
# reads it at start-up, outside any request.
STATIC_URL = f"{URL_PREFIX}/static/"
# noVNC (package.json, installed by bin/cirrostack into node_modules/) is served as it is under static/novnc/:
# it is ES modules importing each other by relative paths, so its files keep their names (no manifest hashing).
STATICFILES_DIRS = [BASE_DIR / "static", ("novnc", BASE_DIR / "node_modules" / "@novnc" / "novnc")]
STATIC_ROOT = DATA_DIR / "static-root"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request until collectstatic has run
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Redis, Celery, Channels ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = DATA_DIR / "broker"

if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    # A broker that needs no server: messages are files under DATA_DIR/broker, so queued jobs
    # survive a restart of the web process and of the worker.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Job outcomes live in our AsyncJob table; Celery's own result store is not consulted.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CIRROSTACK_CELERY_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "cirrostack"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST framework -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: the first class names the WWW-Authenticate challenge, which makes unauthenticated
    # requests 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.rest.authentication.TokenAuthentication",
        "portal.rest.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.rest.permissions.AuthzPermission"],
    "DEFAULT_PAGINATION_CLASS": "portal.rest.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "portal.rest.schema.AutoSchema",
    "EXCEPTION_HANDLER": "portal.rest.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cirrostack API",
    "DESCRIPTION": (
        "REST API of the Cirrostack cloud portal. Long operations answer 202 with an asynchronous job: "
        "poll the job's URL (the Location header) until its status is no longer pending. Every error has "
        "the same body, the Error schema."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI must not call swagger.io's online validator (the docs work offline).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The schema documents this door only; the CloudStack API and the UI have their own contracts.
    "PREPROCESSING_HOOKS": ["portal.rest.schema.only_rest_endpoints"],
    "ENUM_NAME_OVERRIDES": {
        "VmStateEnum": "compute.states.VmState",
        "JobStatusEnum": "portal.api.JOB_STATUS_CHOICES",
        "RulePermissionEnum": "accounts.roles.RolePermission.Permission",
        "AllocationStateEnum": "infrastructure.models.AllocationState",
    },
}

# --- Cirrostack -----------------------------------------------------------------------------------------
# Seconds a graceful stop waits for the guest before it is forced off (CloudStack: vm.stop timeout).
CIRROSTACK_VM_STOP_TIMEOUT = float(os.environ.get("CIRROSTACK_VM_STOP_TIMEOUT", "60"))
# Host heartbeat (CloudStack: ping.interval) and how long a disconnected host waits before it is Down.
CIRROSTACK_HOST_HEARTBEAT_SECONDS = float(os.environ.get("CIRROSTACK_HOST_HEARTBEAT_SECONDS", "60"))
CIRROSTACK_HOST_DOWN_AFTER = float(os.environ.get("CIRROSTACK_HOST_DOWN_AFTER", "300"))
# Local primary storage directory used on hosts until storage pools are modelled.
CIRROSTACK_LOCAL_STORAGE_PATH = os.environ.get("CIRROSTACK_LOCAL_STORAGE_PATH", "/var/lib/cirrostack/primary")
# Where hosts write each guest's serial console log (read by operators and the end-to-end tests).
CIRROSTACK_SERIAL_LOG_DIR = os.environ.get("CIRROSTACK_SERIAL_LOG_DIR", "/var/log/libvirt/qemu")
# Seconds a signed CloudStack request with signatureVersion=3 may be dated into the future.
CIRROSTACK_API_EXPIRES_MAX_AHEAD = int(os.environ.get("CIRROSTACK_API_EXPIRES_MAX_AHEAD", "86400"))
# CloudStack's default.page.size: list commands answer at most this many items per page.
CIRROSTACK_API_DEFAULT_PAGE_SIZE = int(os.environ.get("CIRROSTACK_API_DEFAULT_PAGE_SIZE", "500"))
# Seconds a CloudStack API login session (JSESSIONID + sessionkey) lives without a call (session.timeout);
# CIRROSTACK_SESSION_TIMEOUT unless set on its own.
CIRROSTACK_API_SESSION_TIMEOUT = int(os.environ.get("CIRROSTACK_API_SESSION_TIMEOUT",
                                                    str(CIRROSTACK_SESSION_TIMEOUT)))

# --- the VM console (compute.consumers) ---------------------------------------------------------------------
# Seconds a console ticket stays valid for connecting (at most 60, compute.services_console).
CIRROSTACK_CONSOLE_TOKEN_TTL = int(os.environ.get("CIRROSTACK_CONSOLE_TOKEN_TTL", "30"))
# How often an open console re-checks the session, the permission and where the VM runs.
CIRROSTACK_CONSOLE_RECHECK_SECONDS = float(os.environ.get("CIRROSTACK_CONSOLE_RECHECK_SECONDS", "2"))
# A console without keyboard, pointer or clipboard input for this many seconds is closed.
CIRROSTACK_CONSOLE_IDLE_TIMEOUT = float(os.environ.get("CIRROSTACK_CONSOLE_IDLE_TIMEOUT", "900"))

# Every handler masks console tickets (portal.logmask): the ASGI server logs request paths with their query
# strings, and a console URL carries its ticket there. uvicorn's own loggers are routed through it too
# (Django configures logging after uvicorn did, so this replaces uvicorn's handlers).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "portal.logmask.MaskSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_secrets"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("CIRROSTACK_LOG_LEVEL", "INFO")},
    "loggers": {
        # Instead of Django's default "django" handlers (a DEBUG-only console and admin mails), which skip the mask.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "uvicorn": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- resource limits -------------------------------------------------------------------------------------
# CloudStack's max.account.* / max.domain.* global settings: resource type name -> default max, -1 = unlimited.
RESOURCE_LIMIT_ACCOUNT_DEFAULTS: dict[str, int] = {}
RESOURCE_LIMIT_DOMAIN_DEFAULTS: dict[str, int] = {}
