"""The cube API over HTTP on the synthetic demo: Babbage shapes, bad input, privacy, FDP and OCDS."""
import csv
import io

import html
import json
import re

import frictionless
import jsonschema
import pytest
import requests
from referencing import Registry, Resource

from catalog.store import db as catalog_db
from catalog.context import Context
from catalog.settings import Settings
from conftest import REAL_DATA, ROOT, LiveServer
from spending.reference import provinces_doc
from spending.synthetic import seed_spending


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = LiveServer(tmp_path_factory.mktemp("spending-api"))
    settings = Settings(db_path=s.db)
    db = catalog_db.connect(settings.db_path)
    admin = {"id": db.execute("SELECT id FROM users WHERE name = 'admin'").fetchone()[0], "name": "admin", "sysadmin": True}
    seed_spending(Context(db=db, settings=settings, user=admin, site_url=s.url), contracts=5000, lines_per_year=600)
    db.close()
    yield s
    s.stop()


def get(srv, path, **params):
    return requests.get(f"{srv.url}{path}", params=params, timeout=30)


def test_cube_list_and_model_follow_babbage(srv):
    names = [c["name"] for c in get(srv, "/api/3/cubes").json()["data"]]
    assert names == ["budget", "disbursement", "procurement"]
    model = get(srv, "/api/3/cubes/budget/model").json()["model"]
    assert {"fiscal_year", "ministry", "agency", "plan", "project", "category", "province", "source"} <= set(model["dimensions"])
    assert "amount.sum" in model["aggregates"] and "_count" in model["aggregates"]


def test_aggregate_cells_summary_paging_and_order(srv):
    body = get(srv, "/api/3/cubes/budget/aggregate", drilldown="ministry|fiscal_year", cut="fiscal_year:2566",
               order="amount.sum:desc", pagesize=5, page=2).json()
    assert body["total_cell_count"] > 5 and len(body["cells"]) == 5 and body["page"] == 2
    amounts = [c["amount.sum"] for c in body["cells"]]
    assert amounts == sorted(amounts, reverse=True)
    cell = body["cells"][0]
    assert {"ministry", "ministry.name", "ministry.name_en", "fiscal_year", "fiscal_year.ce", "amount.sum", "_count"} <= set(cell)
    whole = get(srv, "/api/3/cubes/budget/aggregate", cut="fiscal_year:2566").json()
    assert whole["summary"]["amount.sum"] == 3185000 * 1000000 == body["summary"]["amount.sum"]
    by_name = get(srv, "/api/3/cubes/budget/aggregate", drilldown="ministry", order="ministry:asc").json()
    names = [c["ministry"] for c in by_name["cells"]]
    assert names == sorted(names)


def test_rollups_and_facts_give_the_same_answer(srv):
    fast = get(srv, "/api/3/cubes/procurement/aggregate", drilldown="province", cut="fiscal_year:2565").json()
    assert fast["source"] == "rollup"
    slow = get(srv, "/api/3/cubes/procurement/aggregate", drilldown="province", cut="fiscal_year:2565",
               amount_min="0").json()
    assert slow["source"] == "facts"
    assert fast["cells"] == slow["cells"] and fast["summary"] == slow["summary"]


@pytest.mark.parametrize("path,params,needle", [
    ("/api/3/cubes/nope/aggregate", {}, "budget"),
    ("/api/3/cubes/budget/aggregate", {"drilldown": "colour"}, "ministry"),
    ("/api/3/cubes/budget/aggregate", {"drilldown": "ministry.colour"}, "name_en"),
    ("/api/3/cubes/budget/aggregate", {"cut": "ministry:กระทรวงเวทมนตร์"}, "กระทรวงการคลัง"),
    ("/api/3/cubes/budget/aggregate", {"cut": "fiscal_year:1999"}, 2565),
    ("/api/3/cubes/budget/aggregate", {"cut": "fiscal_year:soon"}, None),
    ("/api/3/cubes/budget/aggregate", {"order": "amount.sum:sideways"}, "amount.sum"),
    ("/api/3/cubes/budget/aggregate", {"order": "1;DROP TABLE x"}, "amount.sum"),
    ("/api/3/cubes/budget/aggregate", {"aggregates": "amount.avg"}, "amount.sum"),
    ("/api/3/cubes/procurement/aggregate", {"cut": "flag:evil"}, "possible_splitting"),
    ("/api/3/cubes/procurement/facts", {"fields": "project_id,password"}, "project_name"),
])
def test_bad_requests_get_400_with_the_allowed_values(srv, path, params, needle):
    r = get(srv, path, **params)
    assert r.status_code in (400, 404), r.text
    body = r.json()
    assert body["status"] == "error" and body["message"]
    if needle is not None:
        assert needle in body["allowed"]


