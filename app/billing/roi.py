"""An investment case for a property: the yearly cash flows of buying it (with or without a mortgage), letting it and
selling it after a holding period, and what they come to (gross and net yield, cash-on-cash, IRR, equity multiple).

Pure arithmetic in Decimal, rounded to the cent month by month (the mortgage) and year by year (rent, charges); the
IRR is solved in floats by bisection (a rate, shown to two decimals of a percent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from app.billing.money import ZERO, to_cents

ONE = Decimal(1)
TWELVE = Decimal(12)


@dataclass(frozen=True, slots=True)
class RoiInputs:
    """The assumptions: rates are fractions (0.05 is 5 %), money is in the lead's currency."""

    price: Decimal
    annual_rent: Decimal
    service_charges: Decimal = ZERO  # a year
    fees_rate: Decimal = Decimal("0.06")  # transfer fee, agency, registration: on the price
    vacancy_rate: Decimal = Decimal("0.05")
    rent_growth: Decimal = Decimal("0.02")  # a year
    appreciation_rate: Decimal = Decimal("0.03")  # a year
    holding_years: int = 5
    loan_to_value: Decimal = ZERO  # 0: bought in cash
    interest_rate: Decimal = Decimal("0.045")  # a year
    loan_term_years: int = 25
    selling_cost_rate: Decimal = Decimal("0.02")
    currency: str = "AED"


@dataclass(frozen=True, slots=True)
class RoiYear:
    """One year of holding the property."""

    year: int
    rent: Decimal  # collected: the year's rent less vacancy
    service_charges: Decimal
    net_operating_income: Decimal
    interest: Decimal
    principal: Decimal
    cash_flow: Decimal  # net operating income less the mortgage's payments
    property_value: Decimal  # at the year's end
    loan_balance: Decimal  # at the year's end
    equity: Decimal  # value less what is still owed


@dataclass(frozen=True, slots=True)
class RoiResult:
    """The case worked out: what goes in, each year, the sale, and the returns."""

    inputs: RoiInputs
    fees: Decimal
    loan: Decimal
    cash_invested: Decimal  # the deposit and the fees
    monthly_payment: Decimal
    years: list[RoiYear]
    sale_price: Decimal
    selling_costs: Decimal
    sale_proceeds: Decimal  # after selling costs and paying off the loan
    gross_yield: Decimal  # the first year's rent (before vacancy) over the price
    net_yield: Decimal  # the first year's net operating income over the price and fees
    cash_on_cash: Decimal | None  # the first year's cash flow over the cash invested
    irr: Decimal | None  # over the holding period, a year
    total_profit: Decimal  # every cash flow and the sale, less the cash invested
    equity_multiple: Decimal | None
    cash_flows: list[Decimal] = field(default_factory=list)  # year 0 (the cash invested, negative) to the sale


def monthly_payment(loan: Decimal, annual_rate: Decimal, years: int) -> Decimal:
    """The level monthly payment that repays `loan` over `years` at `annual_rate`, to the cent."""
    if loan <= 0:
        return ZERO
    months = years * 12
    rate = annual_rate / TWELVE
    if rate == 0:
        return to_cents(loan / months)
    return to_cents(loan * rate / (ONE - (ONE + rate) ** -months))


def irr(flows: list[Decimal]) -> Decimal | None:
    """The rate at which the flows' present value is 0 (bisection between -99 % and 1000 %), or None when there is none."""
    values = [float(v) for v in flows]

    def npv(rate: float) -> float:
        return sum(v / (1 + rate) ** t for t, v in enumerate(values))

    low, high = -0.99, 10.0
    at_low, at_high = npv(low), npv(high)
    if at_low == 0:
        return Decimal(str(round(low, 6)))
    if at_low * at_high > 0:
        return None
    for _ in range(200):
        middle = (low + high) / 2
        at_middle = npv(middle)
        if abs(at_middle) < 1e-7 or high - low < 1e-10:
            break
        if at_low * at_middle < 0:
            high = middle
        else:
            low, at_low = middle, at_middle
    return Decimal(str(round((low + high) / 2, 6)))


def work_out(inputs: RoiInputs) -> RoiResult:
    """The investment case of `inputs`, year by year to the sale at the end of the holding period."""
    fees = to_cents(inputs.price * inputs.fees_rate)
    loan = to_cents(inputs.price * inputs.loan_to_value)
    cash_invested = inputs.price - loan + fees
    payment = monthly_payment(loan, inputs.interest_rate, inputs.loan_term_years)
    balance, rate = loan, inputs.interest_rate / TWELVE
    months_left = inputs.loan_term_years * 12
    years = []
    for year in range(1, inputs.holding_years + 1):
        growth = (ONE + inputs.rent_growth) ** (year - 1)
        rent = to_cents(inputs.annual_rent * growth * (ONE - inputs.vacancy_rate))
        charges = to_cents(inputs.service_charges * growth)
        noi = rent - charges
        interest = principal = ZERO
        for _ in range(12):
            if balance <= 0 or months_left <= 0:
                break
            owed = to_cents(balance * rate)
            repaid = min(balance, payment - owed) if months_left > 1 else balance
            interest += owed
            principal += repaid
            balance -= repaid
            months_left -= 1
        value = to_cents(inputs.price * (ONE + inputs.appreciation_rate) ** year)
        years.append(RoiYear(year, rent, charges, noi, interest, principal, noi - interest - principal, value, balance, value - balance))
    sale_price = years[-1].property_value if years else inputs.price
    selling_costs = to_cents(sale_price * inputs.selling_cost_rate)
    sale_proceeds = sale_price - selling_costs - balance
    flows = [-cash_invested, *(y.cash_flow for y in years)]
    flows[-1] += sale_proceeds
    first = years[0] if years else None
    gained = sum(flows[1:], ZERO)
    return RoiResult(
        inputs=inputs,
        fees=fees,
        loan=loan,
        cash_invested=cash_invested,
        monthly_payment=payment,
        years=years,
        sale_price=sale_price,
        selling_costs=selling_costs,
        sale_proceeds=sale_proceeds,
        gross_yield=(inputs.annual_rent / inputs.price) if inputs.price else ZERO,
        net_yield=(first.net_operating_income / (inputs.price + fees)) if first and inputs.price + fees else ZERO,
        cash_on_cash=(first.cash_flow / cash_invested) if first and cash_invested > 0 else None,
        irr=irr(flows) if cash_invested > 0 else None,
        total_profit=gained - cash_invested,
        equity_multiple=(gained / cash_invested) if cash_invested > 0 else None,
        cash_flows=flows,
    )
