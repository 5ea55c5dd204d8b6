"""ROI reports for a lead's investment case: the assumptions (the lead's budget, else the person's own figures), the
case worked out (app.billing.roi) and its PDF (templates/pdf/roi.html)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from app.billing import pdf, policy, roi, schemas
from app.billing.service import seller_name
from app.core.errors import ValidationFailed
from app.core.schemas import MONEY_PATTERN, RATE_PATTERN, checked_decimal
from app.db import TenantScope
from app.leads import service as leads
from app.settings import base_url

DEFAULT_PRICE = Decimal("1500000.00")
DEFAULT_GROSS_YIELD = Decimal("0.06")  # a year's rent as a share of the price, when the person names no rent
DEFAULT_SERVICE_CHARGES = Decimal("0.01")  # a year, as a share of the price
MONEY_FIELDS = ("price", "annual_rent", "service_charges")
RATE_FIELDS = ("fees_rate", "vacancy_rate", "rent_growth", "appreciation_rate", "loan_to_value", "interest_rate", "selling_cost_rate")
MAX_LOAN_TO_VALUE = Decimal("0.95")


def report_url(lead_id: int) -> str:
    """Where a lead's ROI report PDF is (its `roi_report_url`)."""
    return f"{base_url()}/v2/leads/{lead_id}/roi-report.pdf"


@dataclass(frozen=True, slots=True)
class RoiOverrides:
    """What the person changed of the defaults (None: the default)."""

    price: Decimal | None = None
    annual_rent: Decimal | None = None
    service_charges: Decimal | None = None
    fees_rate: Decimal | None = None
    vacancy_rate: Decimal | None = None
    rent_growth: Decimal | None = None
    appreciation_rate: Decimal | None = None
    holding_years: int | None = None
    loan_to_value: Decimal | None = None
    interest_rate: Decimal | None = None
    loan_term_years: int | None = None
    selling_cost_rate: Decimal | None = None


def _inputs(lead: Any, overrides: RoiOverrides) -> roi.RoiInputs:
    for name in MONEY_FIELDS:
        checked_decimal(name, getattr(overrides, name), MONEY_PATTERN, noun="amount", human="Enter an amount, like 1500000")
    for name in RATE_FIELDS:
        checked_decimal(name, getattr(overrides, name), RATE_PATTERN, noun="rate", human="Enter a percentage from 0 to 100")
    if overrides.loan_to_value is not None and overrides.loan_to_value > MAX_LOAN_TO_VALUE:
        raise ValidationFailed(
            f"Invalid loan_to_value: at most {MAX_LOAN_TO_VALUE}",
            # `reason`: the schema's rate goes to 1; no bank lends the whole price and its fees.
            details={
                "field": "loan_to_value",
                "provided": str(overrides.loan_to_value),
                "expected": f"at most {MAX_LOAN_TO_VALUE}",
                "reason": "range",
            },
            human="A mortgage covers at most 95 % of the price",
        )
    price = overrides.price if overrides.price is not None else (lead.budget_max or lead.budget_min or DEFAULT_PRICE)
    if price <= 0:
        raise ValidationFailed(
            "Invalid price: more than 0",
            details={"field": "price", "provided": str(price), "expected": "an amount more than 0", "reason": "range"},
            human="Enter the price",
        )
    chosen = {k: v for k, v in dataclasses.asdict(overrides).items() if v is not None}
    chosen["price"] = price
    chosen.setdefault("annual_rent", (price * DEFAULT_GROSS_YIELD).quantize(Decimal("0.01")))
    chosen.setdefault("service_charges", (price * DEFAULT_SERVICE_CHARGES).quantize(Decimal("0.01")))
    return roi.RoiInputs(currency=lead.budget_currency or "AED", **chosen)


def _report(lead: Any, result: roi.RoiResult) -> schemas.RoiReport:
    return msgspec.convert(
        {
            **{k: v for k, v in dataclasses.asdict(result).items() if k not in ("inputs", "cash_flows")},
            "assumptions": dataclasses.asdict(result.inputs),
            "lead_id": lead.id,
            "lead_name": lead.name,
            "pdf_url": report_url(lead.id),
        },
        schemas.RoiReport,
    )


async def lead_roi(scope: TenantScope, lead_id: int, overrides: RoiOverrides) -> tuple[schemas.RoiReport, roi.RoiResult]:
    """A lead's investment case (404 for another tenant's lead)."""
    policy.ROI.require(scope)
    lead = await leads.get_lead(scope, lead_id, base_url())
    result = roi.work_out(_inputs(lead, overrides))
    return _report(lead, result), result


async def lead_roi_pdf(scope: TenantScope, lead_id: int, overrides: RoiOverrides) -> tuple[str, bytes]:
    """The ROI report as a PDF (file name, content), rendered off the event loop."""
    report, result = await lead_roi(scope, lead_id, overrides)
    context = {
        "report": report,
        "result": result,
        "seller": await seller_name(scope),
        "made_on": datetime.now(UTC).date(),
        "chart": cash_flow_chart(result),
    }
    content = await pdf.render_pdf("pdf/roi.html", context)
    return f"roi-report-lead-{lead_id}.pdf", content


def cash_flow_chart(result: roi.RoiResult, width: int = 480, height: int = 170) -> dict[str, Any]:
    """The yearly cash flows as bars and the equity built up as a line, as SVG geometry (for the PDF)."""
    years = result.years
    flows = [y.cash_flow for y in years] or [Decimal(0)]
    equity = [y.equity for y in years] or [Decimal(0)]
    top = max(*flows, *equity, Decimal(0))
    bottom = min(*flows, *equity, Decimal(0))
    span = (top - bottom) or Decimal(1)
    pad, inner = 36, height - 30
    slot = (width - pad) / max(len(years), 1)

    def y(value: Decimal) -> float:
        return round(8 + float((top - value) / span) * inner, 1)

    zero = y(Decimal(0))
    bars = [
        {
            "x": round(pad + n * slot + slot * 0.25, 1),
            "y": min(y(v.cash_flow), zero),
            "w": round(slot * 0.5, 1),
            "h": round(abs(zero - y(v.cash_flow)), 1),
            "year": v.year,
        }
        for n, v in enumerate(years)
    ]
    line = " ".join(f"{pad + n * slot + slot / 2:.1f},{y(v.equity)}" for n, v in enumerate(years))
    return {"width": width, "height": height, "zero": zero, "bars": bars, "line": line, "pad": pad, "slot": slot, "top": top}
