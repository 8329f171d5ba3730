"""Property-based fuzzing (hypothesis) of the Thai date, amount and tax-id parsers, the q/fq query parser,
DataStore filters and sorts, and cube cuts: right answers for every well-formed input, a clear error and
never a crash for the rest."""
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from catalog import actions, querysyntax
from catalog.errors import SearchError
from catalog.errors import SearchQueryError
from conftest import sysadmin_site
from catalog import thaiformats as thai

THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def thai_digits(text):
    return text.translate(THAI_DIGITS)


# ---- amounts -------------------------------------------------------------------------------------------

money = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False,
                    allow_infinity=False)


@FUZZ
@given(money, st.booleans(), st.booleans(), st.sampled_from([1, 1000, 1_000_000]))
def test_every_written_form_of_an_amount_parses_to_the_same_number(value, commas, in_thai, unit):
    text = f"{abs(value):,}" if commas else f"{abs(value)}"
    text = f"({text})" if value < 0 else text
    text = thai_digits(text) if in_thai else text
    assert thai.parse_amount(text, unit) == value * unit
    assert thai.parse_amount(f" {text} บาท ", unit) == value * unit


@FUZZ
@given(st.one_of(st.text(max_size=20), st.text(alphabet="0123456789,.-()+eE ๐๑๒บาท", max_size=20)))
def test_any_text_is_an_amount_none_or_a_clear_error(text):
    try:
        got = thai.parse_amount(text)
    except ValueError as exc:
        assert "not an amount" in str(exc)
        return
    assert got is None or isinstance(got, Decimal) and got.is_finite()


# ---- dates ---------------------------------------------------------------------------------------------

days = st.dates(min_value=date(1957, 1, 1), max_value=date(2056, 12, 31))


@FUZZ
@given(days, st.booleans())
def test_every_thai_way_of_writing_a_date_gives_that_date(day, in_thai):
    be = day.year + 543
    forms = [f"{day.day} {thai.MONTHS_ABBR[day.month - 1]} {be % 100:02d}",
             f"{day.day} {thai.MONTHS_FULL[day.month - 1]} {be}",
             f"{day.day:02d}/{day.month:02d}/{be}", f"{day.isoformat()}", f"{be}-{day:%m-%d}",
             f"{day.day}-{day:%b}-{be}"]
    for text in forms:
        assert thai.parse_thai_date(thai_digits(text) if in_thai else text) == day, text


@FUZZ
@given(st.one_of(st.text(max_size=24), st.text(alphabet="0123456789๐๑๒ -/.มคพยกยน", max_size=16)))
def test_any_text_is_a_date_none_or_a_clear_error(text):
    try:
        got = thai.parse_thai_date(text)
    except ValueError as exc:
        assert "not a Thai date" in str(exc)
        return
    assert got is None or isinstance(got, date)


@FUZZ
@given(days)
def test_the_fiscal_year_is_the_be_year_of_the_next_30_september(day):
    end = date(day.year if day.month < 10 else day.year + 1, 9, 30)
    assert thai.fiscal_year_be(day) == end.year + 543
    assert end - day < timedelta(days=366)


# ---- tax ids -------------------------------------------------------------------------------------------

first12 = st.text(alphabet="0123456789", min_size=12, max_size=12)


@FUZZ
@given(first12, st.booleans(), st.booleans())
def test_a_tax_id_with_its_check_digit_is_valid_in_any_writing(digits, dashes, in_thai):
    tin = digits + str(thai.tin_check_digit(digits))
    text = f"{tin[0]}-{tin[1:5]}-{tin[5:10]}-{tin[10:12]}-{tin[12]}" if dashes else tin
    assert thai.tin_status(thai_digits(text) if in_thai else text) == "valid"
    wrong = digits + str((thai.tin_check_digit(digits) + 1) % 10)
    assert thai.tin_status(wrong) == "invalid"


@FUZZ
@given(st.one_of(st.text(max_size=20), st.text(alphabet="0123456789xX- ๐๑", max_size=16), st.integers()))
def test_any_value_gets_one_of_the_four_tax_id_statuses(value):
    assert thai.tin_status(value) in ("valid", "masked", "blank", "invalid")


