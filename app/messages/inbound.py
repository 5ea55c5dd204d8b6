"""Inbound provider webhooks: e-mail events (SendGrid-style), SMS status callbacks and replies (Twilio-style), GHL
contact and message events, and payment providers' events. Each names its tenant (`?tenant_id=` in the address the
tenant gives its provider), is verified against that tenant's secret for the provider, and is applied exactly once:
its event id goes into `message_provider_event` under a unique index in the same transaction as its effect, so the
same event arriving twice — even at the same moment — is applied by one and acknowledged as a duplicate by the other.
The rows are also the log of what each provider sent.

Signatures:
* e-mail, GHL and payments: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>` (Stripe's scheme; in
  `X-Webhook-Signature`, `X-GHL-Signature` for GHL, `Stripe-Signature` for payments), refused when `t` is more than TOLERANCE seconds away;
* SMS: Twilio's `X-Twilio-Signature`, base64 HMAC-SHA1 of the full URL followed by the sorted form fields' names and
  values (Twilio sends no timestamp: its `MessageSid` + status de-duplicates).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets as random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from app.calls.secrets import decrypt, encrypt
from app.core.errors import AuthenticationError, ResourceNotFound, ValidationFailed
from app.core.json import encode_json
from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, emit
from app.leads import schemas as lead_schemas
from app.leads import service as leads
from app.messages import policy, schemas
from app.messages.sequences import stop_for_lead
from app.settings import base_url

log = logging.getLogger(__name__)

PROVIDERS = {
    "email": "/v2/webhooks/email-provider",
    "sms": "/v2/webhooks/sms-provider",
    "ghl": "/v2/webhooks/ghl",
    "payments": "/v2/external-webhooks/{provider}",
}
TOLERANCE = 300  # seconds a signed timestamp may be away from now
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
# What each e-mail event makes of a communication's status (an earlier status is never written over a later one).
_EMAIL_STATUS = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "dropped",
    "spam_report": "spam_report",
    "reply": "replied",
}
_SMS_STATUS = {"sent": "sent", "delivered": "delivered", "failed": "failed", "undelivered": "undelivered"}
_RANK = {"draft": 0, "queued": 1, "sent": 2, "delivered": 3, "opened": 4, "clicked": 5, "replied": 6}
_FINAL = frozenset({"bounced", "dropped", "spam_report", "failed", "undelivered", "opted_out"})


def webhook_url(tenant_id: int, provider: str) -> str:
    """The address a tenant gives its provider."""
    path = PROVIDERS[provider].replace("{provider}", "stripe")
    return f"{base_url()}{path}?tenant_id={tenant_id}"


# Secrets.
async def list_providers(scope: TenantScope) -> list[schemas.ProviderWebhook]:
    """Each provider's webhook address and whether a secret is set (never the secret)."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("SELECT provider, updated_at FROM message_provider_secret WHERE tenant_id = $1", scope.tenant_id)
    set_at = {r["provider"]: r["updated_at"] for r in rows}
    return [
        schemas.ProviderWebhook(
            provider=p, webhook_url=webhook_url(scope.tenant_id, p), has_secret=p in set_at, secret_set_at=set_at.get(p)
        )
        for p in PROVIDERS
    ]


async def rotate_secret(scope: TenantScope, provider: str) -> schemas.ProviderSecretCreated:
    """A new secret for `provider`, shown this once (the old one stops working). Audited."""
    policy.PROVIDERS.require(scope)
    if provider not in PROVIDERS:
        raise ResourceNotFound("No such provider", details={"provider": provider})
    secret = "whsec_" + random.token_urlsafe(24)
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            """INSERT INTO message_provider_secret (tenant_id, provider, secret_encrypted, created_at, updated_at)
               VALUES ($1, $2, $3, now(), now())
               ON CONFLICT (tenant_id, provider) DO UPDATE SET secret_encrypted = EXCLUDED.secret_encrypted, updated_at = now()""",
            scope.tenant_id,
            provider,
            encrypt(secret),
        )
        await emit(scope, Subject("message_provider_secret", 0), "message.provider_secret_rotated", audit={"provider": provider})
    return schemas.ProviderSecretCreated(provider=provider, webhook_url=webhook_url(scope.tenant_id, provider), secret=secret)


