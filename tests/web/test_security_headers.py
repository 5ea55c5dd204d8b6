"""Every response carries the headers a browser expects: a strict CSP, nosniff, a referrer policy, no framing,
and HSTS when Atrium is reached over HTTPS."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import Tenants
from tests.helpers import browser_login


def _strict(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"


async def test_screens_and_api_send_browser_headers(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _strict(await client.get("/login"))
    _strict(await client.get("/v2/health"))
    _strict(await client.get("/v2/leads", headers=admin.auth))
    await browser_login(client, admin)
    for path in ("/", "/leads", "/settings/team", "/no-such-page"):
        response = await client.get(path)
        _strict(response)
        assert "strict-transport-security" not in response.headers, "no HSTS over plain HTTP"
    docs = await client.get("/v2/schema/swagger")
    assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"], "Swagger UI starts with one inline script"


def test_templates_hold_no_inline_script_or_handler() -> None:
    templates = Path(__file__).resolve().parents[2] / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and " onclick=" not in text and " onsubmit=" not in text, template
        assert ' style="' not in text, f"{template}: inline styles are refused by the CSP"


async def test_hsts_over_https(client: httpx.AsyncClient) -> None:
    response = await client.get("https://testserver/login")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
