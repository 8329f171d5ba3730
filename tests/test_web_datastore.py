"""The DataStore API through ckanapi against a running server: versions, search, SQL, dumps."""
import csv
import io

import ckanapi
import pytest
import requests

ROWS = [
    {"ministry": "กระทรวงการคลัง", "agency": "กรมบัญชีกลาง", "year": 2565, "amount": 1234.5},
    {"ministry": "กระทรวงมหาดไทย", "agency": "กรมการปกครอง", "year": 2565, "amount": 900.25},
    {"ministry": "กระทรวงมหาดไทย", "agency": "กรมส่งเสริมการปกครองท้องถิ่น", "year": 2566, "amount": 50},
    {"ministry": "กระทรวงศึกษาธิการ", "agency": "=HYPERLINK(\"http://evil\")", "year": 2566, "amount": -3},
]
FIELDS = [{"id": "ministry", "type": "text"}, {"id": "agency", "type": "text"},
          {"id": "year", "type": "int"}, {"id": "amount", "type": "numeric"}]


@pytest.fixture(scope="module")
def ds(server):
    admin = server.admin()
    admin.action.organization_create(name="ds-org", title="หน่วยงานทดสอบ DataStore")
    pkg = admin.action.package_create(name="ds-budget", title="งบประมาณตามหน่วยงาน", owner_org="ds-org")
    res = admin.action.datastore_create(resource={"package_id": pkg["id"], "name": "budget"}, fields=FIELDS,
                                        records=ROWS, primary_key=["agency"], aliases=["budget_by_agency"])
    private = admin.action.package_create(name="ds-private", owner_org="ds-org", private=True)
    pres = admin.action.datastore_create(resource={"package_id": private["id"], "name": "secret"},
                                         records=[{"code": "x1", "value": 1}])
    return {"rid": res["resource_id"], "private_rid": pres["resource_id"], "admin": admin}


def test_create_then_search_returns_typed_records_total_and_links(server, ds):
    res = server.ckan().action.datastore_search(resource_id=ds["rid"], limit=2)
    assert res["total"] == 4 and len(res["records"]) == 2
    assert [f["id"] for f in res["fields"]] == ["_id", "ministry", "agency", "year", "amount"]
    assert res["records"][0] == {"_id": 1, "ministry": "กระทรวงการคลัง", "agency": "กรมบัญชีกลาง", "year": 2565, "amount": 1234.5}
    assert "offset=2" in res["_links"]["next"]
    assert server.ckan().action.package_show(id="ds-budget")["resources"][0]["datastore_active"] is True


def test_filters_lists_sort_fields_distinct_and_alias(server, ds):
    anon = server.ckan()
    res = anon.action.datastore_search(resource_id="budget_by_agency", filters={"year": [2566]}, sort="amount desc")
    assert [r["amount"] for r in res["records"]] == [50, -3]
    res = anon.action.datastore_search(resource_id=ds["rid"], fields=["ministry"], distinct=True, sort="ministry")
    assert [r["ministry"] for r in res["records"]] == sorted({r["ministry"] for r in ROWS})
    lists = anon.action.datastore_search(resource_id=ds["rid"], records_format="lists", limit=1)
    assert lists["records"] == [[1, "กระทรวงการคลัง", "กรมบัญชีกลาง", 2565, 1234.5]]


def test_thai_full_text_q_matches_inside_words(server, ds):
    res = server.ckan().action.datastore_search(resource_id=ds["rid"], q="ปกครอง")
    assert {r["agency"] for r in res["records"]} == {"กรมการปกครอง", "กรมส่งเสริมการปกครองท้องถิ่น"}
    assert "rank" in res["records"][0]


@pytest.mark.parametrize("params, key", [
    ({"filters": {"nope": 1}}, "filters"), ({"sort": "nope desc"}, "sort"), ({"fields": ["nope"]}, "fields"),
    ({"limit": "bad"}, "limit"), ({"offset": -1}, "offset"), ({"bogus": 1}, "bogus"),
])
def test_bad_search_parameters_are_409_field_errors(server, ds, params, key):
    with pytest.raises(ckanapi.ValidationError) as err:
        server.ckan().action.datastore_search(resource_id=ds["rid"], **params)
    assert key in err.value.error_dict


def test_limit_is_clamped_and_unknown_resource_is_404(server, ds):
    assert server.ckan().action.datastore_search(resource_id=ds["rid"], limit=999999)["limit"] == 32000
    with pytest.raises(ckanapi.NotFound):
        server.ckan().action.datastore_search(resource_id="no-such-resource")


def test_upsert_and_delete_make_new_versions_and_old_ones_stay_readable(server, ds):
    admin = ds["admin"]
    admin.action.datastore_upsert(resource_id=ds["rid"], method="upsert",
                                  records=[{"agency": "กรมบัญชีกลาง", "amount": 2000},
                                           {"agency": "กรมใหม่", "ministry": "กระทรวงใหม่", "year": 2567, "amount": 1}])
    rows = server.ckan().action.datastore_search(resource_id=ds["rid"], sort="_id")["records"]
    assert rows[0]["amount"] == 2000 and rows[0]["ministry"] == "กระทรวงการคลัง" and rows[0]["_id"] == 1
    assert rows[-1]["agency"] == "กรมใหม่" and rows[-1]["_id"] == 5
    with pytest.raises(ckanapi.ValidationError):
        admin.action.datastore_upsert(resource_id=ds["rid"], method="update", records=[{"agency": "ไม่มี", "amount": 1}])
    with pytest.raises(ckanapi.ValidationError):
        admin.action.datastore_upsert(resource_id=ds["rid"], method="insert", records=[{"agency": "กรมใหม่"}])
    admin.action.datastore_delete(resource_id=ds["rid"], filters={"year": 2567})
    versions = server.ckan().action.datastore_version_list(id=ds["rid"])
    assert [v["version"] for v in versions] == [3, 2, 1] and versions[0]["live"] and versions[0]["rows"] == 4
    first = server.ckan().action.datastore_search(resource_id=ds["rid"], version=1, filters={"agency": "กรมบัญชีกลาง"})
    assert first["records"][0]["amount"] == 1234.5