async def provider_events(scope: TenantScope, limit: int = 50) -> list[schemas.ProviderEventLog]:
    """The latest events providers posted (applied, duplicates not included: a duplicate is not recorded twice)."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """SELECT id, provider, event_id, event_type, communication_id, outcome, received_at FROM message_provider_event
                WHERE tenant_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2""",
            scope.tenant_id,
            limit,
        )
    return [schemas.ProviderEventLog(**row) for row in rows]


async def _secret(tenant_id: int, provider: str) -> str:
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            "SELECT secret_encrypted FROM message_provider_secret WHERE tenant_id = $1 AND provider = $2", tenant_id, provider
        )
    return decrypt(rows[0]["secret_encrypted"]) if rows else ""


# Signatures.
def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """`t=<unix>,v1=<hex>`: what a provider sends (tests and docs use it to sign)."""
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def twilio_signature(secret: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1 of the URL and the sorted fields' names and values."""
    data = url + "".join(f"{name}{form[name]}" for name in sorted(form))
    return base64.b64encode(hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()).decode()


_REFUSED = "Invalid signature"


def _tenant(tenant_id: int | None) -> int:
    if tenant_id is None or not 0 < tenant_id <= 2**53:
        raise AuthenticationError(_REFUSED, details={"reason": "unknown_tenant"})
    return tenant_id


async def verify_timestamped(tenant_id: int | None, provider: str, body: bytes, header: str | None) -> int:
    """The tenant, once `header` proves the body came from its provider within TOLERANCE seconds; 401 otherwise."""
    tenant = _tenant(tenant_id)
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        stamp = int(parts.get("t", [""])[0])
    except ValueError:
        raise AuthenticationError(_REFUSED, details={"reason": "no_timestamp"}) from None
    if abs(time.time() - stamp) > TOLERANCE:
        raise AuthenticationError(_REFUSED, details={"reason": "stale_timestamp", "tolerance_seconds": TOLERANCE})
    secret = await _secret(tenant, provider)
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest() if secret else ""
    if not secret or not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        log.warning("refused a %s webhook for tenant %s: bad signature", provider, tenant)
        raise AuthenticationError(_REFUSED, details={"reason": "bad_signature"})
    return tenant


async def verify_twilio(tenant_id: int | None, url: str, form: Mapping[str, str], header: str | None) -> int:
    """The tenant, once Twilio's signature of `url` and `form` checks out against its SMS secret; 401 otherwise."""
    tenant = _tenant(tenant_id)
    secret = await _secret(tenant, "sms")
    if not secret or not header or not hmac.compare_digest(twilio_signature(secret, url, form), header.strip()):
        log.warning("refused an SMS webhook for tenant %s: bad signature", tenant)
        raise AuthenticationError(_REFUSED, details={"reason": "bad_signature"})
    return tenant


# Applying events once.
@dataclass
class Tally:
    """What a delivery of events did."""

    received: int = 0
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0

    def result(self) -> schemas.WebhookResult:
        return schemas.WebhookResult(received=self.received, applied=self.applied, duplicates=self.duplicates, ignored=self.ignored)


async def _claim(scope: TenantScope, provider: str, event_id: str, event_type: str, payload: Any) -> int | None:
    """Record the event; None when it was recorded before (or by a concurrent delivery that committed first)."""
    rows = await fetch(
        """INSERT INTO message_provider_event (tenant_id, provider, event_id, event_type, payload, received_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, now()) ON CONFLICT (tenant_id, provider, event_id) DO NOTHING RETURNING id""",
        scope.tenant_id,
        provider,
        event_id[:200],
        event_type[:60],
        encode_json(payload).decode(),
    )
    return int(rows[0]["id"]) if rows else None


async def _note(event_row: int, communication_id: int | None, outcome: str) -> None:
    await fetch(
        "UPDATE message_provider_event SET communication_id = $2, outcome = $3 WHERE id = $1", event_row, communication_id, outcome[:200]
    )


