"""The profit and loss report (NeuraCRM guide §7.2): revenue invoiced and collected, expenses by category and the net,
period by period, in one currency; and its CSV and Excel files.

Revenue is what was invoiced before tax (issued invoices, not drafts nor void ones, by issue date, credit notes taken
off), so it adds up to the invoices' own figures to the cent; `collected` is the payments received, by the day they
were received in the workspace's time zone. Expenses count before tax. Every figure is summed in PostgreSQL's
numeric and in Decimal, never in floats, and the totals are the sums of the periods.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import xlsxwriter

from app.billing import policy, schemas
from app.billing.service import EARLIEST, LATEST, read_settings
from app.core.errors import ValidationFailed
from app.db import TenantScope, fetch, tenant_transaction

ZERO = Decimal("0.00")
MAX_PERIODS = 600
# Today in the workspace's zone, and a payment's day there.
_ZONE = "(SELECT time_zone FROM tenant WHERE id = $1)"


@dataclass(frozen=True, slots=True)
class Period:
    """A month, a quarter or a year (cut to the report's dates at its ends)."""

    label: str
    start: date
    end: date


def _next_start(day: date, group_by: str) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[group_by]
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _period_start(day: date, group_by: str) -> date:
    if group_by == "year":
        return date(day.year, 1, 1)
    if group_by == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, day.month, 1)


def _label(start: date, group_by: str) -> str:
    if group_by == "year":
        return f"{start.year}"
    if group_by == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def periods(start: date, end: date, group_by: str) -> list[Period]:
    """The periods from `start` to `end` (inclusive), the first and last cut to them."""
    found = []
    cursor = _period_start(start, group_by)
    while cursor <= end:
        following = _next_start(cursor, group_by)
        found.append(Period(_label(cursor, group_by), max(cursor, start), min(following - timedelta(days=1), end)))
        cursor = following
    return found


def _check_range(start: date, end: date, group_by: str) -> None:
    for name, day in (("start_date", start), ("end_date", end)):
        if not EARLIEST <= day <= LATEST:
            raise ValidationFailed(
                f"Invalid {name}: a date from {EARLIEST} to {LATEST}",
                details={"field": name, "provided": day.isoformat(), "expected": f"a date from {EARLIEST} to {LATEST}", "reason": "range"},
            )
    if end < start:
        raise ValidationFailed(
            "Invalid end_date: on or after start_date",
            details={"field": "end_date", "provided": end.isoformat(), "expected": "a date on or after start_date", "reason": "range"},
            human="The end date cannot be before the start date",
        )
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    count = {"month": months, "quarter": months / 3, "year": end.year - start.year + 1}[group_by]
    if count > MAX_PERIODS:
        raise ValidationFailed(
            f"Too many periods: at most {MAX_PERIODS} {group_by}s in one report",
            details={
                "field": "group_by",
                "provided": group_by,
                "expected": f"a grouping giving at most {MAX_PERIODS} periods",
                "reason": "range",
            },
            human="Choose a shorter range or a longer period",
        )


def _rate(currency: str, day: str) -> str:
    """SQL: what one unit of a document's currency is worth in the report's ($4): 1 in it; with conversion ($6), the
    workspace's rate in force on the document's day; else NULL (the document is left out)."""
    return f"""CASE WHEN {currency} = $4 THEN 1::numeric WHEN $6 THEN
                 (SELECT x.rate FROM exchange_rate x WHERE x.tenant_id = $1 AND x.currency = {currency} AND x.effective_on <= {day}
                   ORDER BY x.effective_on DESC LIMIT 1) END"""


_PAID_ON = f"(paid_at AT TIME ZONE {_ZONE})::date"


