"""Thai parsers: known values, and the DuckDB macros agree with the Python functions on generated input."""
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

from catalog import thaiformats as thai


@pytest.fixture(scope="module")
def cur():
    con = duckdb.connect()
    thai.install_macros(con)
    return con


def test_two_digit_be_dates_thai_months_and_thai_digits_parse():
    assert thai.parse_thai_date("29 พ.ย. 67") == date(2024, 11, 29)
    assert thai.parse_thai_date("๑๔ พ.ย. ๖๗") == date(2024, 11, 14)
    assert thai.parse_thai_date("1 มกราคม 2567") == date(2024, 1, 1)
    assert thai.parse_thai_date("20/06/2565") == date(2022, 6, 20)
    assert thai.parse_thai_date("24-May-2567") == date(2024, 5, 24)
    assert thai.parse_thai_date("-") is None
    with pytest.raises(ValueError):
        thai.parse_thai_date("31 ก.พ. 67")


def test_fiscal_year_is_named_by_the_be_year_it_ends_in():
    assert thai.fiscal_year_be(date(2024, 9, 30)) == 2567
    assert thai.fiscal_year_be(date(2024, 10, 1)) == 2568
    assert thai.be_year(2022) == 2565 and thai.be_year(67) == 2567 and thai.ce_year(2565) == 2022


def test_amounts_with_commas_thai_digits_units_and_dashes():
    assert thai.parse_amount("3,498,760,900.00") == Decimal("3498760900.00")
    assert thai.parse_amount("๑๒,๕๐๐,๐๐๐ บาท") == Decimal("12500000")
    assert thai.parse_amount("227,126.566", unit=1_000_000) == Decimal("227126566000.000")
    assert thai.parse_amount("-") is None
    with pytest.raises(ValueError):
        thai.parse_amount("12,34")


def test_tax_ids_check_digit_leading_zero_and_masked():
    assert thai.tin_status("0105536092641") == "valid"  # company TINs start with 0: kept as text
    assert thai.tin_status("0105536092642") == "invalid"
    assert thai.tin_status("130990115xxxx") == "masked"
    assert thai.tin_status("") == "blank"
    assert thai.tin_status("12345") == "invalid"


def _py(fn, s):
    try:
        return fn(s)
    except ValueError:
        return "bad"


months = st.sampled_from(thai.MONTHS_ABBR + thai.MONTHS_FULL + ["May", "Foo", "ม.ค"])
dates = st.one_of(
    st.builds(lambda d, m, y: f"{d} {m} {y}", st.integers(0, 33), months, st.integers(0, 2700)),
    st.builds(lambda d, m, y: f"{d:02d}/{m:02d}/{y}", st.integers(0, 33), st.integers(0, 13), st.integers(1000, 2700)),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 2700), st.integers(0, 13), st.integers(0, 32)),
    st.text(alphabet="0123456789๐๑๒ -/.มค", max_size=12),
)


def _sql_many(cur, expr, texts):
    """One query per batch: planning DuckDB's nested macros costs more than running them."""
    return cur.execute(f"SELECT {expr} FROM unnest(?::VARCHAR[]) WITH ORDINALITY t(x, i) ORDER BY i", [texts]).fetchall()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=thai.THAI_DIGITS + "0123456789กขบาท ,.-", max_size=12), max_size=60))
def test_sql_digits_macro_turns_every_thai_digit_into_its_arabic_one(cur, texts):
    texts = [*thai.THAI_DIGITS, None, *texts]   # each digit alone, and no text at all
    table = str.maketrans(thai.THAI_DIGITS, "0123456789")
    assert [r[0] for r in _sql_many(cur, "khl_digits(x)", texts)] == [t and t.translate(table) for t in texts]


@settings(max_examples=40, deadline=None)
@given(st.lists(dates, min_size=1, max_size=60))
def test_sql_thai_date_macro_agrees_with_python(cur, texts):
    for text, (sql, bad) in zip(texts, _sql_many(cur, "khl_thai_date(x), khl_thai_date_bad(x)", texts)):
        assert ((sql if not bad else "bad"), text) == (_py(thai.parse_thai_date, text), text)


amounts = st.one_of(
    st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False).map(lambda d: f"{d:,}"),
    st.text(alphabet="0123456789,.-() ๑๒บาท", max_size=14),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=60))
def test_sql_amount_macro_agrees_with_python(cur, texts):
    for text, (sql, bad) in zip(texts, _sql_many(cur, "khl_amount(x), khl_amount_bad(x)", texts)):
        assert ((sql if not bad else "bad"), text) == (_py(thai.parse_amount, text), text)


tins = st.one_of(st.text(alphabet="0123456789", min_size=12, max_size=12).map(
    lambda s: s + str(thai.tin_check_digit(s))), st.text(alphabet="0123456789xX- ", max_size=15))


@settings(max_examples=40, deadline=None)
@given(st.lists(tins, min_size=1, max_size=60))
def test_sql_tin_macro_agrees_with_python(cur, texts):
    for text, (sql,) in zip(texts, _sql_many(cur, "khl_tin_status(x)", texts)):
        assert (sql, text) == (thai.tin_status(text), text)
