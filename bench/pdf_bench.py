"""The billing issue's goals: an invoice PDF through the app against bare WeasyPrint, and 500 invoices rendered through SAQ.

    uv run python -m bench.pdf_bench [--renders 20] [--invoices 500]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with a 1-page invoice
(5 lines) and a 5-page one (125 lines), then:

* overhead: `GET /v2/invoices/{id}/pdf` on `atrium serve --no-worker` (authentication, the invoice and the settings
  read under row-level security, the print template, WeasyPrint in a worker thread, the response) against WeasyPrint
  alone on the very same HTML in this process (`HTML(string=…).write_pdf()`, no thread, no fetcher of ours), one at a
  time, alternating, in the same run; the median of each;
* scale: `--invoices` drafts of one month sent with "send every draft of a month" (one SAQ job per invoice: render the
  PDF, mark it sent) by 1 and then 2 `atrium worker` processes; the time from the request until the batch is done.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx

from app.db import (
    LOGIN_ROLE,
    SYSTEM_LOGIN,
    DatabaseUrls,
    TenantScope,
    close_pool,
    configure_engine,
    fetch,
    migrate,
    open_pool,
    start_embedded_postgres,
    system_transaction,
    with_user,
)
from bench.common import free_port, serving

PASSWORD = "bench-password"
EMAIL = "billing@bench.example.com"


async def build(urls: DatabaseUrls, invoices: int) -> dict[str, int]:
    """The tenant's customer, the two invoices to render and the month of drafts to send; their ids."""
    from app.billing import schemas
    from app.billing import service as billing
    from app.contacts import schemas as contact_schemas
    from app.contacts import service as contacts

    configure_engine(urls.app, urls.system)
    await open_pool()
    try:
        async with system_transaction():
            row = (await fetch("SELECT tenant_id, id FROM app_user WHERE email = $1", EMAIL))[0]
        scope = TenantScope(tenant_id=row["tenant_id"], user_id=row["id"], role="admin", actor=EMAIL)
        customer = await contacts.create_company(
            scope, contact_schemas.CompanyCreate(name="Gulf Family Office", address="Tower 2, DIFC\nDubai")
        )

        def lines(n: int) -> list[schemas.InvoiceLineInput]:
            return [
                schemas.InvoiceLineInput(
                    description=f"Property management, unit {k} - monthly fee", unit_price=Decimal("1250.50"), tax_rate=Decimal("0.05")
                )
                for k in range(1, n + 1)
            ]

        short = await billing.create_invoice(scope, schemas.InvoiceCreate(customer_account_id=customer.id, lines=lines(5)))
        long = await billing.create_invoice(scope, schemas.InvoiceCreate(customer_account_id=customer.id, lines=lines(125)))
        for n in range(invoices):
            await billing.create_invoice(
                scope,
                schemas.InvoiceCreate(customer_account_id=customer.id, issue_date=date(2026, 3, 1), lines=lines(3 + n % 5)),
            )
        for n in range(invoices):
            await billing.create_invoice(
                scope,
                schemas.InvoiceCreate(customer_account_id=customer.id, issue_date=date(2026, 4, 1), lines=lines(3 + n % 5)),
            )
        return {"tenant": scope.tenant_id, "user": scope.user_id or 0, "short": short.id, "long": long.id}
    finally:
        await close_pool()


async def html_of(urls: DatabaseUrls, ids: dict[str, int], invoice_id: int) -> str:
    """The invoice's HTML exactly as the app renders it."""
    from app.billing import documents, pdf

    configure_engine(urls.app, urls.system)
    await open_pool()
    try:
        scope = TenantScope(tenant_id=ids["tenant"], user_id=ids["user"], role="admin", actor=EMAIL)
        return pdf.render_html(documents.TEMPLATE, await documents.invoice_context(scope, invoice_id))
    finally:
        await close_pool()


def bare(html: str) -> tuple[float, int]:
    from weasyprint import HTML

    started = time.perf_counter()
    content = HTML(string=html).write_pdf()
    return time.perf_counter() - started, len(content)


def overhead(base: str, token: str, cases: dict[str, tuple[int, str]], renders: int) -> None:
    from pypdf import PdfReader

    print("one render at a time; the app through HTTP, WeasyPrint alone in this process on the same HTML, alternating")
    print(f"{'invoice':<22}{'pages':>6}{'bare ms':>10}{'app ms':>10}{'overhead':>10}")
    with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
        for name, (invoice_id, html) in cases.items():
            bare(html)
            client.get(f"/v2/invoices/{invoice_id}/pdf").raise_for_status()  # warm-up: imports, fonts
            bare_times, app_times = [], []
            pages = 0
            for _ in range(renders):
                seconds, _ = bare(html)
                bare_times.append(seconds)
                started = time.perf_counter()
                response = client.get(f"/v2/invoices/{invoice_id}/pdf")
                app_times.append(time.perf_counter() - started)
                response.raise_for_status()
                pages = len(PdfReader(io.BytesIO(response.content)).pages)
            b, a = statistics.median(bare_times) * 1000, statistics.median(app_times) * 1000
            print(f"{name:<22}{pages:>6}{b:>10.1f}{a:>10.1f}{(a - b) / b:>9.1%}")


def through_saq(base: str, token: str, env: dict[str, str], workers: int, month: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--concurrency", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(6)  # the workers start (imports, pools)
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            started = time.perf_counter()
            batch = client.post("/v2/invoices/batches", json={"month": month})
            batch.raise_for_status()
            url = batch.headers["location"]
            while True:
                state = client.get(url).json()
                if state["status"] == "done":
                    break
                time.sleep(0.25)
            seconds = time.perf_counter() - started
        processes = f"{workers} worker process{'es' if workers > 1 else ''}"
        print(f"{processes}: {state['total']} invoices in {seconds:.1f} s, {state['total'] / seconds:.1f} invoices/s")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-pdf-") as tmp:
        dsn = start_embedded_postgres(Path(tmp))
        urls = DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))
        asyncio.run(migrate(urls))
        env = {
            **os.environ,
            "DATABASE_URL": urls.app,
            "DATABASE_OWNER_URL": dsn,
            "DATABASE_SYSTEM_URL": urls.system,
            "SECRET_KEY": "bench-secret-0123456789abcdefghijklmnop",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS": "off",
        }
        cli = [sys.executable, "-m", "app.cli"]
        subprocess.run(
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Billing", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        ids = asyncio.run(build(urls, args.invoices))
        print(f"dataset: 2 invoices to render, 2 x {args.invoices} drafts to send, in {time.perf_counter() - started:.0f}s\n")
        cases = {
            "1 page (5 lines)": (ids["short"], asyncio.run(html_of(urls, ids, ids["short"]))),
            "5 pages (125 lines)": (ids["long"], asyncio.run(html_of(urls, ids, ids["long"]))),
        }
        port = free_port()
        with serving(env, port):
            base = f"http://127.0.0.1:{port}"
            token = httpx.post(f"{base}/v2/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
            overhead(base, token, cases, args.renders)
            print()
            through_saq(base, token, env, 1, "2026-03")
            through_saq(base, token, env, 2, "2026-04")


if __name__ == "__main__":
    main()
