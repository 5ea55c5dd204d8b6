"""Billing: invoices, payments, credit notes, expenses, the P&L, invoice and ROI report PDFs."""

from __future__ import annotations

from saq import CronJob

from app.billing.api import BillingSettingsController, ExpenseController, InvoiceController, ReportController
from app.billing.events import EVENTS
from app.billing.finance_views import FinancePagesController
from app.billing.jobs import email_invoice, sweep_overdue_invoices
from app.billing.views import InvoicePagesController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="billing",
    controllers=[
        InvoiceController,
        BillingSettingsController,
        ExpenseController,
        ReportController,
        InvoicePagesController,
        FinancePagesController,
    ],
    nav=[NavEntry("invoices", "Invoices", "/invoices", order=70, permission="invoices.view")],
    jobs=[email_invoice, sweep_overdue_invoices],
    cron=[
        CronJob(
            sweep_overdue_invoices.function,
            cron="5 * * * *",
            timeout=sweep_overdue_invoices.timeout,
            retries=sweep_overdue_invoices.retries,
        )
    ],
    events=EVENTS,
)
