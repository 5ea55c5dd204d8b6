"""Exchange rates finance keeps: what a unit of another currency is worth in the workspace's billing currency, from a
day on. The P&L converts each invoice, payment and expense at the rate in force on its own date (app.billing.reports)."""

from __future__ import annotations

from app.billing import policy, schemas
from app.billing.service import EARLIEST, LATEST, read_settings
from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.schemas import EXCHANGE_RATE_PATTERN, checked_decimal
from app.db import TenantScope, fetch, fetch_as, tenant_transaction
from app.events.service import Subject, emit

_COLUMNS = "id, currency, $2::text AS base_currency, rate, effective_on, created_at"


async def list_rates(scope: TenantScope) -> list[schemas.ExchangeRate]:
    """Every rate, by currency, newest first."""
    policy.REPORTS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        base = (await read_settings(scope)).currency
        return await fetch_as(
            schemas.ExchangeRate,
            f"SELECT {_COLUMNS} FROM exchange_rate WHERE tenant_id = $1 ORDER BY currency, effective_on DESC",
            scope.tenant_id,
            base,
        )


async def set_rate(scope: TenantScope, data: schemas.ExchangeRateInput) -> tuple[schemas.ExchangeRate, bool]:
    """Keep a rate (the same currency and day: replaced); (the rate, whether it is new). Audited."""
    policy.SETTINGS.require(scope)
    rate = checked_decimal("rate", data.rate, EXCHANGE_RATE_PATTERN, noun="rate", human="Enter a rate more than 0, like 3.6725")
    assert rate is not None
    async with tenant_transaction(scope.tenant_id):
        base = (await read_settings(scope)).currency
        if data.currency == base:
            raise ValidationFailed(
                f"Invalid currency: {base} is the workspace's own currency",
                # `reason`: a well-formed code; which one is the workspace's own is data.
                details={
                    "field": "currency",
                    "provided": data.currency,
                    "expected": f"a currency other than {base}",
                    "reason": "base_currency",
                },
                human=f"{base} is the workspace's own currency: it needs no rate",
            )
        if not EARLIEST <= data.effective_on <= LATEST:
            raise ValidationFailed(
                f"Invalid effective_on: a date from {EARLIEST} to {LATEST}",
                details={"field": "effective_on", "provided": data.effective_on.isoformat(), "reason": "range"},
                human="Enter a date",
            )
        rows = await fetch(
            f"""INSERT INTO exchange_rate (tenant_id, currency, rate, effective_on, created_by) VALUES ($1, $3, $4, $5, $6)
                ON CONFLICT (tenant_id, currency, effective_on) DO UPDATE SET rate = EXCLUDED.rate, created_by = EXCLUDED.created_by,
                                                                            created_at = now()
                RETURNING {_COLUMNS}, (xmax = 0) AS inserted""",
            scope.tenant_id,
            base,
            data.currency,
            rate,
            data.effective_on,
            scope.user_id,
        )
        row = dict(rows[0])
        inserted = bool(row.pop("inserted"))
        kept = schemas.ExchangeRate(**row)
        await emit(
            scope,
            Subject("billing_settings", scope.tenant_id),
            "billing.exchange_rate_set",
            audit={"currency": kept.currency, "rate": str(kept.rate), "effective_on": kept.effective_on.isoformat(), "base": base},
        )
        return kept, inserted


async def delete_rate(scope: TenantScope, rate_id: int) -> None:
    """Forget a rate (404 for another tenant's). Audited."""
    policy.SETTINGS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "DELETE FROM exchange_rate WHERE tenant_id = $1 AND id = $2 RETURNING currency, rate, effective_on", scope.tenant_id, rate_id
        )
        if not rows:
            raise ResourceNotFound("Exchange rate not found", details={"rate_id": rate_id})
        gone = rows[0]
        await emit(
            scope,
            Subject("billing_settings", scope.tenant_id),
            "billing.exchange_rate_deleted",
            audit={"currency": gone["currency"], "rate": str(gone["rate"]), "effective_on": gone["effective_on"].isoformat()},
        )
