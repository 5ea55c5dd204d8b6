"""Signatures of webhook deliveries: the guide's `sha256=<hex>` header and the Standard Webhooks headers.

- `X-Atrium-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, keyed by the secret's text as is
  (the reference guide §2.4: `hmac.new(secret.encode(), request.body, hashlib.sha256)`);
- `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
  (standardwebhooks.com), keyed by the base64 bytes after `whsec_` (or the secret's text when it is
  not base64), so the `standardwebhooks` libraries verify it.

While a rotated-out secret is still valid, `webhook-signature` carries both signatures (space
separated, as the standard allows) and `X-Atrium-Signature-Previous` the old secret's hex signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def generate_secret() -> str:
    """A new secret: `whsec_` and 32 random bytes in base64 (valid for both signature schemes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def atrium_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: what the guide's Python and Node examples compute."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks key: the base64 after `whsec_`, else the secret's own bytes."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>` over `{id}.{timestamp}.{body}`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(
    *, event_type: str, delivery_key: str, body: bytes, timestamp: int, secret: str, previous_secret: str | None = None
) -> dict[str, str]:
    """Every header of a delivery (the same delivery id on every retry)."""
    signatures = [standard_signature(secret, delivery_key, timestamp, body)]
    out = {
        "Content-Type": "application/json",
        "User-Agent": "Atrium-Webhooks/1",
        "X-Atrium-Event": event_type,
        "X-Atrium-Delivery-ID": delivery_key,
        "X-Atrium-Signature": atrium_signature(secret, body),
        "webhook-id": delivery_key,
        "webhook-timestamp": str(timestamp),
    }
    if previous_secret:
        signatures.append(standard_signature(previous_secret, delivery_key, timestamp, body))
        out["X-Atrium-Signature-Previous"] = atrium_signature(previous_secret, body)
    out["webhook-signature"] = " ".join(signatures)
    return out


def masked(secret: str) -> str:
    """A secret as lists show it after creation: its prefix and last four characters."""
    return f"{secret[:6]}…{secret[-4:]}" if len(secret) > 12 else "…"
