"""Invoice PDFs read back with a PDF text extractor (issue #13): customer, lines, totals, status, payments, page numbers,
a 60-line invoice across pages with its header repeated, hostile HTML printed as text and fetching nothing."""

from __future__ import annotations

import asyncio
import http.server
import io
import multiprocessing
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from pypdf import PdfReader

from app.billing import pdf
from app.core.errors import Unavailable
from tests.billing.test_invoices_api import company, new_invoice, sent_invoice
from tests.factories import Tenants


def pages_of(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


async def test_the_pdf_says_who_what_how_much_and_whether_it_is_paid(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(name="Palm Realty")
    customer = await company(client, admin, name="Gulf Family Office", address="Tower 2, DIFC\nDubai")
    invoice = await sent_invoice(
        client,
        admin,
        customer_account_id=customer,
        issue_date="2026-03-01",
        due_date="2036-03-31",
        lines=[
            {"description": "Property management, March", "quantity": 1, "unit_price": "12500", "tax_rate": "0.05"},
            {"description": "Key handover", "quantity": 2, "unit_price": "150.50", "tax_rate": "0.05", "discount_rate": "0.1"},
        ],
        terms_conditions="Payment due within 30 days by bank transfer.",
    )
    await client.post(f"/v2/invoices/{invoice['id']}/payments", headers=admin.auth, json={"amount": 5000, "payment_reference": "TT-778"})
    response = await client.get(f"/v2/invoices/{invoice['id']}/pdf", headers=admin.auth)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="INV-2026-0001.pdf"'
    [text] = pages_of(response.content)
    for expected in (
        "Palm Realty",
        "Invoice INV-2026-0001",
        "Gulf Family Office",
        "Tower 2, DIFC",
        "Property management, March",
        "Key handover",
        "12,500.00",
        "270.90",  # 2 x 150.50 = 301.00 less 10 %
        "Total AED",
        "13,409.45",  # 12,770.90 + 638.55 tax
        "638.55",
        "PARTIALLY PAID",
        "Payments received",
        "TT-778",
        "8,409.45",  # balance due
        "Payment due within 30 days by bank transfer.",
        "Page 1 of 1",
    ):
        assert expected.lower() in text.lower(), expected


async def test_sixty_lines_span_pages_with_the_header_repeated(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lines = [{"description": f"Viewing slot {n:02d}", "quantity": 1, "unit_price": "100.00", "tax_rate": "0.05"} for n in range(1, 61)]
    invoice = await new_invoice(client, admin, customer_account_id=await company(client, admin), lines=lines)
    response = await client.get(f"/v2/invoices/{invoice['id']}/pdf", headers=admin.auth)
    pages = pages_of(response.content)
    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in text
        assert "description" in text.lower() and "unit price" in text.lower(), f"page {n} has no table header"
    every = "\n".join(pages)
    assert all(f"Viewing slot {n:02d}" in every for n in range(1, 61))
    assert "6,300.00" in pages[-1] and "DRAFT" in pages[0]


HOSTILE = [
    '<img src="file:///etc/passwd">',
    "<style>@import url(http://127.0.0.1:{port}/x.css);</style>",
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/y.css">',
    "<svg><image href='file:///etc/hostname'/></svg>",
]


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that notes every request it gets (there must be none)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()


async def test_hostile_html_in_every_field_is_printed_as_text_and_fetches_nothing(
    client: httpx.AsyncClient, tenants: Tenants, listener: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = listener
    attempts: list[str] = []
    real_fetch = pdf.OwnAssets.fetch

    def spy(self: pdf.OwnAssets, url: str, headers: object = None) -> object:
        attempts.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(pdf.OwnAssets, "fetch", spy)
    admin = await tenants.create()
    hostile = [h.format(port=port) for h in HOSTILE]
    customer = await company(client, admin, name=hostile[0][:60], address=hostile[1])
    invoice = await new_invoice(
        client,
        admin,
        customer_account_id=customer,
        description=hostile[2],
        notes=hostile[3],
        terms_conditions=" ".join(hostile),
        lines=[{"description": h, "unit_price": 1} for h in hostile],
    )
    await client.patch("/v2/billing/settings", headers=admin.auth, json={"address": hostile[0], "legal_name": hostile[2][:100]})
    response = await client.get(f"/v2/invoices/{invoice['id']}/pdf", headers=admin.auth)
    assert response.status_code == 200
    text = re.sub(r"\s+", "", "".join(pages_of(response.content)))
    assert re.sub(r"\s+", "", '<img src="file:///etc/passwd">') in text  # shown as text
    assert "@importurl(http://127.0.0.1" in text
    assert "root:x:0:0" not in text
    assert attempts == [] and seen == []


def test_the_fetcher_serves_only_our_own_assets(listener: tuple[int, list[str]]) -> None:
    """Defence in depth: even HTML that reached WeasyPrint unescaped fetches no file and no URL."""
    port, seen = listener
    fetcher = pdf.OwnAssets()
    html = (
        f'<html><head><style>@import url(http://127.0.0.1:{port}/a.css);</style><link rel="stylesheet" href="http://127.0.0.1:{port}/b.css">'
        '<link rel="stylesheet" href="file:///etc/passwd"></head><body><p>Hello</p><img src="file:///etc/passwd">'
        '<img src="/static/../../../../etc/passwd"><img src="/static/vendor/VERSIONS.md"></body></html>'
    )
    content = pdf.html_to_pdf(html, fetcher)
    assert "Hello" in pages_of(content)[0]
    assert seen == []
    assert sorted(fetcher.refused) == sorted(
        [
            f"http://127.0.0.1:{port}/a.css",
            f"http://127.0.0.1:{port}/b.css",
            "file:///etc/passwd",
            "file:///etc/passwd",
            "https://atrium.invalid/etc/passwd",
        ]
    )


async def test_a_render_past_its_time_is_stopped_and_the_next_one_works() -> None:
    """A document that takes too long fails cleanly (503), and its render process is killed rather than left running:
    the pool replaces it and renders the next document."""
    small = "<html><body><p>Receipt 1</p></body></html>"
    assert "Receipt 1" in pages_of(await pdf.pdf_of_html(small))[0]
    before = {p.pid for p in multiprocessing.active_children()}
    rows = "".join(f"<tr><td>Line {n}</td><td>{n * 3.5:.2f}</td></tr>" for n in range(40_000))
    with pytest.raises(Unavailable):
        await pdf.pdf_of_html(f"<html><body><table>{rows}</table></body></html>", "a huge table", limit_seconds=0.5)
    for _ in range(50):  # the killed process is gone (and another started in its place)
        now = {p.pid for p in multiprocessing.active_children()}
        if before - now:
            break
        await asyncio.sleep(0.1)
    assert before - now, "the process that ran the slow render was stopped"
    assert "Receipt 2" in pages_of(await pdf.pdf_of_html(small.replace("1", "2")))[0]
