"""E-mail to people of a tenant, to invited addresses, to invoice customers and to the recipients of messages, when
the operator configured `SMTP_URL` (smtp://user:password@host:port, STARTTLS when the server offers it; smtps:// for
TLS from the start). One async SMTP client (aiosmtplib) for all of them, so sending never blocks the event loop."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import aiosmtplib

from app.db import fetch, tenant_transaction
from app.settings import current

log = logging.getLogger(__name__)

# What a mail server or the way to it can fail with (the caller's job is retried, or the failure is logged).
MailError = (OSError, aiosmtplib.SMTPException)

# A file sent with a message: (file name, content, MIME type such as "application/pdf").
Attachment = tuple[str, bytes, str]


def compose(
    recipients: Sequence[str],
    subject: str,
    text: str,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    html: str | None = None,
) -> EmailMessage:
    """A message from MAIL_FROM, with its extra `headers` (List-Unsubscribe, Message-ID…) and an HTML part when given."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = current().mail_from, ", ".join(recipients), subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content, media_type in attachments:
        maintype, _, subtype = media_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


async def send_message(url: str, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server of `url`; its failure is raised."""
    parts = urlparse(url)
    tls = parts.scheme == "smtps"
    await aiosmtplib.send(
        message,
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password or "") if parts.username else None,
        use_tls=tls,
        timeout=10,
    )


async def send_to_address(address: str, subject: str, text: str) -> None:
    """Mail one address that is not (yet) a user, such as an invitation's; failures are logged."""
    try:
        await deliver(address, subject, text)
    except MailError:
        log.warning("could not send e-mail to %s", address, exc_info=True)


async def deliver(address: str, subject: str, text: str, attachments: Sequence[Attachment] = ()) -> bool:
    """Mail one address with attachments; False without SMTP_URL. A mail server's failure is raised, so the job sending
    it is retried."""
    settings = current()
    if not settings.smtp_url:
        return False
    await send_message(settings.smtp_url, compose([address], subject, text, attachments))
    return True


async def send_to_users(tenant_id: int, user_ids: list[int], subject: str, text: str) -> None:
    """Mail these users; a mail server's failure is logged, never raised."""
    settings = current()
    if not settings.smtp_url or not user_ids:
        return
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT email FROM app_user WHERE tenant_id = $1 AND id = ANY($2::bigint[])", tenant_id, user_ids)
    recipients = [r["email"] for r in rows]
    if not recipients:
        return
    try:
        await send_message(settings.smtp_url, compose(recipients, subject, text))
    except MailError:
        log.warning("could not send e-mail to %s", recipients, exc_info=True)