# ---- q / fq --------------------------------------------------------------------------------------------

query_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(["tags:", "organization:", "res_format:", "name:", "title:", "metadata_modified:",
                              '"', "(", ")", " AND ", " OR ", " NOT ", "-", "+", "*", "[", "]", "{", "}", " TO ",
                              "NOW", "งบประมาณ", "โรงเรียน", "csv", "2567", ":", "\\", "~", "^2", "?", "!"]),
             max_size=12).map("".join))


@FUZZ
@given(query_text)
def test_the_query_parser_gives_a_tree_or_a_search_error(text):
    try:
        querysyntax.parse(text)
    except (SearchError, SearchQueryError):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, _, ctx = sysadmin_site(tmp_path_factory.mktemp("fuzz"))
    actions.call(ctx, "organization_create", {"name": "org"})
    for i, title in enumerate(["งบประมาณโรงเรียน 2567", "สถิติน้ำฝน", "budget lines"]):
        actions.call(ctx, "package_create", {"name": f"ds-{i}", "title": title, "owner_org": "org",
                                             "tags": [{"name": "งบ"}, {"name": f"t{i}"}]})
    table = actions.call(ctx, "datastore_create", {
        "resource": {"package_id": "ds-0", "name": "t"},
        "fields": [{"id": "n", "type": "int"}, {"id": "ชื่อ", "type": "text"}, {"id": "d", "type": "date"},
                   {"id": "x", "type": "numeric"}],
        "records": [{"n": i, "ชื่อ": f"แถว {i}", "d": f"2024-01-{i + 1:02d}", "x": i / 3} for i in range(20)]})
    return {"client": app.test_client(), "table": table["resource_id"]}


def api_status(site, name, params):
    r = site["client"].get(f"/api/3/action/{name}", query_string=params)
    body = r.get_json(silent=True)
    assert r.status_code in (200, 400, 409), (name, params, r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code == 409:
        assert body["success"] is False and body["error"]["__type"] in ("Validation Error", "Search Error")
    return r.status_code, body


@FUZZ
@given(query_text, query_text, st.sampled_from(["", "score desc", "name asc", "metadata_modified desc", "nope asc"]))
def test_package_search_answers_any_q_and_fq_without_a_server_error(site, q, fq, sort):
    status, body = api_status(site, "package_search", {"q": q, "fq": fq, "sort": sort, "facet.field": '["tags"]'})
    if status == 200:
        assert body["result"]["count"] == len(body["result"]["results"]) <= 3


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=2)),
                           max_leaves=6)
columns = st.one_of(st.sampled_from(["n", "ชื่อ", "d", "x", "_id"]), st.text(max_size=8))


@FUZZ
@given(st.dictionaries(columns, json_values, max_size=3),
       st.lists(st.tuples(columns, st.sampled_from(["", " asc", " desc", " sideways"])), max_size=3),
       st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.integers(-5, 40).map(str), st.text(max_size=4)))
def test_datastore_search_answers_any_filters_sort_and_q_without_a_server_error(site, filters, sort, q, limit):
    params = {"resource_id": site["table"], "filters": json.dumps(filters, ensure_ascii=False),
              "sort": ", ".join(c + d for c, d in sort)}
    if q is not None:
        params["q"] = q
    if limit is not None:
        params["limit"] = limit
    status, body = api_status(site, "datastore_search", params)
    if status == 200:
        assert len(body["result"]["records"]) <= 20


@FUZZ
@given(st.text(max_size=30), st.text(max_size=20), st.text(max_size=20))
def test_cube_cuts_drilldowns_and_orders_answer_without_a_server_error(site, cut, drilldown, order):
    r = site["client"].get("/api/3/cubes/budget/aggregate", query_string={"cut": cut, "drilldown": drilldown,
                                                                           "order": order})
    assert r.status_code in (200, 400, 404), (cut, drilldown, order, r.status_code)