async def profit_loss(
    scope: TenantScope, start: date | None, end: date | None, group_by: str, currency: str | None, convert: bool = False
) -> schemas.ProfitLoss:
    """The P&L from `start` to `end` (default: this year so far) by month, quarter or year, in `currency` (default: the
    workspace's). Documents in other currencies are left out and named in `other_currencies`; with `convert` (only
    into the workspace's own currency, which the rates are kept in), each is converted at the rate in force on its
    date, rounded to the cent, and only those without a rate are left out."""
    policy.REPORTS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        today = (await fetch(f"SELECT (now() AT TIME ZONE {_ZONE})::date AS d", scope.tenant_id))[0]["d"]
        start = start or date(today.year, 1, 1)
        end = end or max(today, start)
        _check_range(start, end, group_by)
        own = (await read_settings(scope)).currency
        currency = (currency or own).upper()
        if convert and currency != own:
            raise ValidationFailed(
                f"Invalid currency: a converted report is in the workspace's own currency, {own}",
                # `reason`: a well-formed code; the workspace's own currency is data.
                details={"field": "currency", "provided": currency, "expected": own, "reason": "base_currency"},
                human=f"Converted reports are in {own}, the currency the exchange rates are kept in",
            )
        args = (scope.tenant_id, start, end, currency, group_by, convert)
        invoiced = await fetch(
            f"""SELECT date_trunc($5, i.issue_date::timestamp)::date AS period,
                       sum(round(CASE WHEN i.kind = 'credit_note' THEN -(i.subtotal - i.discount_amount)
                                      ELSE i.subtotal - i.discount_amount END * r.rate, 2)) AS net,
                       sum(round(CASE WHEN i.kind = 'credit_note' THEN -i.tax_amount ELSE i.tax_amount END * r.rate, 2)) AS tax
                  FROM invoice i CROSS JOIN LATERAL (SELECT {_rate("i.currency", "i.issue_date")} AS rate) r
                 WHERE i.tenant_id = $1 AND i.status NOT IN ('draft', 'void') AND i.issue_date BETWEEN $2 AND $3
                   AND r.rate IS NOT NULL
                 GROUP BY 1""",
            *args,
        )
        collected = await fetch(
            f"""SELECT date_trunc($5, {_PAID_ON}::timestamp)::date AS period, sum(round(p.amount * r.rate, 2)) AS amount
                  FROM payment p CROSS JOIN LATERAL (SELECT {_rate("p.currency", _PAID_ON)} AS rate) r
                 WHERE p.tenant_id = $1 AND {_PAID_ON} BETWEEN $2 AND $3 AND r.rate IS NOT NULL
                 GROUP BY 1""",
            *args,
        )
        spent = await fetch(
            f"""SELECT date_trunc($5, e.expense_date::timestamp)::date AS period, e.category,
                       sum(round(e.amount * r.rate, 2)) AS amount, sum(round(e.tax_amount * r.rate, 2)) AS tax
                  FROM expense e CROSS JOIN LATERAL (SELECT {_rate("e.currency", "e.expense_date")} AS rate) r
                 WHERE e.tenant_id = $1 AND e.expense_date BETWEEN $2 AND $3 AND r.rate IS NOT NULL
                 GROUP BY 1, 2""",
            *args,
        )
        # The other currencies of the range's documents, and the rate each day of them was converted at (if any).
        foreign = await fetch(
            f"""WITH days AS (
                    SELECT currency, issue_date AS day FROM invoice
                     WHERE tenant_id = $1 AND currency <> $4 AND status NOT IN ('draft', 'void') AND issue_date BETWEEN $2 AND $3
                    UNION SELECT currency, {_PAID_ON} FROM payment
                     WHERE tenant_id = $1 AND currency <> $4 AND {_PAID_ON} BETWEEN $2 AND $3
                    UNION SELECT currency, expense_date FROM expense
                     WHERE tenant_id = $1 AND currency <> $4 AND expense_date BETWEEN $2 AND $3)
                SELECT DISTINCT d.currency, x.rate, x.effective_on
                  FROM days d
                  LEFT JOIN LATERAL (SELECT rate, effective_on FROM exchange_rate x
                                      WHERE $5 AND x.tenant_id = $1 AND x.currency = d.currency AND x.effective_on <= d.day
                                      ORDER BY x.effective_on DESC LIMIT 1) x ON true
                 ORDER BY 1, 3""",
            scope.tenant_id,
            start,
            end,
            currency,
            convert,
        )
    report = _assemble(
        start, end, group_by, currency, invoiced, collected, spent, sorted({r["currency"] for r in foreign if r["rate"] is None})
    )
    if convert:
        used = [
            schemas.RateUsed(currency=r["currency"], rate=r["rate"], effective_on=r["effective_on"])
            for r in foreign
            if r["rate"] is not None
        ]
        report = msgspec.structs.replace(report, converted=True, rates_used=used)
    return report


