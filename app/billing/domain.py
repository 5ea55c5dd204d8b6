"""Billing: invoices, payments, credit notes, expenses, the P&L, invoice and ROI report PDFs."""

from __future__ import annotations

from saq import CronJob

from app.billing import policy
from app.billing.api import (
    BillingSettingsController,
    ExchangeRateController,
    ExpenseController,
    InvoiceController,
    ReportController,
    RoiReportController,
)
from app.billing.batches import send_batch_invoice
from app.billing.events import EVENTS
from app.billing.jobs import email_invoice, sweep_overdue_invoices
from app.billing.roi_reports import report_url
from app.billing.views import FinancePagesController, InvoicePagesController, RoiPagesController
from app.domains import Domain, NavEntry
from app.leads.events import provide_roi_report_url

# A lead's payloads link its ROI report (`roi_report_url`); leads cannot import this domain, which uses them.
provide_roi_report_url(report_url)

DOMAIN = Domain(
    name="billing",
    controllers=[
        InvoiceController,
        BillingSettingsController,
        ExchangeRateController,
        ExpenseController,
        ReportController,
        RoiReportController,
        InvoicePagesController,
        FinancePagesController,
        RoiPagesController,
    ],
    nav=[NavEntry("invoices", "Invoices", "/invoices", order=70, permission="invoices.view")],
    jobs=[email_invoice, sweep_overdue_invoices, send_batch_invoice],
    cron=[
        CronJob(
            sweep_overdue_invoices.function,
            cron="5 * * * *",
            timeout=sweep_overdue_invoices.timeout,
            retries=sweep_overdue_invoices.retries,
        )
    ],
    events=EVENTS,
    # Invoice events carry the customer and the figures: only those who read invoices get them live.
    live_visibility={"invoice": policy.VIEW},
)
