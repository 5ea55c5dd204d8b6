"""Settings read from the environment once, validated, with errors that name the bad value."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import platformdirs


class SettingsError(ValueError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration. See the configuration table in README.md."""

    database_url: str | None
    queue_url: str | None
    secret_key: str
    base_url: str
    data_dir: Path
    host: str
    port: int
    access_token_ttl: int
    refresh_token_ttl: int
    session_ttl: int
    worker_concurrency: int
    cookie_secure: bool
    log_level: str
    rate_limits: dict[str, int]  # requests per minute per plan; 0: that plan is not limited
    webhook_retry_delays: tuple[int, ...] = (60, 300, 900)
    webhook_allow_private_targets: bool = False
    smtp_url: str | None = None
    mail_from: str = "atrium@localhost"
    sms_api_url: str | None = None  # a Twilio-style Messages endpoint (form POST To, From, Body; JSON answer with `sid`)
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str = ""
    sms_status_callback: bool = True  # ask the provider to post delivery statuses to /v2/webhooks/sms-provider
    messages_per_minute: int = 60  # MESSAGES_PER_MINUTE: what one workspace may send in a minute (0: no limit)
    nurture_day_seconds: int = 86400  # NURTURE_DAY_SECONDS: how long a "day" of a nurture sequence's cadence lasts (tests shorten it)
    environment: str = "production"
    rate_limiting: bool = True  # RATE_LIMITS=off: nothing is limited (a private deployment, a benchmark)
    database_owner_url: str | None = None  # migrations only (the schema owner); default: DATABASE_URL
    database_system_url: str | None = None  # cross-tenant lookups and the queue; default: DATABASE_URL (with a warning)
    job_heartbeat: int = 0  # JOB_HEARTBEAT: replaces the heartbeat long jobs declare (0: as declared, 30 s for imports and exports)
    job_sweep_interval: int = 15  # JOB_SWEEP_INTERVAL: seconds between a worker's sweeps for jobs whose worker died

    @property
    def embedded(self) -> bool:
        """True when Atrium runs its own PostgreSQL server."""
        return self.database_url is None

    @property
    def session_cookie(self) -> str:
        """The session cookie's name: `__Host-` under HTTPS, so no subdomain or plain-HTTP page can set it."""
        return "__Host-atrium_session" if self.cookie_secure else "atrium_session"

    @property
    def csrf_cookie(self) -> str:
        """The CSRF cookie's name (`__Host-` under HTTPS, like the session's)."""
        return "__Host-atrium_csrf" if self.cookie_secure else "atrium_csrf"


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


DEFAULT_RATE_LIMITS = {"starter": 60, "professional": 100, "enterprise": 500}


def _rate_limits(env: dict[str, str]) -> tuple[dict[str, int], bool]:
    """`RATE_LIMITS=starter=60,enterprise=2000`: requests per minute per plan (unnamed plans keep their default);
    `enterprise=off` (or 0) lifts one plan's limit, `RATE_LIMITS=off` every limit. Returns (limits, limiting)."""
    limits = dict(DEFAULT_RATE_LIMITS)
    raw = env.get("RATE_LIMITS", "").strip()
    if raw.lower() in ("off", "0", "false", "no", "none", "unlimited"):
        return limits, False
    for part in filter(None, (p.strip() for p in raw.split(","))):
        plan, _, value = (x.strip() for x in part.partition("="))
        value = "0" if value.lower() == "off" else value
        if plan not in limits or not value.isdigit():
            raise SettingsError(
                f"RATE_LIMITS={raw!r}: use plan=requests_per_minute pairs (or plan=off), or off for no limits; plans: {', '.join(limits)}"
            )
        limits[plan] = int(value)
    return limits, True


