"""Browser UI for expenses (a list with filters in the URL, a form with the receipt) and the profit and loss screen
(a period table, a chart drawn on the server as SVG, CSV and Excel downloads)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response, Template

from app.billing import billing_settings, expenses, policy, reports, schemas
from app.billing.views import fraction_of_percent
from app.core.errors import DomainError, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.web.auth import guard
from app.web.ui import form_errors, refusal_stays_on_page, render, targets

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
PAGE_SIZE = 25
EXPENSE_FIELDS = ("expense_date", "category", "vendor", "amount", "tax_amount", "currency", "note")


def _day(raw: str | None) -> date | None:
    """A date from a query string, or None for anything that is not one (the screens' filters are lenient)."""
    try:
        return date.fromisoformat(raw) if raw and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw) else None
    except ValueError:
        return None


def _expense_input(form: dict[str, Any]) -> dict[str, Any]:
    values = {k: str(form[k]).strip() for k in EXPENSE_FIELDS if isinstance(form.get(k), str) and str(form[k]).strip()}
    for name in ("amount", "tax_amount"):
        if name in values:
            values[name] = values[name].replace(",", "")
    if "currency" in values:
        values["currency"] = values["currency"].upper()
    return values


class FinancePagesController(Controller):
    """Expenses and the P&L screens."""

    include_in_schema = False

    # ------------------------------------------------------------------ expenses

    async def _expenses(
        self, request: Request[Any, Any, Any], tenant: TenantScope, state: dict[str, str], offset: int, **extra: Any
    ) -> Template:
        filters = expenses.ExpenseFilters(
            category=state["category"] or None, start_date=_day(state["start_date"]), end_date=_day(state["end_date"]), q=state["q"] or None
        )
        page = await expenses.list_expenses(tenant, filters, ListQuery(limit=PAGE_SIZE, offset=offset))
        query = urlencode({k: v for k, v in state.items() if v})
        ctx = {
            "active": "invoices",
            "section": "expenses",
            "state": state,
            "page": page,
            "query": query,
            "categories": await expenses.categories(tenant),
            "form": {"expense_date": date.today().isoformat()},
            "errors": {},
            "message": "",
        }
        ctx.update(extra)
        block = "results" if targets(request, "expense-results") else "content"
        pushed = "/expenses" + (f"?{query}" if query else "")
        return render(
            request,
            "billing/expenses.html",
            ctx,
            block=block,
            push_url=pushed if block == "results" else None,
            status_code=422 if ctx["errors"] else 200,
        )

    @get("/expenses", guards=[guard(policy.VIEW_EXPENSES)])
    async def expense_list(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        category: Annotated[str, Parameter(max_length=60)] = "",
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Template:
        """Expenses, filtered by category, dates and a search kept in the URL, with the form to add one."""
        state = {"category": category.strip(), "start_date": start_date, "end_date": end_date, "q": q.strip()}
        return await self._expenses(request, tenant, state, offset)

    @post("/expenses", guards=[guard(policy.MANAGE_EXPENSES)])
    async def add_expense(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Record an expense (with its receipt when one is chosen); errors next to their fields, nothing recorded."""
        upload = data.get("receipt")
        try:
            created = await expenses.create_expense(tenant, convert_input(_expense_input(data), schemas.ExpenseCreate))
            if isinstance(upload, UploadFile) and upload.filename:
                content = await upload.read()
                if content:
                    try:
                        await expenses.set_receipt(tenant, created.id, upload.filename, content)
                    except DomainError:
                        await expenses.delete_expense(tenant, created.id)  # all or nothing: the person sends it again
                        raise
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            errors = {("receipt" if k == "file" else k): v for k, v in form_errors(exc).items()}
            state = {"category": "", "start_date": "", "end_date": "", "q": ""}
            return await self._expenses(request, tenant, state, 0, form=form, errors=errors)
        return Redirect(path="/expenses", status_code=303)

    @post("/expenses/{expense_id:int}/delete", guards=[guard(policy.MANAGE_EXPENSES)])
    async def remove_expense(self, tenant: TenantScope, expense_id: Id) -> Redirect:
        """Delete an expense recorded by mistake."""
        await expenses.delete_expense(tenant, expense_id)
        return Redirect(path="/expenses", status_code=303)

    @get("/expenses/{expense_id:int}/receipt", guards=[guard(policy.VIEW_EXPENSES)])
    async def expense_receipt(self, tenant: TenantScope, expense_id: Id) -> Response[bytes]:
        """The receipt as it was uploaded."""
        filename, media_type, content = await expenses.receipt(tenant, expense_id)
        headers = {"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"}
        return Response(content, media_type=media_type, headers=headers)

    # ------------------------------------------------------------------ the P&L

    @get("/reports/profit-loss", guards=[guard(policy.REPORTS)])
    async def profit_loss(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        group_by: Annotated[str, Parameter(max_length=10)] = "month",
    ) -> Template:
        """The P&L by month, quarter or year, with a chart; the range and grouping live in the URL."""
        grouping = group_by if group_by in ("month", "quarter", "year") else "month"
        error = ""
        try:
            report = await reports.profit_loss(tenant, _day(start_date), _day(end_date), grouping, None)
        except ValidationFailed as exc:
            error = exc.human
            report = await reports.profit_loss(tenant, None, None, grouping, None)
        state = {"start_date": report.start_date.isoformat(), "end_date": report.end_date.isoformat(), "group_by": grouping}
        query = urlencode(state)
        ctx = {
            "active": "invoices",
            "section": "pnl",
            "report": report,
            "state": state,
            "query": query,
            "error": error,
            "chart": chart(report),
        }
        block = "report" if targets(request, "pnl-report") else "content"
        return render(
            request, "billing/pnl.html", ctx, block=block, push_url=f"/reports/profit-loss?{query}" if block == "report" else None
        )

    @get("/reports/profit-loss/export", guards=[guard(policy.REPORTS)])
    async def export(
        self,
        tenant: TenantScope,
        format: Annotated[str, Parameter(max_length=4)] = "csv",
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        group_by: Annotated[str, Parameter(max_length=10)] = "month",
    ) -> Response[bytes]:
        """The report as CSV or Excel."""
        grouping = group_by if group_by in ("month", "quarter", "year") else "month"
        report = await reports.profit_loss(tenant, _day(start_date), _day(end_date), grouping, None)
        kind = "xlsx" if format == "xlsx" else "csv"
        content = reports.to_xlsx(report) if kind == "xlsx" else reports.to_csv(report)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if kind == "xlsx" else "text/csv"
        headers = {"Content-Disposition": f'attachment; filename="profit-loss_{report.start_date}_{report.end_date}.{kind}"'}
        return Response(content, media_type=media, headers=headers)

    # ------------------------------------------------------------------ billing settings

    @get("/billing/settings", guards=[guard(policy.SETTINGS)])
    async def settings_page(
        self, request: Request[Any, Any, Any], tenant: TenantScope, saved: Annotated[str, Parameter(max_length=1)] = ""
    ) -> Template:
        """What invoices say about the workspace, its currency, tax and terms, and its number patterns."""
        current = await billing_settings.get_settings(tenant)
        ctx = {"active": "invoices", "section": "settings", "form": _settings_form(current), "errors": {}, "settings": current}
        return render(request, "billing/settings.html", {**ctx, "request_saved": saved == "1"})

    @post("/billing/settings", guards=[guard(policy.SETTINGS)])
    async def save_settings(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Save the settings (and the logo, when one is chosen); errors next to their fields, nothing saved."""
        form = {k: v for k, v in data.items() if isinstance(v, str) and not k.startswith("_")}
        values: dict[str, Any] = {k: v.strip() if k != "default_terms" else v for k, v in form.items() if k in SETTINGS_FIELDS}
        if values.get("default_tax_rate"):
            values["default_tax_rate"] = fraction_of_percent(values["default_tax_rate"])
        else:
            values.pop("default_tax_rate", None)
        if "currency" in values:
            values["currency"] = values["currency"].upper()
        logo = data.get("logo")
        try:
            await billing_settings.update_settings(tenant, convert_input(values, schemas.BillingSettingsUpdate))
            if isinstance(logo, UploadFile) and logo.filename:
                content = await logo.read()
                if content:
                    await billing_settings.set_logo(tenant, content)
            if data.get("remove_logo") == "1":
                await billing_settings.remove_logo(tenant)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            current = await billing_settings.get_settings(tenant)
            errors = {("logo" if k == "file" else k): v for k, v in form_errors(exc).items()}
            ctx = {"active": "invoices", "section": "settings", "form": form, "errors": errors, "settings": current, "request_saved": False}
            return render(request, "billing/settings.html", ctx, status_code=422)
        return Redirect(path="/billing/settings?saved=1", status_code=303)

    @get("/billing/logo", guards=[guard(policy.VIEW)])
    async def logo(self, tenant: TenantScope) -> Response[bytes]:
        """The logo printed on invoices (for the settings screen)."""
        found = await billing_settings.logo(tenant)
        if found is None:
            raise ResourceNotFound("This workspace's invoices have no logo")
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "private, no-cache"})


