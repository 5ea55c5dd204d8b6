"""Invoice arithmetic in Decimal, rounded per line: what every total, the PDF and the P&L add up.

Each line is rounded on its own to the cent (half up, as accountants round): its amount
(quantity x unit price), its discount, its net and its tax. The invoice's figures are the sums of
its lines' rounded figures, so the lines printed on an invoice always add up to its totals, and the
tax summary (per rate) to its tax.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal) -> Decimal:
    """`value` rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LineFigures:
    """A line's rounded figures: amount = quantity x unit price; net = amount - discount; total = net + tax."""

    amount: Decimal
    discount_amount: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal


def line_figures(quantity: Decimal, unit_price: Decimal, discount_rate: Decimal, tax_rate: Decimal) -> LineFigures:
    """One line's figures, each rounded to the cent (rates are fractions: 0.05 is 5 %)."""
    amount = to_cents(quantity * unit_price)
    discount = to_cents(amount * discount_rate)
    net = amount - discount
    tax = to_cents(net * tax_rate)
    return LineFigures(amount, discount, net, tax, net + tax)


@dataclass(frozen=True, slots=True)
class TaxBand:
    """The lines taxed at one rate: their net amount and their tax."""

    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """An invoice's figures, the sums of its lines' rounded figures."""

    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    tax_summary: tuple[TaxBand, ...]

    @property
    def taxable_amount(self) -> Decimal:
        """The net of every line: subtotal less discounts."""
        return self.subtotal - self.discount_amount


def totals(lines: Iterable[tuple[Decimal, LineFigures]]) -> Totals:
    """The totals of `(tax_rate, figures)` lines, with one tax band per rate (lowest rate first)."""
    subtotal = discount = tax = ZERO
    bands: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for rate, figures in lines:
        subtotal += figures.amount
        discount += figures.discount_amount
        tax += figures.tax_amount
        net_so_far, tax_so_far = bands.get(rate.normalize(), (ZERO, ZERO))
        bands[rate.normalize()] = (net_so_far + figures.net_amount, tax_so_far + figures.tax_amount)
    summary = tuple(TaxBand(rate, net, band_tax) for rate, (net, band_tax) in sorted(bands.items()))
    return Totals(subtotal, discount, tax, subtotal - discount + tax, summary)


def percent(rate: Decimal) -> str:
    """A rate as people read it: 0.05 → `5%`, 0.0825 → `8.25%`."""
    value = (rate * 100).normalize()
    text = f"{value:f}"
    return f"{text}%"