def test_injection_in_cut_values_is_only_ever_a_value(srv):
    r = get(srv, "/api/3/cubes/budget/aggregate", cut="ministry:x' OR '1'='1")
    assert r.status_code == 400 and "unknown ministry" in r.json()["message"]
    r = get(srv, "/api/3/cubes/procurement/aggregate", q="'; SELECT * FROM read_csv('/etc/passwd') --")
    assert r.status_code == 200 and r.json()["summary"]["_count"] == 0


def test_huge_page_sizes_are_clamped(srv):
    body = get(srv, "/api/3/cubes/procurement/facts", pagesize=10**9, fiscal_year="all").json()
    assert body["page_size"] == 1000 and len(body["data"]) == 1000
    assert get(srv, "/api/3/cubes/budget/aggregate", pagesize=10**9).json()["page_size"] == 10000


def test_members_and_facts(srv):
    members = get(srv, "/api/3/cubes/procurement/members/method_group").json()
    assert {m["method_group.name"] for m in members["data"]} >= {"เฉพาะเจาะจง", "ประกาศเชิญชวนทั่วไป"}
    facts = get(srv, "/api/3/cubes/procurement/facts", cut="flag:possible_splitting", pagesize=50).json()
    assert facts["total_fact_count"] >= 3
    assert all("possible_splitting" in f["flags"] and f["price_agreed"] < 500000 for f in facts["data"])
    tins = {f["contractor_tin"] for f in get(srv, "/api/3/cubes/procurement/facts", pagesize=1000).json()["data"]}
    # Individuals' tax ids are masked; companies' are whole and pass the check digit.
    assert any(t.endswith("xxxx") for t in tins) and any(t.startswith("0") and t.isdigit() for t in tins)


def test_private_datasets_never_reach_a_cube(srv):
    before = get(srv, "/api/3/cubes/procurement/aggregate").json()["summary"]["_count"]
    srv.admin().action.package_patch(id="synthetic-egp-contracts", private=True)
    try:
        assert get(srv, "/api/3/cubes/procurement/aggregate").json()["summary"]["_count"] == 0
        assert get(srv, "/api/3/cubes/procurement/facts").json()["data"] == []
        assert get(srv, "/api/ocds/releases").json()["releases"] == []
    finally:
        srv.admin().action.package_patch(id="synthetic-egp-contracts", private=False)
    assert get(srv, "/api/3/cubes/procurement/aggregate").json()["summary"]["_count"] == before