def _event_id(fields: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if fields.get(name):
            return str(fields[name])
    return "sha256:" + hashlib.sha256(encode_json(dict(fields))).hexdigest()


async def _find_communication(scope: TenantScope, communication_id: Any, provider_message_id: Any) -> dict[str, Any] | None:
    if communication_id is not None and str(communication_id).isdigit() and int(communication_id) <= 2**53:
        rows = await fetch(
            "SELECT * FROM communication WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, int(communication_id)
        )
        if rows:
            return rows[0]
    if provider_message_id:
        ids = [str(provider_message_id), f"<{str(provider_message_id).strip('<>')}>"]
        rows = await fetch(
            "SELECT * FROM communication WHERE tenant_id = $1 AND provider_message_id = ANY($2::text[]) FOR UPDATE", scope.tenant_id, ids
        )
        if rows:
            return rows[0]
    return None


async def _move(scope: TenantScope, row: dict[str, Any], status: str, event: str, at: datetime, reply_text: str = "") -> None:
    """Move a communication on to `status` (never back), stamp the event's time, and publish what happened."""
    current = row["status"]
    stamps = {"delivered": "delivered_at", "opened": "opened_at", "clicked": "clicked_at", "replied": "replied_at"}
    sets, args = [], [scope.tenant_id, row["id"]]
    column = stamps.get(status)
    if column:
        args.append(at)
        sets.append(f"{column} = coalesce({column}, ${len(args)})")
    if status == "clicked":  # a click is an open too (images may be blocked)
        args.append(at)
        sets.append(f"opened_at = coalesce(opened_at, ${len(args)})")
    if status == "replied":
        args.append(at)
        sets.append(f"opened_at = coalesce(opened_at, ${len(args)})")
        args.append(reply_text[:5000])
        sets.append(f"reply_text = ${len(args)}")
    if status in _FINAL or (current not in _FINAL and _RANK.get(status, 0) > _RANK.get(current, 0)):
        args.append(status)
        sets.append(f"status = ${len(args)}")
    if not sets:
        return
    await fetch(f"UPDATE communication SET {', '.join(sets)}, updated_at = now() WHERE tenant_id = $1 AND id = $2", *args)
    subject = Subject("property", row["property_id"]) if row["property_id"] else Subject("lead", row["lead_id"] or 0)
    events: list[tuple[str, Mapping[str, Any]]] = [
        ("communication.status_changed", {"communication_id": row["id"], "status": status, "event": event})
    ]
    summary = None
    if status == "replied":
        if row["property_id"]:
            await fetch(
                "UPDATE property SET has_reply = true, last_contact_at = greatest(last_contact_at, $3), updated_at = now() "
                "WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                row["property_id"],
                at,
            )
        if row["lead_id"]:
            await fetch("UPDATE lead SET last_interaction = $3 WHERE tenant_id = $1 AND id = $2", scope.tenant_id, row["lead_id"], at)
        events.append(
            (
                "reply_received",
                {
                    "communication_id": row["id"],
                    "property_id": row["property_id"],
                    "lead_id": row["lead_id"],
                    "reply_text": reply_text[:5000],
                },
            )
        )
        summary = f"{row['recipient_name'] or row['recipient']} replied: {reply_text[:120]}"
        await stop_for_lead(scope, row["lead_id"], "reply")
    elif status in _FINAL:
        summary = f"Message to {row['recipient']}: {schemas.STATUS_LABELS[status].lower()}"
    if row["property_id"] or row["lead_id"]:
        if row["lead_id"] and not row["property_id"]:
            contact = await fetch("SELECT contact_id FROM lead WHERE tenant_id = $1 AND id = $2", scope.tenant_id, row["lead_id"])
            subject = Subject("lead", row["lead_id"], contact_id=contact[0]["contact_id"] if contact else None)
        await emit(scope, subject, "reply_received" if status == "replied" else "delivery_" + status, summary, events=events)
    else:
        await emit(scope, Subject("communication", row["id"]), "delivery_" + status, None, events=events)


def _when(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


async def receive_email_events(tenant_id: int, body: bytes) -> schemas.WebhookResult:
    """SendGrid-style events (one object or an array): delivered, open, click, bounce, dropped, spam_report, and Atrium's
    `reply` (with `text`), matched by `communication_id` or `sg_message_id`/`smtp-id`."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise ValidationFailed("Malformed JSON", details={"field": "body", "expected": "a JSON event or an array of events"}) from None
    events = decoded if isinstance(decoded, list) else [decoded]
    if not all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in events) or len(events) > 1000:
        raise ValidationFailed(
            "Each event is an object with an `event`", details={"field": "event", "expected": "delivered, open, click, …"}
        )
    scope = TenantScope.system(tenant_id, "e-mail provider")
    tally = Tally(received=len(events))
    for event in events:
        kind = event["event"]
        async with tenant_transaction(tenant_id):
            claimed = await _claim(scope, "email", _event_id(event, "sg_event_id", "event_id"), kind, event)
            if claimed is None:
                tally.duplicates += 1
                continue
            status = _EMAIL_STATUS.get(kind)
            row = await _find_communication(scope, event.get("communication_id"), event.get("sg_message_id") or event.get("smtp-id"))
            if status is None or row is None:
                tally.ignored += 1
                await _note(claimed, row["id"] if row else None, "unknown event" if status is None else "no such communication")
                continue
            await _move(scope, row, status, kind, _when(event.get("timestamp")), str(event.get("text") or ""))
            if kind in ("spam_report", "bounce") or (kind == "reply" and _is_stop(str(event.get("text") or ""))):
                await _opt_out_in(scope, "email", row["recipient"], kind)
            await _note(claimed, row["id"], status)
            tally.applied += 1
    return tally.result()


def _is_stop(text: str) -> bool:
    return text.strip().lower().strip(".!") in STOP_WORDS


async def _opt_out_in(scope: TenantScope, channel: str, address: str, reason: str) -> None:
    rows = await fetch(
        """INSERT INTO message_opt_out (tenant_id, channel, address, reason, created_at) VALUES ($1, $2, $3, $4, now())
           ON CONFLICT (tenant_id, channel, lower(address)) DO NOTHING RETURNING id""",
        scope.tenant_id,
        channel,
        address[:254],
        reason[:60],
    )
    if rows:
        await fetch(
            """UPDATE communication SET status = 'opted_out', error = 'The recipient opted out', updated_at = now()
                WHERE tenant_id = $1 AND channel = $2 AND lower(recipient) = lower($3) AND status IN ('queued', 'draft')""",
            scope.tenant_id,
            channel,
            address,
        )
        leads = await fetch(
            f"SELECT id FROM lead WHERE tenant_id = $1 AND lower({'email' if channel == 'email' else 'phone'}) = lower($2)",
            scope.tenant_id,
            address,
        )
        for lead in leads:
            await stop_for_lead(scope, lead["id"], "opt_out")
        await emit(scope, Subject("message_opt_out", rows[0]["id"]), "message.opted_out", audit={"channel": channel, "reason": reason})


async def opt_out(tenant_id: int, channel: str, address: str, reason: str) -> None:
    """Record that `address` wants no more messages on `channel` (its queued ones are not sent, its lead's sequences stop)."""
    async with tenant_transaction(tenant_id):
        await _opt_out_in(TenantScope.system(tenant_id, "system:opt-out"), channel, address, reason)


async def receive_sms(tenant_id: int, form: Mapping[str, str]) -> schemas.WebhookResult:
    """A Twilio-style status callback (`MessageSid`, `MessageStatus`) or an inbound message (`From`, `Body`): a reply to
    the last message sent to that number, or STOP, which opts the number out."""
    scope = TenantScope.system(tenant_id, "SMS provider")
    tally = Tally(received=1)
    status_word = form.get("MessageStatus") or form.get("SmsStatus") or ""
    inbound = bool(form.get("Body")) and status_word in ("", "received")
    event_id = f"{form.get('MessageSid') or form.get('SmsSid') or ''}:{'received' if inbound else status_word}"
    if event_id.startswith(":"):
        raise ValidationFailed("A Twilio callback names its MessageSid", details={"field": "MessageSid", "expected": "SM…"})
    async with tenant_transaction(tenant_id):
        claimed = await _claim(scope, "sms", event_id, "received" if inbound else status_word, dict(form))
        if claimed is None:
            tally.duplicates += 1
            return tally.result()
        now = datetime.now(UTC)
        if inbound:
            number = form.get("From", "")
            body = form.get("Body", "")
            if _is_stop(body):
                await _opt_out_in(scope, "sms", number, "stop")
            rows = await fetch(
                "SELECT * FROM communication WHERE tenant_id = $1 AND channel = 'sms' AND recipient = $2 AND sent_at IS NOT NULL "
                "ORDER BY sent_at DESC LIMIT 1 FOR UPDATE",
                tenant_id,
                number,
            )
            if rows:
                await _move(scope, rows[0], "replied", "reply", now, body)
                await _note(claimed, rows[0]["id"], "stop" if _is_stop(body) else "replied")
                tally.applied += 1
            else:
                await _note(claimed, None, "stop" if _is_stop(body) else "no message to that number")
                tally.applied += 1 if _is_stop(body) else 0
                tally.ignored += 0 if _is_stop(body) else 1
            return tally.result()
        status = _SMS_STATUS.get(status_word)
        row = await _find_communication(scope, form.get("communication_id"), form.get("MessageSid"))
        if status is None or row is None:
            await _note(claimed, row["id"] if row else None, "unknown status" if status is None else "no such communication")
            tally.ignored += 1
            return tally.result()
        await _move(scope, row, status, status_word, now)
        await _note(claimed, row["id"], status)
        tally.applied += 1
    return tally.result()


# GHL: contacts and inbound messages become leads.
async def receive_ghl(tenant_id: int, body: bytes) -> schemas.WebhookResult:
    """GHL `ContactCreate`/`ContactUpdate` make or update the lead with that e-mail or phone; `InboundMessage` is a reply
    from it. De-duplicated by `webhookId` (or `id`)."""
    try:
        event = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise ValidationFailed("Malformed JSON", details={"field": "body", "expected": "a GHL event"}) from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValidationFailed(
            "A GHL event has a `type`", details={"field": "type", "expected": "ContactCreate, ContactUpdate, InboundMessage"}
        )
    scope = TenantScope.system(tenant_id, "GHL")
    tally = Tally(received=1)
    kind = event["type"]
    async with tenant_transaction(tenant_id):
        claimed = await _claim(scope, "ghl", _event_id(event, "webhookId", "eventId"), kind, event)
        if claimed is None:
            tally.duplicates += 1
            return tally.result()
        email = str(event.get("email") or "").strip() or None
        phone = str(event.get("phone") or "").strip() or None
        name = " ".join(str(event.get(k) or "").strip() for k in ("firstName", "lastName")).strip() or str(event.get("name") or "").strip()
        if kind in ("ContactCreate", "ContactUpdate", "FormSubmission") and (email or phone):
            lead_id, outcome = await _upsert_lead(
                scope, name or email or phone or "GHL contact", email, phone, str(event.get("contactId") or event.get("id") or "")
            )
            await _note(claimed, None, f"{outcome} lead {lead_id}")
            tally.applied += 1
        elif kind == "InboundMessage" and (email or phone):
            channel = "sms" if phone and str(event.get("messageType") or "SMS").upper() == "SMS" else "email"
            address = phone if channel == "sms" else email
            text = str(event.get("body") or event.get("message") or "")
            rows = await fetch(
                "SELECT * FROM communication WHERE tenant_id = $1 AND channel = $2 AND lower(recipient) = lower($3) "
                "AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1 FOR UPDATE",
                tenant_id,
                channel,
                address,
            )
            if rows:
                await _move(scope, rows[0], "replied", "reply", datetime.now(UTC), text)
                tally.applied += 1
                await _note(claimed, rows[0]["id"], "replied")
            else:
                tally.ignored += 1
                await _note(claimed, None, "no message to that contact")
        else:
            tally.ignored += 1
            await _note(claimed, None, "not handled")
    return tally.result()


async def _upsert_lead(scope: TenantScope, name: str, email: str | None, phone: str | None, ghl_id: str, note: str = "") -> tuple[int, str]:
    """The lead with this e-mail or phone, updated, or a new one made through the leads service (scored, announced)."""
    found = await fetch(
        "SELECT id, name, email, phone FROM lead WHERE tenant_id = $1 AND (lower(email) = lower($2) OR phone = $3) "
        "ORDER BY id LIMIT 1 FOR UPDATE",
        scope.tenant_id,
        email or "",
        phone or "",
    )
    if found:
        lead = found[0]
        await fetch(
            "UPDATE lead SET name = $3, email = coalesce(email, $4), phone = coalesce(phone, $5), updated_at = now() "
            "WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            lead["id"],
            name[:200],
            email,
            phone,
        )
        await emit(scope, Subject("lead", lead["id"]), "updated", "Updated from GHL", {"name": (lead["name"], name)})
        return int(lead["id"]), "updated"
    fields: dict[str, Any] = {"name": name[:200], "email": email, "phone": phone, "source": "ghl"}
    if ghl_id:
        fields["custom_fields"] = {"ghl_contact_id": ghl_id}
    if note:
        fields["notes"] = note[:10_000]
    try:  # the contact's fields are checked as any new lead's (a malformed phone is a 422 naming it)
        checked = msgspec.convert(fields, lead_schemas.LeadCreate)
    except msgspec.ValidationError as exc:
        from app.core.validation import invalid_input

        raise invalid_input(exc) from None
    created = await leads.create_lead(scope, checked, base_url())
    return created.id, "created"


# Payment providers.
async def receive_payment(tenant_id: int, provider: str, body: bytes) -> schemas.WebhookResult:
    """`invoice.payment_succeeded` (Stripe-style: `data.object.metadata.invoice_id` or `data.object.invoice_id` names
    the Atrium invoice, `amount_paid` in the currency's minor units) records a payment on it through billing, once per
    event `id`."""
    from app.billing import schemas as billing_schemas
    from app.billing import service as billing

    try:
        event = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise ValidationFailed("Malformed JSON", details={"field": "body", "expected": "a payment event"}) from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not event.get("id"):
        raise ValidationFailed(
            "A payment event has an `id` and a `type`", details={"field": "type", "expected": "invoice.payment_succeeded"}
        )
    scope = TenantScope.system(tenant_id, f"payment provider {provider}")
    tally = Tally(received=1)
    async with tenant_transaction(tenant_id):
        claimed = await _claim(scope, f"pay:{provider}"[:20], str(event["id"]), event["type"], event)
        if claimed is None:
            tally.duplicates += 1
            return tally.result()
        if event["type"] not in ("invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"):
            await _note(claimed, None, "not handled")
            tally.ignored += 1
            return tally.result()
        obj = (event.get("data") or {}).get("object") or {}
        metadata = obj.get("metadata") or {}
        invoice_id = metadata.get("invoice_id") or obj.get("invoice_id")
        minor = obj.get("amount_paid", obj.get("amount_received", obj.get("amount")))
        try:
            invoice = int(str(invoice_id))
            amount = (Decimal(str(minor)) / 100).quantize(Decimal("0.01"))
        except (TypeError, ValueError, InvalidOperation):
            raise ValidationFailed(
                "The event names no invoice or amount", details={"field": "data.object", "expected": "metadata.invoice_id and amount_paid"}
            ) from None
        data = billing_schemas.PaymentCreate(
            amount=amount,
            payment_method="credit_card",
            payment_reference=str(obj.get("id") or event["id"])[:100],
            notes=f"{provider} {event['id']}",
        )
        result = await billing.record_payment(scope, invoice, data)
        await _note(claimed, None, f"payment {result.payment.id} on invoice {invoice}")
        tally.applied += 1
    return tally.result()
