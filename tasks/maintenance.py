"""Housekeeping jobs: drop expired sessions, tokens, idempotency records and idle rate-limit buckets."""

from __future__ import annotations

from saq.types import Context

from app.db import fetch, system_transaction

PURGES = {
    "sessions": "DELETE FROM user_session WHERE expires_at < now()",
    "revoked_tokens": "DELETE FROM revoked_token WHERE expires_at < now()",
    "idempotency_records": "DELETE FROM idempotency_record WHERE expires_at < now()",
    "rate_limit_buckets": "DELETE FROM rate_limit_bucket WHERE updated_at < now() - interval '1 hour'",
    # Uploaded CSVs (names, phones, e-mails) are kept a week for the report, then emptied.
    "import_files": ("UPDATE import_job SET content = ''::bytea WHERE content <> ''::bytea AND created_at < now() - interval '7 days'"),
    # Finished exports are kept a day for download, then dropped (their files can be large).
    "export_files": "DELETE FROM export_job WHERE finished_at < now() - interval '1 day'",
    "login_throttles": (
        "DELETE FROM login_throttle WHERE window_started_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())"
    ),
}


async def purge_expired(ctx: Context) -> dict[str, int]:
    """Delete rows past their expiry across all tenants (a system job). Idempotent: rerunning deletes nothing new."""
    removed: dict[str, int] = {}
    async with system_transaction():
        for name, sql in PURGES.items():
            rows = await fetch(sql + " RETURNING 1")
            removed[name] = len(rows)
    return removed
