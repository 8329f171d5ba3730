"""DataStore `q` (whole-row and per-column) finds exactly the rows whose text holds every term, whatever the
term's characters (LIKE's own % _ \\ included), in _id order when every match ranks alike."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import actions
from catalog.datastore import search, tables
from catalog.store import datastore as datastore_store
from catalog.thaitext import normalize
from tests.conftest import sysadmin_site

VALUES = ["ถนนลาดยาง", "ซ่อมถนน 100%", "งาน_ก่อสร้าง", r"C:\งาน\ถนน", "Road_Repair", "ROAD 50% off", "โรงเรียน",
          "ถนน", "", None, "ก๑๒๓", "a\\%_b", "Istanbul ถนน", "STRASSE Straße"]
ALPHABET = list("ถนนงาน%_\\RroadAC ๑1กiß") + ["ถนน", "road", "%_", "\\%", "stra"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("q"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"name": VALUES[i % len(VALUES)], "note": VALUES[(i * 7 + 3) % len(VALUES)], "n": i} for i in range(60)]
    res = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                 "fields": [{"id": "name", "type": "text"}, {"id": "note", "type": "text"},
                                                            {"id": "n", "type": "int"}]})
    return ctx, res["resource_id"], records


def _text(v):
    # Python's lower() and DuckDB's agree on these values (not on every letter: İ lowers to i in DuckDB, to i̇ here).
    return "" if v is None else str(v).lower()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4).map("".join))
def test_q_finds_exactly_the_rows_holding_every_term(table, q):
    ctx, rid, records = table
    terms = normalize(q).split()
    if not terms:
        return
    got = actions.call(ctx, "datastore_search", {"resource_id": rid, "q": q, "limit": 1000})
    want = [i + 1 for i, r in enumerate(records)
            if all(any(t in _text(r[c]) for c in ("name", "note")) for t in terms)]
    assert sorted(r["_id"] for r in got["records"]) == want and got["total"] == len(want)
    per_column = actions.call(ctx, "datastore_search", {"resource_id": rid, "q": {"name": q}, "limit": 1000})
    term = normalize(q)
    want = [i + 1 for i, r in enumerate(records) if term in _text(r["name"])]
    assert [r["_id"] for r in per_column["records"]] == want   # every match ranks 1.0: _id order


@pytest.mark.parametrize("q", ["ถนน", "โรงเรียน", "ไม่มีคำนี้", {"name": "road"}])
@pytest.mark.parametrize("offset", [0, 1, 4, 5, 6, 100])
@pytest.mark.parametrize("limit", [0, 1, 5, 6, 100])
def test_the_total_is_every_match_whichever_page_is_asked_for(table, q, offset, limit):
    ctx, rid, records = table
    everything = actions.call(ctx, "datastore_search", {"resource_id": rid, "q": q, "limit": 1000})
    matches = len(everything["records"])
    page = actions.call(ctx, "datastore_search", {"resource_id": rid, "q": q, "offset": offset, "limit": limit})
    assert page["total"] == matches
    assert page["records"] == everything["records"][offset:offset + limit]


@pytest.fixture(scope="module")
def row_groups(tmp_path_factory):
    """10,000 rows in row groups of 2,048 (DuckDB's smallest): a page crosses row groups, which the reader's two
    threads scan at once."""
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("groups"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"name": VALUES[i % len(VALUES)], "n": i} for i in range(10_000)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tables, "ROW_GROUP_ROWS", 2048)
        rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                     "fields": [{"id": "name", "type": "text"}, {"id": "n", "type": "int"}]}
                           )["resource_id"]
    sha = datastore_store.live_version(ctx.db, rid)["parquet_sha256"]
    groups = tables.reader(ctx.settings).execute(
        f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{tables.parquet_path(ctx.settings, sha)}')").fetchone()
    assert groups == (5,)
    return ctx, rid, records


@pytest.mark.parametrize("q", [None, "ถนน", {"name": "road"}])
@pytest.mark.parametrize("offset", [0, 1000, 2047, 2048, 4000, 9950])
def test_pages_in_id_order_cross_row_groups_in_order(row_groups, q, offset):
    ctx, rid, records = row_groups
    want = [i + 1 for i, r in enumerate(records)
            if q is None or normalize(q if isinstance(q, str) else q["name"]) in _text(r["name"])]
    params = {"resource_id": rid, "offset": offset, "limit": 100, **({"q": q} if q else {})}
    for _ in range(5):   # the threads' timing differs from call to call
        page = actions.call(ctx, "datastore_search", params)
        assert [r["_id"] for r in page["records"]] == want[offset:offset + 100] and page["total"] == len(want)


def test_columns_whose_names_hold_spaces_or_commas_sort(tmp_path):
    app, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    names = ["project name", "ภาค, จังหวัด", "money"]
    records = [{names[0]: t, names[1]: str(i), names[2]: i * 10} for i, t in enumerate(["ข", "ก", "ค"])]
    res = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                 "fields": [{"id": names[0], "type": "text"},
                                                            {"id": names[1], "type": "text"},
                                                            {"id": names[2], "type": "int"}]})
    rid = res["resource_id"]

    def order(sort):
        got = actions.call(ctx, "datastore_search", {"resource_id": rid, "sort": sort})["records"]
        return [r[names[0]] for r in got]

    assert order('"project name" desc') == ["ค", "ข", "ก"]
    assert order('"project name"') == ["ก", "ข", "ค"]
    assert order('"ภาค, จังหวัด" desc, money') == ["ค", "ก", "ข"]
    page = app.test_client().get(f"/dataset/ds/resource/{rid}", query_string={"sort": "project name desc"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and text.index(">ค<") < text.index(">ข<") < text.index(">ก<")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from([None, "ถนน", "road", "ถนน road", "%_"]),
       sort=st.sampled_from([None, "note desc", "note", "name desc, n", "n desc", "note desc, name"]),
       distinct=st.booleans(), offset=st.sampled_from([0, 1, 7]), limit=st.sampled_from([1, 5, 100]))
def test_a_page_and_its_total_found_in_one_scan_are_a_sorted_page_and_a_count(table, q, sort, distinct, offset,
                                                                              limit):
    """Searches whose scan reads every match (a whole-row q, distinct) take the page and the total in one scan;
    they are the rows ORDER BY ... LIMIT gives and the count of every match, NULLs and ties included."""
    ctx, rid, _ = table
    params = {"resource_id": rid, "offset": offset, "limit": limit,
              **({"q": q} if q else {}), **({"sort": sort} if sort else {})}
    if distinct:
        if sort and " n" in f" {sort}":
            return   # with distinct, a sort names fields asked for
        params.update(distinct=True, fields=["name", "note"])
    p = search.plan(ctx, dict(params))
    if not p.reads_matches:
        return   # a filter on the version file: the page's own sort (tests above)
    got = actions.call(ctx, "datastore_search", dict(params))
    cur = tables.reader(ctx.settings)
    want = cur.execute(f"SELECT * FROM ({p.inner}) ORDER BY {p.order} LIMIT ? OFFSET ?", p.args + [limit, offset]
                       ).fetchall()
    total = cur.execute(f"SELECT count(*) FROM ({p.inner})", p.args).fetchone()[0]
    assert [[r[f] for f in p.wanted] for r in got["records"]] == [list(w[:len(p.wanted)]) for w in want]
    assert got["total"] == total