def _url(env: dict[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or None
    if raw is None:
        return None
    scheme = urlparse(raw).scheme.lower()
    if not any(scheme == s or scheme.startswith(s + "+") for s in schemes):
        raise SettingsError(f"{name} must start with one of {', '.join(s + '://' for s in schemes)} (got {scheme or 'no scheme'}://)")
    return raw


def _secret_key(env: dict[str, str], data_dir: Path, embedded: bool) -> str:
    raw = env.get("SECRET_KEY")
    if raw:
        if len(raw) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters long")
        return raw
    if not embedded:
        raise SettingsError("SECRET_KEY must be set when DATABASE_URL points at an external PostgreSQL (every process must share it)")
    # First embedded run: generate the key and keep it next to the data so restarts keep sessions valid.
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _delays(env: dict[str, str]) -> tuple[int, ...]:
    """`WEBHOOK_RETRY_DELAYS=60,300,900`: seconds before each retry of a failed webhook delivery."""
    raw = env.get("WEBHOOK_RETRY_DELAYS", "").strip()
    if not raw:
        return (60, 300, 900)
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isdigit() for p in parts) or len(parts) > 10:
        raise SettingsError(f"WEBHOOK_RETRY_DELAYS={raw!r}: use up to 10 comma-separated whole numbers of seconds, like 60,300,900")
    return tuple(int(p) for p in parts)


def _flag(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} must be 1 or 0")


_installed: Settings | None = None


def install(settings: Settings) -> None:
    """Make `settings` the process's settings (the app and the worker call this at start-up)."""
    global _installed
    _installed = settings


def current() -> Settings:
    """The process's settings (installed at start-up, else read from the environment)."""
    return _installed if _installed is not None else load_settings()


def base_url() -> str:
    """Where people open Atrium (links in events and e-mails): the installed settings' BASE_URL."""
    if _installed is not None:
        return _installed.base_url
    return (os.environ.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings from the environment (or the given mapping)."""
    env = dict(os.environ if env is None else env)
    database_url = _url(env, "DATABASE_URL", ("postgres", "postgresql"))
    queue_url = _url(env, "QUEUE_URL", ("postgres", "postgresql", "redis", "rediss"))
    data_dir = Path(env.get("ATRIUM_DATA_DIR") or platformdirs.user_data_dir("atrium")).expanduser()
    host = env.get("ATRIUM_HOST", "127.0.0.1")
    port = _int(env, "ATRIUM_PORT", 8000, minimum=1)
    if port > 65535:
        raise SettingsError(f"ATRIUM_PORT={port} is not a TCP port")
    base_url = (env.get("BASE_URL") or f"http://{host}:{port}").rstrip("/")
    if urlparse(base_url).scheme not in ("http", "https"):
        raise SettingsError(f"BASE_URL={base_url!r} must start with http:// or https://")
    log_level = env.get("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"LOG_LEVEL={log_level!r} must be one of DEBUG, INFO, WARNING, ERROR")
    rate_limits, rate_limiting = _rate_limits(env)
    for name in ("DATABASE_OWNER_URL", "DATABASE_SYSTEM_URL"):
        if database_url is None and env.get(name):
            raise SettingsError(f"{name} is for an external PostgreSQL: set DATABASE_URL too (the embedded server has its own)")
    return Settings(
        database_url=database_url,
        queue_url=queue_url,
        secret_key=_secret_key(env, data_dir, embedded=database_url is None),
        base_url=base_url,
        data_dir=data_dir,
        host=host,
        port=port,
        access_token_ttl=_int(env, "ACCESS_TOKEN_TTL", 3600, minimum=60),
        refresh_token_ttl=_int(env, "REFRESH_TOKEN_TTL", 7 * 24 * 3600, minimum=60),
        session_ttl=_int(env, "SESSION_TTL", 12 * 3600, minimum=60),
        worker_concurrency=_int(env, "WORKER_CONCURRENCY", 10, minimum=1),
        cookie_secure=base_url.startswith("https://"),
        log_level=log_level,
        rate_limits=rate_limits,
        rate_limiting=rate_limiting,
        webhook_retry_delays=_delays(env),
        webhook_allow_private_targets=_flag(env, "WEBHOOK_ALLOW_PRIVATE_TARGETS"),
        smtp_url=_url(env, "SMTP_URL", ("smtp", "smtps")),
        mail_from=env.get("MAIL_FROM", "atrium@localhost"),
        sms_api_url=_url(env, "SMS_API_URL", ("http", "https")),
        sms_account_sid=env.get("SMS_ACCOUNT_SID", ""),
        sms_auth_token=env.get("SMS_AUTH_TOKEN", ""),
        sms_from=env.get("SMS_FROM", ""),
        sms_status_callback=env.get("SMS_STATUS_CALLBACK", "1").strip().lower() not in ("0", "false", "no", "off"),
        messages_per_minute=_int(env, "MESSAGES_PER_MINUTE", 60, minimum=0),
        nurture_day_seconds=_int(env, "NURTURE_DAY_SECONDS", 86400, minimum=1),
        database_owner_url=_url(env, "DATABASE_OWNER_URL", ("postgres", "postgresql")),
        database_system_url=_url(env, "DATABASE_SYSTEM_URL", ("postgres", "postgresql")),
        job_heartbeat=_int(env, "JOB_HEARTBEAT", 0, minimum=0),
        job_sweep_interval=_int(env, "JOB_SWEEP_INTERVAL", 15, minimum=1),
        environment=(env.get("ATRIUM_ENV") or ("development" if database_url is None else "production")).strip()[:40],
    )
