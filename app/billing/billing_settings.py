"""The workspace's billing settings: what its invoices say about it (name, address, tax number, logo), its currency,
default tax rate and payment terms, and its number patterns."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from app.billing import policy, schemas
from app.billing.service import read_settings
from app.billing.uploads import media_type_of
from app.core.errors import PayloadTooLarge
from app.core.schemas import RATE_PATTERN, checked_decimal
from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, emit

MAX_LOGO_BYTES = 512 * 1024


async def get_settings(scope: TenantScope) -> schemas.BillingSettings:
    """The billing settings (their defaults until someone saves them)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await read_settings(scope)


async def _save(scope: TenantScope, values: dict[str, Any]) -> None:
    """Create the settings row with `values`, or change those columns of it."""
    columns = list(values)
    placeholders = ", ".join(f"${n + 2}" for n in range(len(columns)))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    await fetch(
        f"""INSERT INTO billing_settings (tenant_id, {", ".join(columns)}, updated_at) VALUES ($1, {placeholders}, now())
            ON CONFLICT (tenant_id) DO UPDATE SET {updates}, updated_at = now()""",
        scope.tenant_id,
        *values.values(),
    )


async def update_settings(scope: TenantScope, data: schemas.BillingSettingsUpdate) -> schemas.BillingSettings:
    """Change the billing settings; audited. A new number pattern applies to invoices created from now on."""
    policy.SETTINGS.require(scope)
    values = {
        k: (v.strip() if isinstance(v, str) and k != "default_terms" else v)
        for k, v in msgspec.structs.asdict(data).items()
        if v is not UNSET
    }
    if "default_tax_rate" in values:
        checked_decimal(
            "default_tax_rate",
            data.default_tax_rate if data.default_tax_rate is not UNSET else None,
            RATE_PATTERN,
            noun="rate",
            human="Enter a tax rate from 0 to 100 %",
        )
    async with tenant_transaction(scope.tenant_id):
        before = await read_settings(scope)
        changed = {k: v for k, v in values.items() if getattr(before, k) != v}
        if changed:
            await _save(scope, changed)
            await emit(
                scope,
                Subject("billing_settings", scope.tenant_id),
                "billing.settings_updated",
                audit={k: [getattr(before, k), v] for k, v in changed.items()},
            )
        return await read_settings(scope)


async def set_logo(scope: TenantScope, content: bytes) -> schemas.BillingSettings:
    """The logo printed on invoices (PNG or JPEG, at most 512 KB); audited."""
    policy.SETTINGS.require(scope)
    if len(content) > MAX_LOGO_BYTES:
        raise PayloadTooLarge("The logo is over 512 KB", details={"field": "file", "max_bytes": MAX_LOGO_BYTES})
    media_type = media_type_of(
        content,
        ("image/png", "image/jpeg"),
        expected="a PNG or JPEG image of at most 512 KB",
        human="Upload the logo as a PNG or JPEG image",
    )
    async with tenant_transaction(scope.tenant_id):
        await _save(scope, {"logo": content, "logo_type": media_type})
        await emit(
            scope, Subject("billing_settings", scope.tenant_id), "billing.logo_changed", audit={"bytes": len(content), "type": media_type}
        )
        return await read_settings(scope)


async def remove_logo(scope: TenantScope) -> schemas.BillingSettings:
    """Invoices print no logo from now on."""
    policy.SETTINGS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _save(scope, {"logo": None, "logo_type": ""})
        await emit(scope, Subject("billing_settings", scope.tenant_id), "billing.logo_removed", audit=True)
        return await read_settings(scope)


async def logo(scope: TenantScope) -> tuple[bytes, str] | None:
    """The logo and its media type, if there is one."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("SELECT logo, logo_type FROM billing_settings WHERE tenant_id = $1 AND logo IS NOT NULL", scope.tenant_id)
    return (bytes(rows[0]["logo"]), rows[0]["logo_type"]) if rows else None
