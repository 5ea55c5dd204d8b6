"""The dashboard as files: a PDF (the print template, WeasyPrint in billing's render processes) and an Excel workbook,
both made from the same `Overview` the screen shows."""

from __future__ import annotations

import io
from datetime import UTC
from decimal import Decimal
from typing import Any

import xlsxwriter

from app.analytics.service import SCORE_FORMULA, Overview
from app.billing import pdf
from app.forecasting.schemas import Forecast

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(overview: Overview, kind: str) -> str:
    return f"analytics_{overview.range.first_day}_{overview.range.last_day}.{kind}"


def context(overview: Overview, workspace: str) -> dict[str, Any]:
    """What the screen's and the PDF's templates both get."""
    return {
        "o": overview,
        "workspace": workspace,
        "score_formula": SCORE_FORMULA,
        "read_at_utc": overview.read_at.astimezone(UTC).strftime("%d %b %Y %H:%M UTC"),
    }


async def to_pdf(overview: Overview, workspace: str, forecast: Forecast | None = None) -> bytes:
    """The dashboard printed: KPI figures, the charts as SVG and their tables (real text, read back by tests), and the
    revenue forecast when the caller may see it."""
    return await pdf.render_pdf("analytics/print.html", {**context(overview, workspace), "forecast": forecast})


def to_xlsx(overview: Overview) -> bytes:
    """One sheet per figure: KPIs, funnel, agents, revenue over time, pipeline by stage, lead sources."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bottom": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    pct = book.add_format({"num_format": "0.0"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})

    def sheet(name: str, header: list[str], rows: list[list[Any]], money_columns: tuple[int, ...] = ()) -> None:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    ws.write_blank(r, c, None)
                elif isinstance(value, Decimal):
                    ws.write_number(r, c, float(value), money if c in money_columns else None)
                elif isinstance(value, float):
                    ws.write_number(r, c, value, pct)
                elif isinstance(value, int):
                    ws.write_number(r, c, value)
                elif hasattr(value, "isoformat"):
                    ws.write_datetime(r, c, value, day)
                else:
                    ws.write_string(r, c, str(value))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
        ws.set_column(0, 0, 28)
        ws.set_column(1, len(header) - 1, 16)

    rng = overview.range
    k = overview.kpis
    sheet(
        "KPIs",
        ["KPI", "Value", "Previous period", "Change %", "Unit", "Definition"],
        [[i.label, i.value, i.previous_value, i.change_percent, i.unit, i.definition] for i in k.kpis],
        (1, 2),
    )
    f = overview.funnel
    sheet(
        "Funnel",
        ["Stage", "Leads", "% of started", "Drop-off from previous %"],
        [[s.stage, s.count, s.percentage, s.drop_off_from_previous] for s in f.funnel],
    )
    sheet(
        "Agents",
        ["Agent", "E-mail", "Closed deals", f"Total value ({overview.currency})", "Average deal", "Leads assigned", "Won leads",
         "Conversion %", "Average first response (s)", "Performance score"],
        [[a.agent_name, a.email, a.closed_deals, a.total_value_aed, a.average_deal_value_aed, a.leads_assigned, a.won_leads,
          a.conversion_rate, a.average_response_time_seconds, a.performance_score] for a in overview.agents],
        (3, 4),
    )  # fmt: skip
    sheet("Revenue", ["Period", "From", f"Revenue ({overview.currency}, P&L: invoiced before tax)"],
          [[p.label, p.start, p.value] for p in overview.revenue], (2,))  # fmt: skip
    sheet("Pipeline", ["Pipeline", "Stage", "Open deals", f"Value ({overview.currency})"],
          [[s.pipeline, s.stage, s.deals, s.value] for s in overview.pipeline], (3,))  # fmt: skip
    sheet(
        "Lead sources",
        ["Source", "Leads", "Won leads", "Conversion %", "Deals won", f"Won value ({overview.currency})", "Revenue (P&L)"],
        [[s.key, s.leads, s.won_leads, s.conversion_rate, s.won_deals, s.won_value, s.revenue] for s in overview.sources],
        (5, 6),
    )
    about = book.add_worksheet("About")
    about.write_string(
        0, 0, f"Analytics from {rng.first_day} to {rng.last_day} (UTC days), figures as of {overview.read_at:%Y-%m-%d %H:%M} UTC"
    )
    about.write_string(1, 0, "Whole team" if overview.team else "Your own figures")
    about.write_string(2, 0, f"Performance score = {SCORE_FORMULA}")
    about.write_string(3, 0, "Revenue is the P&L's: invoiced before tax, issued invoices by issue date, credit notes taken off.")
    book.close()
    return out.getvalue()