def _assemble(
    start: date,
    end: date,
    group_by: str,
    currency: str,
    invoiced: list[dict[str, Any]],
    collected: list[dict[str, Any]],
    spent: list[dict[str, Any]],
    others: list[str],
) -> schemas.ProfitLoss:
    """The periods' figures (every period listed, empty ones too) and their totals, the sums of the periods."""
    by_period: dict[date, dict[str, Any]] = {}
    for period in periods(start, end, group_by):
        by_period[_period_start(period.start, group_by)] = {
            "period": period,
            "invoiced": ZERO,
            "invoiced_tax": ZERO,
            "collected": ZERO,
            "expenses_tax": ZERO,
            "categories": {},
        }
    for row in invoiced:
        by_period[row["period"]]["invoiced"] += row["net"]
        by_period[row["period"]]["invoiced_tax"] += row["tax"]
    for row in collected:
        by_period[row["period"]]["collected"] += row["amount"]
    for row in spent:
        cell = by_period[row["period"]]
        cell["categories"][row["category"]] = cell["categories"].get(row["category"], ZERO) + row["amount"]
        cell["expenses_tax"] += row["tax"]
    lines = [_line(cell["period"], cell) for cell in by_period.values()]
    every: dict[str, Decimal] = {}
    for cell in by_period.values():
        for category, amount in cell["categories"].items():
            every[category] = every.get(category, ZERO) + amount
    totals = _line(
        Period("Total", start, end),
        {
            "invoiced": sum((line.invoiced for line in lines), ZERO),
            "invoiced_tax": sum((line.invoiced_tax for line in lines), ZERO),
            "collected": sum((line.collected for line in lines), ZERO),
            "expenses_tax": sum((cell["expenses_tax"] for cell in by_period.values()), ZERO),
            "categories": every,
        },
    )
    return schemas.ProfitLoss(
        start_date=start, end_date=end, group_by=group_by, currency=currency, periods=lines, totals=totals, other_currencies=others
    )


def _line(period: Period, cell: dict[str, Any]) -> schemas.ProfitLossPeriod:
    categories = [schemas.CategoryAmount(category=k, amount=v) for k, v in sorted(cell["categories"].items(), key=lambda kv: kv[0].lower())]
    expenses = sum((c.amount for c in categories), ZERO)
    return schemas.ProfitLossPeriod(
        period=period.label,
        start_date=period.start,
        end_date=period.end,
        invoiced=cell["invoiced"],
        invoiced_tax=cell["invoiced_tax"],
        collected=cell["collected"],
        expenses=expenses,
        expenses_by_category=categories,
        net_profit=cell["invoiced"] - expenses,
        net_cash=cell["collected"] - expenses - cell["expenses_tax"],
    )


# --------------------------------------------------------------------------- files

FILE_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def file_of(report: schemas.ProfitLoss, kind: str) -> tuple[str, str, bytes]:
    """The report as a CSV or Excel file: (file name, media type, content)."""
    content = to_csv(report) if kind == "csv" else to_xlsx(report)
    return f"profit-loss_{report.start_date}_{report.end_date}.{kind}", FILE_TYPES[kind], content


def _table(report: schemas.ProfitLoss) -> tuple[list[str], list[list[Any]]]:
    """The report as a header and rows (one per period, then the totals): the same in CSV and Excel."""
    categories = [c.category for c in report.totals.expenses_by_category]
    header = [
        "Period",
        "From",
        "To",
        "Invoiced (before tax)",
        "Tax invoiced",
        "Collected",
        *[f"Expenses: {c}" for c in categories],
        "Expenses",
    ]
    header += ["Net profit", "Net cash"]
    rows = []
    for line in [*report.periods, report.totals]:
        spent = {c.category: c.amount for c in line.expenses_by_category}
        rows.append(
            [
                line.period,
                line.start_date,
                line.end_date,
                line.invoiced,
                line.invoiced_tax,
                line.collected,
                *[spent.get(c, ZERO) for c in categories],
                line.expenses,
                line.net_profit,
                line.net_cash,
            ]
        )
    return header, rows


def _cell_text(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (= + - @ at its start) gets a leading apostrophe."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: schemas.ProfitLoss) -> bytes:
    """The report as CSV (UTF-8 with a BOM, so Excel reads it right): amounts with 2 decimals, a totals row last."""
    header, rows = _table(report)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell_text(h) for h in header])
    writer.writerows([_cell_text(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(report: schemas.ProfitLoss) -> bytes:
    """The report as an Excel workbook: numbers as numbers (2 decimals), the totals row in bold, the header frozen."""
    header, rows = _table(report)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Profit and loss")
    bold = book.add_format({"bold": True, "bottom": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    total_money = book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1})
    total_text = book.add_format({"bold": True, "top": 1})
    sheet.write_row(0, 0, header, bold)
    for r, row in enumerate(rows, start=1):
        last = r == len(rows)
        for c, value in enumerate(row):
            if isinstance(value, Decimal):
                sheet.write_number(r, c, float(value), total_money if last else money)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, day)
            else:
                sheet.write_string(r, c, str(value), total_text if last else None)
    sheet.freeze_panes(1, 1)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 2, 11)
    sheet.set_column(3, len(header) - 1, 16)
    sheet.write_string(len(rows) + 2, 0, f"Currency: {report.currency}. Amounts before tax; net cash counts expenses with their tax.")
    book.close()
    return out.getvalue()