def test_fiscal_data_package_validates_with_frictionless(srv):
    dp = get(srv, "/api/3/cubes/budget/datapackage.json").json()
    assert dp["fiscalDataPackage"] and dp["model"]["measures"]["amount"]["currency"] == "THB"
    report = frictionless.validate(f"{srv.url}/api/3/cubes/budget/datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    rows = list(csv.DictReader(io.StringIO(get(srv, "/api/3/cubes/budget/data.csv").text)))
    assert sum(int(float(r["amount"])) for r in rows) == get(srv, "/api/3/cubes/budget/aggregate").json()["summary"]["amount.sum"]


def test_ocds_release_package_has_the_required_shape(srv):
    pkg = get(srv, "/api/ocds/releases", cut="fiscal_year:2566").json()
    assert pkg["version"] == "1.1" and pkg["releases"]
    for rel in pkg["releases"]:
        assert {"ocid", "id", "date", "tag", "initiationType"} <= set(rel)
        assert rel["ocid"].startswith("ocds-khlang-") and rel["buyer"]["name"]
        assert all(a["value"]["currency"] == "THB" for a in rel["awards"])
        supplier_ids = {s["id"] for a in rel["awards"] for s in a.get("suppliers", [])}
        assert supplier_ids <= {p["id"] for p in rel["parties"]}
    one = pkg["releases"][0]["tender"]["id"]
    single = get(srv, f"/api/ocds/release/{one}").json()
    assert [r["tender"]["id"] for r in single["releases"]] == [one]
    assert get(srv, "/api/ocds/release/00000000000").status_code == 404


def ocds_validator():
    """A draft-04 validator of OCDS 1.1 release packages, resolving the release schema offline."""
    folder = ROOT / "tests" / "fixtures" / "ocds"
    package = json.loads((folder / "release-package-schema-1.1.5.json").read_text())
    release = json.loads((folder / "release-schema-1.1.4.json").read_text())
    ref = package["properties"]["releases"]["items"]["$ref"]
    registry = Registry().with_resource(ref, Resource.from_contents(release, default_specification=_draft4()))
    return jsonschema.Draft4Validator(package, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def _draft4():
    from referencing.jsonschema import DRAFT4

    return DRAFT4


@pytest.mark.parametrize("path,params", [("/api/ocds/releases", {}),
                                         ("/api/ocds/releases", {"cut": "fiscal_year:2566"}),
                                         ("/api/ocds/releases", {"cut": "method:เฉพาะเจาะจง"})])
def test_ocds_release_packages_validate_against_the_ocds_1_1_schema(srv, path, params):
    pkg = get(srv, path, **params).json()
    assert pkg["releases"]
    errors = sorted(ocds_validator().iter_errors(pkg), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]]


def test_ocds_schema_check_rejects_a_broken_release(srv):
    pkg = get(srv, "/api/ocds/releases").json()
    pkg["releases"][0]["tag"] = ["not-a-tag"]
    del pkg["releases"][0]["ocid"]
    pkg["releases"][0]["awards"][0]["value"]["currency"] = "baht"
    problems = {e.validator for e in ocds_validator().iter_errors(pkg)}
    assert {"required", "enum"} <= problems


def _live_build(srv):
    import sqlite3

    con = sqlite3.connect(srv.db)
    bid = con.execute("SELECT value FROM site_meta WHERE key = 'spending_build'").fetchone()[0]
    con.close()
    return srv.dir / "storage" / "parquet" / "spending" / bid


@pytest.mark.parametrize("params,where", [
    ({"q": "ถนน", "fiscal_year": "all"}, "contains(c.project_name, 'ถนน')"),
    ({"cut": "fiscal_year:2566|method_group:เฉพาะเจาะจง"},
     "c.fiscal_year = 2566 AND c.method_id IN (SELECT id FROM d_method WHERE \"group\" = 'เฉพาะเจาะจง')"),
])
def test_search_pages_by_value_equal_a_full_sort_of_the_facts(srv, params, where):
    import duckdb

    folder = _live_build(srv)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW d_method AS SELECT * FROM read_parquet('{folder / 'd_method.parquet'}')")
    expected = [r[0] for r in con.execute(
        f"SELECT contract_key FROM read_parquet('{folder / 'contracts.parquet'}') c WHERE {where} "
        "ORDER BY price_agree DESC NULLS LAST, source_id, source_row").fetchall()]
    assert len(expected) > 120
    got = []
    for page in (1, 2, 3):
        res = get(srv, "/api/3/cubes/procurement/facts", order="price_agreed:desc", fields="contract_key",
                  pagesize=50, page=page, **params).json()
        assert res["total_fact_count"] == len(expected)
        got += [r["contract_key"] for r in res["data"]]
    assert got == expected[:150]


def test_province_page_shows_budget_disbursement_and_procurement_of_that_province(srv):
    page = requests.get(f"{srv.url}/spending/province/50", timeout=30)
    assert page.status_code == 200 and "เชียงใหม่" in page.text
    assert page.text.count('class="cube-table"') == 3   # budget/disbursement, contracts by year, top agencies
    budget = get(srv, "/api/3/cubes/budget/aggregate", cut="province.id:50").json()["summary"]["amount.sum"]
    assert budget > 0 and "/api/3/cubes/budget/aggregate?drilldown=fiscal_year&amp;cut=province.id%3A50" in page.text
    assert requests.get(f"{srv.url}/spending/province/1234", timeout=30).status_code == 404
    assert 'href="/spending/province/50"' in requests.get(f"{srv.url}/spending/map", timeout=30).text


def test_agency_page_adds_the_agencys_budget_to_its_procurement(srv):
    budget = {c["agency.id"] for c in get(srv, "/api/3/cubes/budget/aggregate", drilldown="agency").json()["cells"]}
    procurement = {c["agency.id"] for c in get(srv, "/api/3/cubes/procurement/aggregate", drilldown="agency").json()["cells"]}
    both = sorted((budget & procurement) - {0})
    assert both
    page = requests.get(f"{srv.url}/spending/agency/{both[0]}", timeout=30).text
    assert "/api/3/cubes/budget/aggregate?drilldown=fiscal_year&amp;cut=agency.id%3A" in page
    assert "/api/3/cubes/procurement/aggregate?drilldown=contractor" in page


def test_a_province_geojson_adds_a_choropleth_of_all_77_provinces(srv):
    from catalog.settings import Settings
    from web import create_app

    geo = REAL_DATA / "thai-provinces-geo" / "thailand-provinces.apisit.geojson.gz"
    client = create_app({"SETTINGS": Settings(db_path=srv.db, provinces_geojson=str(geo)), "TESTING": True}).test_client()
    figures = [json.loads(html.unescape(f)) for f in re.findall(r'data-figure="([^"]+)"', client.get("/spending/map").get_data(as_text=True))]
    maps = [f for f in figures if any(t.get("fill") == "toself" for t in f["data"])]
    assert len(maps) == 1
    shapes = [t for t in maps[0]["data"] if t.get("fill") == "toself"]
    assert sorted(t["name"] for t in shapes) == sorted(p["name_th"] for p in provinces_doc()["provinces"])
    assert len({t["fillcolor"] for t in shapes}) > 10   # coloured by each province's budget