SETTINGS_FIELDS = (
    "legal_name",
    "address",
    "tax_id",
    "email",
    "phone",
    "currency",
    "default_tax_rate",
    "payment_terms_days",
    "number_pattern",
    "credit_note_pattern",
    "default_terms",
)


def _settings_form(current: schemas.BillingSettings) -> dict[str, str]:
    form = {name: str(getattr(current, name)) for name in SETTINGS_FIELDS}
    form["default_tax_rate"] = f"{(current.default_tax_rate * 100).normalize():f}"
    return form


# --------------------------------------------------------------------------- the chart


def chart(report: schemas.ProfitLoss, width: int = 720, height: int = 240) -> dict[str, Any]:
    """Bars of revenue invoiced and expenses per period and the net profit as a line, as SVG geometry for the template
    (drawn on the server: no script, readable by screen readers through the table beside it)."""
    lines = report.periods
    values = [v for p in lines for v in (p.invoiced, p.expenses, p.net_profit)] or [Decimal(0)]
    top, bottom = max(max(values), Decimal(0)), min(min(values), Decimal(0))
    span = (top - bottom) or Decimal(1)
    pad, chart_height = 28, height - 48
    slot = (width - pad) / max(len(lines), 1)
    bar = max(min(slot / 3, 28), 2)

    def y(value: Decimal) -> float:
        return pad / 2 + float((top - value) / span) * chart_height

    zero = y(Decimal(0))
    bars, points, labels = [], [], []
    for n, period in enumerate(lines):
        x = pad + n * slot + (slot - 2 * bar) / 2
        for k, (value, kind) in enumerate(((period.invoiced, "revenue"), (period.expenses, "expense"))):
            top_y = min(y(value), zero)
            bars.append(
                {
                    "x": round(x + k * bar, 1),
                    "y": round(top_y, 1),
                    "w": round(bar - 1, 1),
                    "h": round(abs(zero - y(value)), 1),
                    "kind": kind,
                    "title": f"{period.period}: {kind} {value:,.2f}",
                }
            )
        points.append(f"{pad + n * slot + slot / 2:.1f},{y(period.net_profit):.1f}")
        if len(lines) <= 16 or n % max(len(lines) // 12, 1) == 0:
            labels.append({"x": round(pad + n * slot + slot / 2, 1), "text": period.period})
    return {
        "width": width,
        "height": height,
        "zero": round(zero, 1),
        "bars": bars,
        "points": " ".join(points),
        "labels": labels,
        "top": top,
        "bottom": bottom,
    }
