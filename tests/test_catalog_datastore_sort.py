"""Sorted DataStore pages: rows with equal sort keys come in _id order, so every call answers the same and
paging walks every row exactly once, whole table or filtered, ascending or descending; distinct rows with
equal keys in the order of their other fields."""
import json

import pytest

from catalog import actions
from tests.conftest import sysadmin_site

ROWS = 300


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("sort"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    # Few distinct values: every sort key is shared by dozens of rows.
    records = [{"province": f"จังหวัดที่ {i % 7}", "money": (i * 37) % 5 * 1000.5, "note": f"แถว {i}"} for i in range(ROWS)]
    res = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                 "fields": [{"id": "province", "type": "text"},
                                                            {"id": "money", "type": "numeric"},
                                                            {"id": "note", "type": "text"}]})
    return ctx, res["resource_id"], records


def _expected(records, key, descending, keep):
    ids = [i + 1 for i, r in enumerate(records) if keep(r)]
    # sorted() keeps equal keys in their order (_id ascending) even with reverse=True
    return sorted(ids, key=lambda i: records[i - 1][key], reverse=descending)


@pytest.mark.parametrize("sort,key,descending", [("money desc", "money", True), ("money", "money", False),
                                                  ("province desc", "province", True), ("province", "province", False)])
@pytest.mark.parametrize("filtered", [False, True])
def test_pages_of_a_sorted_table_walk_every_row_once_ties_in_id_order(table, sort, key, descending, filtered):
    ctx, rid, records = table
    params = {"resource_id": rid, "sort": sort, "limit": 7}
    keep = lambda r: True   # noqa: E731
    if filtered:
        params["filters"] = json.dumps({"province": ["จังหวัดที่ 1", "จังหวัดที่ 4"]}, ensure_ascii=False)
        keep = lambda r: r["province"] in ("จังหวัดที่ 1", "จังหวัดที่ 4")   # noqa: E731
    walked = []
    for offset in range(0, ROWS, 7):
        walked += [r["_id"] for r in actions.call(ctx, "datastore_search", {**params, "offset": offset})["records"]]
    assert walked == _expected(records, key, descending, keep)


# ties on the sort key come in the order of the other fields, ascending
@pytest.mark.parametrize("sort,order", [("money desc", lambda p: (-p[1], p[0])), ("province", lambda p: p),
                                        (None, lambda p: p)])
def test_pages_of_distinct_rows_walk_each_once_ties_in_the_order_of_their_other_fields(table, sort, order):
    ctx, rid, records = table
    params = {"resource_id": rid, "fields": "province,money", "distinct": "true", "limit": 4,
              **({"sort": sort} if sort else {})}
    walked = []
    for offset in range(0, 40, 4):
        walked += [(r["province"], r["money"]) for r in
                   actions.call(ctx, "datastore_search", {**params, "offset": offset})["records"]]
    assert walked == sorted({(r["province"], r["money"]) for r in records}, key=order)
