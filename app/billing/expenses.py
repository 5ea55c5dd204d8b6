"""Expenses for the P&L: rules and queries (no HTTP), and their receipts (a scan or a PDF, one per expense)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from msgspec import UNSET

from app.billing import policy, schemas
from app.billing.service import EARLIEST, LATEST, read_settings
from app.billing.uploads import media_type_of
from app.core.errors import PayloadTooLarge, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.schemas import MONEY_PATTERN, checked_decimal
from app.db import TenantScope, fetch, fetch_as, like_pattern, tenant_transaction
from app.events.service import Subject, emit
from app.settings import base_url

SORTS = {"expense_date": "e.expense_date", "amount": "e.amount", "category": "e.category", "created_at": "e.created_at"}
MAX_RECEIPT_BYTES = 5 * 1024 * 1024


def _select(args: list[Any]) -> str:
    """Every read of an expense: its columns in the order of schemas.Expense, with its receipt's name and address (the
    base URL is appended to `args`)."""
    args.append(base_url())
    return f"""
SELECT e.id, e.expense_date, e.category, e.vendor, e.amount, e.tax_amount, e.amount + e.tax_amount AS total_amount, e.currency,
       e.note, r.filename AS receipt_name,
       CASE WHEN r.id IS NOT NULL THEN ${len(args)}::text || '/v2/expenses/' || e.id || '/receipt' END AS receipt_url,
       e.created_by, e.created_at, e.updated_at
  FROM expense e LEFT JOIN expense_receipt r ON r.expense_id = e.id AND r.tenant_id = e.tenant_id"""


@dataclass(frozen=True, slots=True)
class ExpenseFilters:
    """Filters of `GET /v2/expenses` and of the expenses screen."""

    category: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    q: str | None = None


def _where(scope: TenantScope, filters: ExpenseFilters) -> tuple[str, list[Any]]:
    clauses, args = ["e.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if filters.category:
        add("lower(e.category) = lower(?)", filters.category)
    if filters.start_date is not None:
        add("e.expense_date >= ?", filters.start_date)
    if filters.end_date is not None:
        add("e.expense_date <= ?", filters.end_date)
    if filters.q:
        add("(e.vendor || ' ' || e.category || ' ' || e.note) ILIKE ?", like_pattern(filters.q))
    return " AND ".join(clauses), args


async def list_expenses(scope: TenantScope, filters: ExpenseFilters, query: ListQuery) -> Page[schemas.Expense]:
    """A page of expenses, newest first unless `sort` says otherwise."""
    policy.VIEW_EXPENSES.require(scope)
    order = sort_order(query.sort, SORTS, "-expense_date")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        select = _select(selected := list(args))
        rows = await fetch_as(
            schemas.Expense,
            f"{select} WHERE {where} ORDER BY {order.sql(tiebreak='e.id')} LIMIT {query.limit} OFFSET {query.offset}",
            *selected,
        )
        if 0 < len(rows) < query.limit or (not rows and query.offset == 0):
            total = query.offset + len(rows)
        else:
            total = int((await fetch(f"SELECT count(*) AS n FROM expense e WHERE {where}", *args))[0]["n"])
    return page_of(schemas.Expense, rows, query, total)


async def categories(scope: TenantScope) -> list[str]:
    """The categories to offer: the usual ones and every one the workspace has used, alphabetically."""
    policy.VIEW_EXPENSES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        used = await fetch("SELECT DISTINCT category FROM expense WHERE tenant_id = $1 LIMIT 200", scope.tenant_id)
    return sorted({*schemas.EXPENSE_CATEGORIES, *(r["category"] for r in used)}, key=str.lower)


async def _read(scope: TenantScope, expense_id: int) -> schemas.Expense:
    args: list[Any] = [scope.tenant_id, expense_id]
    rows = await fetch_as(schemas.Expense, f"{_select(args)} WHERE e.tenant_id = $1 AND e.id = $2", *args)
    if not rows:
        raise ResourceNotFound("Expense not found", details={"expense_id": expense_id})
    return rows[0]


async def get_expense(scope: TenantScope, expense_id: int) -> schemas.Expense:
    """One expense (404 for other tenants' ids)."""
    policy.VIEW_EXPENSES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, expense_id)


