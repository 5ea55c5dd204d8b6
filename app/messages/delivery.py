"""How a communication leaves: e-mail through SMTP (app.events.mail, when SMTP_URL is set), SMS through a Twilio-style
HTTP API (when SMS_API_URL is set), and otherwise the local outbox: the message is kept, marked `outbox`, and shown
under Messages → Outbox like a development mail catcher, so the product works with nothing configured.

Every e-mail carries an unsubscribe link (in its text and as List-Unsubscribe); every SMS says how to opt out (STOP).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import httpx

from app.events import mail
from app.settings import base_url, current

STOP_LINE = "Reply STOP to opt out."


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message ready to leave."""

    communication_id: int
    tenant_id: int
    channel: str
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Sent:
    """How it left: `transport` smtp, sms_api or outbox, and the provider's id of the message when it gave one."""

    transport: str
    provider_message_id: str | None
    body: str  # as sent (with its unsubscribe line)


class DeliveryFailed(Exception):
    """The provider refused the message for good (a 4xx): retrying will not help."""


def _token_key() -> bytes:
    return hashlib.sha256(b"atrium unsubscribe links\x00" + current().secret_key.encode()).digest()


def unsubscribe_token(tenant_id: int, channel: str, address: str) -> str:
    """A link's token naming the tenant, channel and address, signed with the installation's key (nothing to store)."""
    raw = f"{tenant_id}:{channel}:{address}".encode()
    mac = hmac.new(_token_key(), raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def read_unsubscribe_token(token: str) -> tuple[int, str, str] | None:
    """(tenant id, channel, address) of a genuine token, None for a forged or mangled one."""
    try:
        encoded, _, signature = token.partition(".")
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        mac = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if not hmac.compare_digest(hmac.new(_token_key(), raw, hashlib.sha256).digest()[:16], mac):
            return None
        tenant, channel, address = raw.decode().split(":", 2)
        return int(tenant), channel, address
    except (ValueError, UnicodeDecodeError):
        return None


def unsubscribe_url(tenant_id: int, channel: str, address: str) -> str:
    """The page where the recipient opts out."""
    return f"{base_url()}/unsubscribe/{unsubscribe_token(tenant_id, channel, address)}"


def with_opt_out(message: Outgoing) -> str:
    """The body as it is sent: an e-mail ends with its unsubscribe link, an SMS with how to opt out."""
    if message.channel == "sms":
        return message.body if "STOP" in message.body else f"{message.body.rstrip()}\n{STOP_LINE}"
    link = unsubscribe_url(message.tenant_id, "email", message.recipient)
    return f"{message.body.rstrip()}\n\n--\nTo stop receiving these e-mails: {link}\n"


async def send(message: Outgoing) -> Sent:
    """Send through the configured provider, or keep it in the local outbox. A provider's temporary failure is raised
    (the job retries); a refusal for good raises DeliveryFailed."""
    body = with_opt_out(message)
    settings = current()
    if message.channel == "email":
        if not settings.smtp_url:
            return Sent("outbox", None, body)
        message_id = f"<communication-{message.communication_id}.{message.tenant_id}@atrium>"
        link = unsubscribe_url(message.tenant_id, "email", message.recipient)
        email = mail.compose(
            [message.recipient],
            message.subject,
            body,
            headers={
                "Message-ID": message_id,
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "X-Atrium-Communication-ID": str(message.communication_id),
            },
        )
        await mail.send_message(settings.smtp_url, email)
        return Sent("smtp", message_id, body)
    if not settings.sms_api_url:
        return Sent("outbox", None, body)
    form = {"To": message.recipient, "From": settings.sms_from, "Body": body}
    if settings.sms_status_callback:
        form["StatusCallback"] = f"{base_url()}/v2/webhooks/sms-provider?tenant_id={message.tenant_id}"
    auth = httpx.BasicAuth(settings.sms_account_sid, settings.sms_auth_token) if settings.sms_account_sid else None
    async with httpx.AsyncClient(timeout=10, follow_redirects=False, auth=auth) as client:
        response = await client.post(settings.sms_api_url, data=form)
    if 400 <= response.status_code < 500 and response.status_code != 429:
        raise DeliveryFailed(f"The SMS provider refused the message ({response.status_code}): {response.text[:200]}")
    response.raise_for_status()
    try:
        sid = str(response.json().get("sid") or "") or None
    except ValueError:
        sid = None
    return Sent("sms_api", sid, body)
