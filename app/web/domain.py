"""Cross-cutting HTTP state that expires: rate-limit buckets and idempotency records."""

from __future__ import annotations

from app.domains import Domain

DOMAIN = Domain(
    name="web",
    cleanup={
        "idempotency_records": "DELETE FROM idempotency_record WHERE expires_at < now()",
        "rate_limit_buckets": "DELETE FROM rate_limit_bucket WHERE updated_at < now() - interval '1 hour'",
    },
)