def _check(values: dict[str, Any]) -> None:
    for name in ("amount", "tax_amount"):
        if name in values:
            checked_decimal(name, values[name], MONEY_PATTERN, noun="amount", human="Enter an amount, like 1500 or 1500.50")
    day = values.get("expense_date")
    if isinstance(day, date) and not EARLIEST <= day <= LATEST:
        raise ValidationFailed(
            f"Invalid expense_date: a date from {EARLIEST} to {LATEST}",
            details={
                "field": "expense_date",
                "provided": day.isoformat(),
                "expected": f"a date from {EARLIEST} to {LATEST}",
                "reason": "range",
            },
            human="Enter a date between 1900 and 2999",
        )
    for name in ("category", "vendor"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()


def _summary(expense: schemas.Expense) -> str:
    vendor = f" ({expense.vendor})" if expense.vendor else ""
    return f"{expense.category}{vendor}: {expense.currency} {expense.total_amount:,.2f} on {expense.expense_date}"


async def create_expense(scope: TenantScope, data: schemas.ExpenseCreate) -> schemas.Expense:
    """A new expense, in the workspace's currency unless another is named."""
    policy.MANAGE_EXPENSES.require(scope)
    values = msgspec.structs.asdict(data)
    _check(values)
    async with tenant_transaction(scope.tenant_id):
        currency = data.currency or (await read_settings(scope)).currency
        rows = await fetch(
            """INSERT INTO expense (tenant_id, expense_date, category, vendor, amount, tax_amount, currency, note, created_by, created_at,
                                    updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), now()) RETURNING id""",
            scope.tenant_id,
            data.expense_date,
            values["category"],
            values["vendor"],
            data.amount,
            data.tax_amount,
            currency,
            data.note,
            scope.user_id,
        )
        expense = await _read(scope, int(rows[0]["id"]))
        await emit(scope, Subject("expense", expense.id), "created", f"Expense recorded: {_summary(expense)}")
        return expense


async def update_expense(scope: TenantScope, expense_id: int, data: schemas.ExpenseUpdate) -> schemas.Expense:
    """Change an expense (the P&L of its period changes with it); audited."""
    policy.MANAGE_EXPENSES.require(scope)
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
    _check(values)
    async with tenant_transaction(scope.tenant_id):
        await fetch("SELECT 1 FROM expense WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, expense_id)
        before = await _read(scope, expense_id)
        changed = {k: v for k, v in values.items() if getattr(before, k) != v}
        if changed:
            sets = ", ".join(f"{name} = ${n + 3}" for n, name in enumerate(changed))
            await fetch(
                f"UPDATE expense SET {sets}, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                expense_id,
                *changed.values(),
            )
        expense = await _read(scope, expense_id)
        if changed:
            await emit(
                scope,
                Subject("expense", expense_id),
                "updated",
                f"Expense changed: {_summary(expense)}",
                {k: (getattr(before, k), v) for k, v in changed.items()},
                audit={k: [getattr(before, k), v] for k, v in changed.items()},
            )
        return expense


async def delete_expense(scope: TenantScope, expense_id: int) -> None:
    """Delete an expense recorded by mistake (and its receipt); audited."""
    policy.MANAGE_EXPENSES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        expense = await _read(scope, expense_id)
        await fetch("DELETE FROM expense WHERE tenant_id = $1 AND id = $2", scope.tenant_id, expense_id)
        await emit(scope, Subject("expense", expense_id), "deleted", audit={"expense": _summary(expense)})


async def set_receipt(scope: TenantScope, expense_id: int, filename: str, content: bytes) -> schemas.Expense:
    """Attach the receipt (a new one replaces the old)."""
    policy.MANAGE_EXPENSES.require(scope)
    if len(content) > MAX_RECEIPT_BYTES:
        raise PayloadTooLarge("The receipt is over 5 MB", details={"field": "file", "max_bytes": MAX_RECEIPT_BYTES})
    media_type = media_type_of(
        content,
        ("application/pdf", "image/png", "image/jpeg"),
        expected="a PDF, PNG or JPEG file of at most 5 MB",
        human="Upload the receipt as a PDF, PNG or JPEG file",
    )
    name = "".join(c for c in filename if c.isprintable() and c not in '"\\/')[-200:] or "receipt"
    async with tenant_transaction(scope.tenant_id):
        await _read(scope, expense_id)
        await fetch(
            """INSERT INTO expense_receipt (tenant_id, expense_id, filename, media_type, content, created_at)
               VALUES ($1, $2, $3, $4, $5, now())
               ON CONFLICT (expense_id) DO UPDATE SET filename = EXCLUDED.filename, media_type = EXCLUDED.media_type,
                                                      content = EXCLUDED.content, created_at = EXCLUDED.created_at""",
            scope.tenant_id,
            expense_id,
            name,
            media_type,
            content,
        )
        await emit(scope, Subject("expense", expense_id), "receipt_attached", f"Receipt attached: {name}")
        return await _read(scope, expense_id)


async def receipt(scope: TenantScope, expense_id: int) -> tuple[str, str, bytes]:
    """The receipt's file name, media type and content (404 when there is none)."""
    policy.VIEW_EXPENSES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT filename, media_type, content FROM expense_receipt WHERE tenant_id = $1 AND expense_id = $2",
            scope.tenant_id,
            expense_id,
        )
    if not rows:
        raise ResourceNotFound("This expense has no receipt", details={"expense_id": expense_id})
    return rows[0]["filename"], rows[0]["media_type"], bytes(rows[0]["content"])