def test_a_rejected_upsert_leaves_the_live_version_untouched(server, ds):
    before = server.ckan().action.datastore_info(id=ds["rid"])["meta"]
    with pytest.raises(ckanapi.ValidationError):
        ds["admin"].action.datastore_upsert(resource_id=ds["rid"], records=[{"agency": "กรมบัญชีกลาง", "year": "ไม่ใช่ปี"}])
    assert server.ckan().action.datastore_info(id=ds["rid"])["meta"] == before


def test_private_tables_are_refused_to_outsiders_everywhere(server, ds):
    anon = server.ckan()
    with pytest.raises(ckanapi.NotAuthorized):
        anon.action.datastore_search(resource_id=ds["private_rid"])
    with pytest.raises(ckanapi.NotAuthorized):
        anon.action.datastore_search_sql(sql=f'SELECT * FROM "{ds["private_rid"]}"')
    assert requests.get(f"{server.url}/datastore/dump/{ds['private_rid']}").status_code == 404
    with pytest.raises(ckanapi.NotAuthorized):
        anon.action.datastore_create(resource_id=ds["rid"], records=[{"agency": "x"}])
    assert ds["admin"].action.datastore_search(resource_id=ds["private_rid"])["total"] == 1


def test_search_sql_runs_one_select_and_refuses_everything_else(server, ds):
    anon = server.ckan()
    res = anon.action.datastore_search_sql(
        sql=f'SELECT ministry, sum(amount) AS total FROM "{ds["rid"]}" GROUP BY ministry ORDER BY total DESC')
    assert res["records"][0]["total"] >= 900
    for sql, exc in [
        ("SELECT 1; SELECT 2", ckanapi.ValidationError),
        ("DROP TABLE x", ckanapi.NotAuthorized),
        ("SELECT * FROM read_csv('/etc/passwd')", ckanapi.NotAuthorized),
        ("SELECT * FROM duckdb_settings()", ckanapi.NotAuthorized),
        ("SELECT query('select 1')", ckanapi.NotAuthorized),
        ("SELECT * FROM information_schema.tables", ckanapi.NotAuthorized),
        ("SELECT * FROM no_such_table", ckanapi.ValidationError),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", ckanapi.NotAuthorized),
    ]:
        with pytest.raises(exc):
            anon.action.datastore_search_sql(sql=sql)


def test_search_sql_truncates_at_the_row_limit(server, ds):
    res = server.ckan().action.datastore_search_sql(
        sql=f'SELECT a._id FROM "{ds["rid"]}" a, "{ds["rid"]}" b, "{ds["rid"]}" c, "{ds["rid"]}" d, "{ds["rid"]}" e, '
            f'"{ds["rid"]}" f, "{ds["rid"]}" g, "{ds["rid"]}" h')
    assert len(res["records"]) == 32000 and res["records_truncated"] is True


def test_csv_dump_has_bom_on_request_and_neutralises_formulas(server, ds):
    r = requests.get(f"{server.url}/datastore/dump/{ds['rid']}", params={"bom": "true"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["_id", "ministry", "agency", "year", "amount"]
    agencies = [row[2] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\")" in agencies
    assert "-3" in [row[4] for row in rows[1:]]  # negative numbers are numbers, not formulas


@pytest.mark.parametrize("fmt, media", [("tsv", "text/tab-separated-values"), ("json", "application/json"),
                                        ("xml", "text/xml"), ("xlsx", "application/vnd.openxmlformats")])
def test_dump_formats(server, ds, fmt, media):
    r = requests.get(f"{server.url}/datastore/dump/{ds['rid']}", params={"format": fmt, "q": "มหาดไทย"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(media)
    if fmt == "json":
        assert len(r.json()["records"]) == 2
    if fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(r.content)).active
        assert ws.cell(row=2, column=2).value == "กระทรวงมหาดไทย"


def test_search_with_fields_that_leave_out_the_sort_column_still_orders_and_pages(server, ds):
    anon = server.ckan()
    res = anon.action.datastore_search(resource_id=ds["rid"], fields=["agency", "amount"], limit=2, offset=1)
    assert [r["agency"] for r in res["records"]] == ["กรมการปกครอง", "กรมส่งเสริมการปกครองท้องถิ่น"]
    assert set(res["records"][0]) == {"agency", "amount"} and res["total"] == 4
    by_year = anon.action.datastore_search(resource_id=ds["rid"], fields=["agency"], sort="year desc, amount asc")
    assert [r["agency"] for r in by_year["records"]][:2] == ["=HYPERLINK(\"http://evil\")", "กรมส่งเสริมการปกครองท้องถิ่น"]
    distinct = anon.action.datastore_search(resource_id=ds["rid"], fields=["ministry"], distinct=True)
    assert [r["ministry"] for r in distinct["records"]] == sorted({r["ministry"] for r in ROWS})
