"""ROI reports for the investment case of a lead or a property: the assumptions (the lead's budget, or the property's
price and the rents of its comparable rentals, else the person's own figures), the case worked out (app.billing.roi)
and its PDF (templates/pdf/roi.html)."""

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
from app.properties import service as properties
from app.properties.schemas import RENTAL_STATUSES
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


def property_report_url(property_id: int) -> str:
    """Where a property's ROI report PDF is."""
    return f"{base_url()}/v2/properties/{property_id}/roi-report.pdf"


@dataclass(frozen=True, slots=True)
class RoiSubject:
    """Whose investment case it is, and the defaults it gives: a lead's budget, or a property's price and rent."""

    kind: str  # "lead" or "property"
    id: int
    name: str  # the lead's name, the property's address
    price: Decimal | None
    annual_rent: Decimal | None  # None: a gross yield of DEFAULT_GROSS_YIELD
    rent_basis: str  # where the default rent comes from, as the report says it
    currency: str
    pdf_url: str


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


def _inputs(subject: RoiSubject, overrides: RoiOverrides) -> roi.RoiInputs:
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
    price = overrides.price if overrides.price is not None else subject.price
    if price is None or price <= 0:
        raise ValidationFailed(
            "Invalid price: more than 0",
            details={"field": "price", "provided": str(price), "expected": "an amount more than 0", "reason": "range"},
            human="Enter the price" if price is not None else "Enter the price: this rental has no estimated value",
        )
    chosen = {k: v for k, v in dataclasses.asdict(overrides).items() if v is not None}
    chosen["price"] = price
    rent = subject.annual_rent if subject.annual_rent is not None else (price * DEFAULT_GROSS_YIELD).quantize(Decimal("0.01"))
    chosen.setdefault("annual_rent", rent)
    chosen.setdefault("service_charges", (price * DEFAULT_SERVICE_CHARGES).quantize(Decimal("0.01")))
    return roi.RoiInputs(currency=subject.currency, **chosen)


def _report(subject: RoiSubject, result: roi.RoiResult, overrides: RoiOverrides) -> schemas.RoiReport:
    return msgspec.convert(
        {
            **{k: v for k, v in dataclasses.asdict(result).items() if k not in ("inputs", "cash_flows")},
            "assumptions": dataclasses.asdict(result.inputs),
            "subject": subject.kind,
            "title": subject.name,
            "lead_id": subject.id if subject.kind == "lead" else None,
            "lead_name": subject.name if subject.kind == "lead" else None,
            "property_id": subject.id if subject.kind == "property" else None,
            "rent_basis": "your figure" if overrides.annual_rent is not None else subject.rent_basis,
            "pdf_url": subject.pdf_url,
        },
        schemas.RoiReport,
    )


async def _subject(scope: TenantScope, kind: str, subject_id: int) -> RoiSubject:
    """The lead or property (404 for another tenant's) and the defaults of its case."""
    if kind == "lead":
        lead = await leads.get_lead(scope, subject_id, base_url())
        return RoiSubject(
            "lead",
            lead.id,
            lead.name,
            lead.budget_max or lead.budget_min or DEFAULT_PRICE,
            None,
            f"{DEFAULT_GROSS_YIELD * 100:.0f} % gross yield",
            lead.budget_currency or "AED",
            report_url(lead.id),
        )
    prop = await properties.get_property(scope, subject_id)
    rent, basis = await properties.yearly_rent_estimate(scope, prop)
    # A rental's price is its rent: the case buys it at its estimated value.
    price = prop.estimated_value if prop.listing_status in RENTAL_STATUSES else (prop.price or prop.estimated_value)
    return RoiSubject(
        "property",
        prop.id,
        prop.address,
        price,
        rent,
        basis if rent is not None else f"{DEFAULT_GROSS_YIELD * 100:.0f} % gross yield",
        prop.currency,
        property_report_url(prop.id),
    )


async def investment_case(
    scope: TenantScope, kind: str, subject_id: int, overrides: RoiOverrides
) -> tuple[schemas.RoiReport, roi.RoiResult]:
    """The investment case of a lead or a property (`kind`), 404 for another tenant's."""
    policy.ROI.require(scope)
    subject = await _subject(scope, kind, subject_id)
    result = roi.work_out(_inputs(subject, overrides))
    return _report(subject, result, overrides), result


async def roi_pdf(scope: TenantScope, kind: str, subject_id: int, overrides: RoiOverrides) -> tuple[str, bytes]:
    """The ROI report of a lead or a property as a PDF (file name, content), rendered off the event loop."""
    report, result = await investment_case(scope, kind, subject_id, overrides)
    context = {
        "report": report,
        "result": result,
        "seller": await seller_name(scope),
        "made_on": datetime.now(UTC).date(),
        "chart": cash_flow_chart(result),
    }
    content = await pdf.render_pdf("pdf/roi.html", context)
    return f"roi-report-{kind}-{subject_id}.pdf", content


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
