"""My tax receipt (ใบเสร็จภาษี): a salary's Thai personal income tax, spread over the ministries of one
fiscal year's official budget. The tax rules are declared data (validators/thai-pit.json); nothing a
person types is stored or logged."""
import functools
import json
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from catalog.gdc import VALIDATORS_DIR

from . import access
from .reconcile import NOT_ITEMISED
from .cubes import CubeError

SATANG = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000000")   # one trillion baht: beyond any salary, still exact in Decimal
PARAMETERS = ("income", "tax", "fiscal_year", "lang", "format")


@functools.lru_cache(maxsize=1)
def rules():
    """The declared personal income tax rules."""
    return json.loads((VALIDATORS_DIR / "thai-pit.json").read_text(encoding="utf-8"))


def _amount(name, raw):
    try:
        value = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        raise CubeError(f'"{name}" must be an amount in baht, not "{raw}"') from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise CubeError(f'"{name}" must be between 0 and {MAX_AMOUNT:,} baht')
    return value


def income_tax(income, deductions=None):
    """(taxable income, tax) in baht for an annual salary and named further deductions (each capped)."""
    r = rules()
    expense = min(income * Decimal(r["expense_deduction"]["rate"]), Decimal(r["expense_deduction"]["max"]))
    allowed = r["deductions"]
    further = Decimal(0)
    for name, value in (deductions or {}).items():
        if name not in allowed:
            raise CubeError(f'unknown deduction "{name}"', list(allowed))
        further += min(value, Decimal(allowed[name]["max"]))
    taxable = max(income - expense - Decimal(r["personal_allowance"]) - further, Decimal(0))
    tax, lower = Decimal(0), Decimal(0)
    for bracket in r["brackets"]:
        upper = Decimal(bracket["up_to"]) if bracket["up_to"] is not None else None
        part = (min(taxable, upper) if upper is not None else taxable) - lower
        if part <= 0:
            break
        tax += part * Decimal(bracket["rate"])
        lower = upper if upper is not None else lower
    return taxable.quantize(SATANG), tax.quantize(SATANG)


def split(total, weights):
    """`total` split in proportion to `weights` to the satang, adding up exactly (largest remainder)."""
    whole = sum(weights)
    if not weights or whole <= 0:
        return [Decimal(0)] * len(weights)
    units = int((total / SATANG).to_integral_value())
    exact = [Decimal(units) * w / whole for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    short = units - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (exact[i] - floors[i], weights[i]), reverse=True)[:short]:
        floors[i] += 1
    return [Decimal(f) * SATANG for f in floors]


def receipt(settings, db, params):
    """The tax-receipt answer: income, taxable income, tax and the ministries' items of one fiscal year."""
    unknown = sorted(k for k in params if k not in PARAMETERS and k not in rules()["deductions"])
    if unknown:
        raise CubeError(f"unknown parameter {', '.join(map(repr, unknown))}",
                        list(PARAMETERS) + list(rules()["deductions"]))
    if bool(params.get("income")) == bool(params.get("tax")):
        raise CubeError('give either "income" (annual salary, baht) or "tax" (tax paid, baht)')
    deductions = {k: _amount(k, v) for k, v in params.items() if k in rules()["deductions"] and v not in (None, "")}
    if params.get("income"):
        income = _amount("income", params["income"])
        taxable, tax = income_tax(income, deductions)
    else:
        income, taxable, tax = None, None, _amount("tax", params["tax"]).quantize(SATANG)
    # Without a year the cube itself answers for its default one (and says which).
    year = {"fiscal_year": str(params["fiscal_year"])} if params.get("fiscal_year") else {}
    res = access.run(settings, db, "aggregate", "budget", {"drilldown": "ministry", "aggregates": "amount.sum",
                                                           "order": "amount.sum:desc", **year})
    cells = [c for c in res["cells"] if (c["amount.sum"] or 0) > 0]
    weights = [Decimal(str(c["amount.sum"])) for c in cells]
    amounts = split(tax, weights)
    whole = sum(weights)
    items = [{"ministry": c["ministry"], "ministry_en": c.get("ministry.name_en"), "ministry_id": c["ministry.id"],
              "not_itemised": c["ministry.id"] == NOT_ITEMISED, "amount": float(a),
              "share": float((w / whole).quantize(Decimal("0.000001"))) if whole else 0.0,
              "budget": float(w)} for c, a, w in zip(cells, amounts, weights)]
    return {"income": float(income) if income is not None else None,
            "taxable_income": float(taxable) if taxable is not None else None, "tax": float(tax),
            "fiscal_year": res.get("fiscal_year"), "budget_total": float(whole),
            "deductions": {k: float(v) for k, v in deductions.items()}, "items": items,
            "rules": rules()["citation"]}
