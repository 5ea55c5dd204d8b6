"""E-mail to people of a tenant and to invited addresses, when the operator configured `SMTP_URL`
(smtp://user:password@host:port, smtps:// for TLS)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from app.db import fetch, tenant_transaction
from app.settings import current

log = logging.getLogger(__name__)


# A file sent with a message: (file name, content, MIME type such as "application/pdf").
Attachment = tuple[str, bytes, str]


def _send(url: str, sender: str, recipients: list[str], subject: str, text: str, attachments: Sequence[Attachment] = ()) -> None:
    parts = urlparse(url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message.set_content(text)
    for filename, content, media_type in attachments:
        maintype, _, subtype = media_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25), timeout=10) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


async def send_to_address(address: str, subject: str, text: str) -> None:
    """Mail one address that is not (yet) a user, such as an invitation's (off the event loop); failures are logged."""
    try:
        await deliver(address, subject, text)
    except (OSError, smtplib.SMTPException):
        log.warning("could not send e-mail to %s", address, exc_info=True)


async def deliver(address: str, subject: str, text: str, attachments: Sequence[Attachment] = ()) -> bool:
    """Mail one address with attachments (off the event loop); False without SMTP_URL. A mail server's failure is
    raised, so the job sending it is retried."""
    settings = current()
    if not settings.smtp_url:
        return False
    await asyncio.to_thread(_send, settings.smtp_url, settings.mail_from, [address], subject, text, attachments)
    return True


async def send_to_users(tenant_id: int, user_ids: list[int], subject: str, text: str) -> None:
    """Mail these users (off the event loop); a mail server's failure is logged, never raised."""
    settings = current()
    if not settings.smtp_url or not user_ids:
        return
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT email FROM app_user WHERE tenant_id = $1 AND id = ANY($2::bigint[])", tenant_id, user_ids)
    recipients = [r["email"] for r in rows]
    if not recipients:
        return
    try:
        await asyncio.to_thread(_send, settings.smtp_url, settings.mail_from, recipients, subject, text)
    except (OSError, smtplib.SMTPException):
        log.warning("could not send e-mail to %s", recipients, exc_info=True)
