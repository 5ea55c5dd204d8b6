"""Telephony adapters: how a call request and a transfer reach a provider that dials.

`ProviderAdapter` is the interface: `originate` asks the provider to place a call, `transfer` to move a live one to
an extension, `check` whether the credentials and address work. `TwilioAdapter` speaks a Twilio-style REST API
(`POST {api_url}/2010-04-01/Accounts/{sid}/Calls.json`, HTTP Basic with the account SID and auth token) through
`app.outbound.sender` — the webhooks' SSRF rules and timeouts, no redirects. A provider type without an adapter
(asterisk, freeswitch, sip, other: they report through the call-event webhook) only records the request.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from app.outbound import sender
from app.settings import current

TIMEOUT = 10.0
DEFAULT_TWILIO_URL = "https://api.twilio.com"


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """What an adapter needs of a stored provider (its secret decrypted)."""

    id: int
    provider_type: str
    api_url: str | None
    username: str
    password: str
    context: str


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """What the provider answered: accepted (with its id of the call), or why not, and whether trying again may help."""

    ok: bool
    external_id: str | None = None
    error: str | None = None
    retryable: bool = False
    latency_ms: int | None = None


class ProviderAdapter(Protocol):
    """A provider that dials."""

    async def originate(self, call_id: int, to_number: str, from_number: str) -> ProviderResult:
        """Ask the provider to place an outbound call; its id of the call when accepted."""
        ...

    async def transfer(self, external_id: str, extension: str, transfer_type: str) -> ProviderResult:
        """Ask the provider to move a live call (its id) to an extension."""
        ...

    async def check(self) -> ProviderResult:
        """Whether the provider answers to these credentials."""
        ...


def _excerpt(outcome: sender.Outcome) -> str:
    """The provider's own words for a refusal (Twilio: `message`), else the HTTP status or transport error."""
    try:
        message = json.loads(outcome.excerpt).get("message")
    except (ValueError, AttributeError):
        message = None
    detail = f": {message}" if isinstance(message, str) and message else ""
    return (outcome.error or f"HTTP {outcome.status_code}") + detail[:300]


class TwilioAdapter:
    """A Twilio-style REST API: the account SID is the provider's username, the auth token its password."""

    def __init__(self, account: ProviderAccount) -> None:
        self.account = account
        self.base = (account.api_url or DEFAULT_TWILIO_URL).rstrip("/")

    def _headers(self, form: bool = True) -> dict[str, str]:
        token = base64.b64encode(f"{self.account.username}:{self.account.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json", "User-Agent": "Atrium-Telephony/1"}
        if form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers

    def _url(self, path: str) -> str:
        return f"{self.base}/2010-04-01/Accounts/{quote(self.account.username, safe='')}{path}"

    async def _send(self, path: str, form: dict[str, str] | None, method: str = "POST") -> tuple[sender.Outcome, dict[str, Any]]:
        body = urlencode(form or {}).encode()
        outcome = await sender.post(
            self._url(path),
            self._headers(form is not None),
            body if form is not None else b"",
            allow_private=current().webhook_allow_private_targets,
            timeout=TIMEOUT,
            method=method,
        )
        try:
            answer = json.loads(outcome.excerpt) if outcome.ok else {}
        except ValueError:
            answer = {}
        return outcome, answer if isinstance(answer, dict) else {}

    @staticmethod
    def _refused(outcome: sender.Outcome) -> ProviderResult:
        # The provider's own refusal (4xx but 429) will not change by asking again; its outage or our network may.
        final = outcome.status_code is not None and 400 <= outcome.status_code < 500 and outcome.status_code != 429
        refused_target = outcome.error.startswith("Refused")
        return ProviderResult(ok=False, error=_excerpt(outcome), retryable=not final and not refused_target, latency_ms=outcome.duration_ms)

    async def originate(self, call_id: int, to_number: str, from_number: str) -> ProviderResult:
        """`POST …/Calls.json` with To, From (the caller id) and what to do once answered: the TwiML at the provider's
        `context` when it is a URL, else hold the line for the agent; the answer's `sid` is the call's id there."""
        form = {"To": to_number, "From": from_number}
        if self.account.context.startswith(("https://", "http://")):
            form["Url"] = self.account.context
        else:
            form["Twiml"] = '<Response><Say>Please hold: connecting you now.</Say><Pause length="60"/></Response>'

        outcome, answer = await self._send("/Calls.json", form)
        if not outcome.ok:
            return self._refused(outcome)
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            return ProviderResult(
                ok=False, error="The provider accepted the call but did not say its id (no sid)", latency_ms=outcome.duration_ms
            )
        return ProviderResult(ok=True, external_id=sid[:100], latency_ms=outcome.duration_ms)

    async def transfer(self, external_id: str, extension: str, transfer_type: str) -> ProviderResult:
        """`POST …/Calls/{sid}.json` with new TwiML dialling the extension (a conference joins it into one)."""
        target = escape(extension)
        verb = f"<Conference>{target}</Conference>" if transfer_type == "conference" else target
        form = {"Twiml": f"<Response><Dial>{verb}</Dial></Response>"}
        outcome, answer = await self._send(f"/Calls/{quote(external_id, safe='')}.json", form)
        if not outcome.ok:
            return self._refused(outcome)
        return ProviderResult(ok=True, external_id=str(answer.get("sid") or external_id), latency_ms=outcome.duration_ms)

    async def check(self) -> ProviderResult:
        """`GET …/Accounts/{sid}.json`: the credentials are good when it answers 200."""
        outcome, _ = await self._send(".json", None, method="GET")
        if not outcome.ok:
            return self._refused(outcome)
        return ProviderResult(ok=True, latency_ms=outcome.duration_ms)


# Provider types with an adapter that dials; the others only record requests (their PBX reports by webhook).
ADAPTERS: dict[str, type[TwilioAdapter]] = {"twilio": TwilioAdapter}


def adapter_for(account: ProviderAccount) -> ProviderAdapter | None:
    """The adapter of the provider's type, or None when it has none."""
    kind = ADAPTERS.get(account.provider_type)
    return kind(account) if kind is not None else None
