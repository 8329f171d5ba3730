"""A per-column `q` answered from a column's trigram postings (catalog/datastore/grams.py) gives exactly what
testing every row's text gives: the same total, rows and order, whatever the term's length, case or repeats."""
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import actions
from catalog.datastore import dumps, grams, search, tables
from catalog.store import datastore as datastore_store
from catalog.thaitext import normalize
from tests.conftest import sysadmin_site

# Pieces that repeat inside one value (ถนนถนน, aaaa), Thai with tone marks and vowels above and below, mixed case.
PIECES = ["ถนน", "น้ำ", "นน", "ก่อ", "สร้าง", "ซ่อม", "Road", "ROAD", "aa", "ab", " ", "1", "๒", "ะ", "ู", "-"]
SCAN = 10 ** 9   # datastore_gram_rows no table reaches: every `q` tests the text


def _value(i):
    if i % 17 == 0:
        return None
    return "".join(PIECES[(i * k * 7 + k) % len(PIECES)] for k in range(1 + i % 9))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("grams"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"name": _value(i), "note": _value(i * 3 + 1), "n": i} for i in range(400)]
    fields = [{"id": "name", "type": "text"}, {"id": "note", "type": "text"}, {"id": "n", "type": "int"}]
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                 "fields": fields})["resource_id"]
    sha = datastore_store.live_version(ctx.db, rid)["parquet_sha256"]
    ctx.settings.datastore_gram_rows = 1
    for column in ("name", "note", "n"):
        # The first `q` on a column starts writing its postings in a child process and is answered by the scan.
        first = actions.call(ctx, "datastore_search", {"resource_id": rid, "q": {column: "ถนน"}})
        assert first["total"] == sum("ถนน" in str(r[column] or "") for r in records)
        assert grams.wait(ctx.settings, sha, column)
    return ctx, rid, records


def _search(ctx, data, rows):
    ctx.settings.datastore_gram_rows = rows
    try:
        return actions.call(ctx, "datastore_search", dict(data))
    finally:
        ctx.settings.datastore_gram_rows = 1


def _holds(value, term):
    return value is not None and normalize(term) in str(value).lower()


terms = st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=terms, note=st.none() | terms, offset=st.sampled_from([0, 1, 7, 150]),
       limit=st.sampled_from([0, 1, 5, 100]))
def test_postings_give_what_the_scan_gives(table, name, note, offset, limit):
    ctx, rid, records = table
    q = {"name": name} if note is None else {"name": name, "note": note}
    data = {"resource_id": rid, "q": q, "offset": offset, "limit": limit}
    used = all(len(normalize(t)) >= grams.GRAM for t in q.values())
    assert (search.plan(ctx, {"resource_id": rid, "q": q}).postings is not None) == used
    got, scanned = _search(ctx, data, 1), _search(ctx, data, SCAN)
    assert got["records"] == scanned["records"] and got["total"] == scanned["total"]
    want = [i + 1 for i, r in enumerate(records) if all(_holds(r[c], t) for c, t in q.items())]
    assert got["total"] == len(want)
    assert [r["_id"] for r in got["records"]] == want[offset:offset + limit]


def _overlaps(term):
    return any(term[:k] == term[-k:] for k in range(1, len(term)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(terms, min_size=1, max_size=3), offset=st.sampled_from([0, 1, 7, 150]),
       limit=st.sampled_from([0, 1, 5, 100]), ranked=st.booleans())
def test_a_q_over_the_whole_row_from_postings_gives_what_the_scan_gives(table, words, offset, limit, ranked):
    ctx, rid, records = table
    q = " ".join(words)
    data = {"resource_id": rid, "q": q, "offset": offset, "limit": limit,
            **({} if ranked else {"fields": ["_id", "name", "note"]})}   # without rank, in _id order
    found = normalize(q).split()
    used = bool(found) and all(len(t) >= grams.GRAM and not _overlaps(t) for t in found)
    assert (search.plan(ctx, {k: v for k, v in data.items() if k not in ("offset", "limit")}).postings
            is not None) == used
    got, scanned = _search(ctx, data, 1), _search(ctx, data, SCAN)
    assert got["records"] == scanned["records"] and got["total"] == scanned["total"]
    want = [i + 1 for i, r in enumerate(records) if all(_holds(r["name"], t) or _holds(r["note"], t) for t in found)]
    assert got["total"] == len(want)


@pytest.mark.parametrize("q", ["ถนน", "ถนน น้ำ", "road ถนน", "ก่อสร้าง", "ถนนถนน", "ถนนถ", "roadroad"])
def test_a_whole_row_q_ranks_as_the_scan_ranks(table, q):
    ctx, rid, _ = table
    data = {"resource_id": rid, "q": q, "limit": 1000}
    got, scanned = _search(ctx, data, 1), _search(ctx, data, SCAN)
    assert got == scanned and got["total"] > 0


def test_a_whole_row_q_from_postings_puts_the_rows_holding_the_term_most_often_first(table):
    ctx, rid, _ = table
    data = {"resource_id": rid, "q": "ถนน", "limit": 1000}
    assert search.plan(ctx, data).postings is not None
    ranks = [(-r["rank"], r["_id"]) for r in _search(ctx, data, 1)["records"]]
    assert ranks == sorted(ranks) and ranks[0][0] < ranks[-1][0] <= -1


@pytest.mark.parametrize("term", ["ถนนถนน", "นถน", "ROAD", "roadroad", "aaaa", "ก่อสร้าง", "สร้างถนน", "12", "ab1ab"])
def test_a_term_repeated_or_overlapping_in_a_row_is_counted_once(table, term):
    ctx, rid, records = table
    data = {"resource_id": rid, "q": {"name": term}, "limit": 1000}
    got = _search(ctx, data, 1)
    want = [i + 1 for i, r in enumerate(records) if _holds(r["name"], term)]
    assert [r["_id"] for r in got["records"]] == want and got["total"] == len(want)
    assert got == _search(ctx, data, SCAN)


@pytest.mark.parametrize("q", [{"name": "ถนน", "note": "น้ำ"}, "ถนน น้ำ"])
@pytest.mark.parametrize("extra", [{"sort": "n desc"}, {"distinct": True}, {"fields": ["name"], "sort": "name"},
                                   {"sort": "note desc, n", "offset": 3, "limit": 7}])
def test_another_order_tests_no_text_but_pages_as_the_scan_does(table, q, extra):
    ctx, rid, _ = table
    data = {"resource_id": rid, "q": q, "limit": 1000, **extra}
    plan = search.plan(ctx, data)
    assert plan.postings is None and "contains(" not in plan.inner and "/grams/" in plan.inner
    got, scanned = _search(ctx, data, 1), _search(ctx, data, SCAN)
    assert got["records"] == scanned["records"] and got["total"] == scanned["total"] > 0


def test_a_filter_tests_the_text_of_the_rows_it_selects(table):
    ctx, rid, _ = table
    data = {"resource_id": rid, "q": {"name": "ถนน"}, "filters": {"n": [1, 2, 3, 40, 41, 42]}, "limit": 1000}
    plan = search.plan(ctx, data)
    assert plan.postings is None and "contains(" in plan.inner and "/grams/" not in plan.inner
    assert _search(ctx, data, 1)["records"] == _search(ctx, data, SCAN)["records"]


def test_postings_name_the_version_and_the_column(table):
    ctx, rid, _ = table
    ver = datastore_store.live_version(ctx.db, rid)
    paths = {grams.path(ctx.settings, ver["parquet_sha256"], c) for c in ("name", "note", "n")}
    assert len(paths) == 3 and all(p.exists() and ver["parquet_sha256"] in p.name for p in paths)


@pytest.fixture(scope="module")
def row_groups(tmp_path_factory):
    """A table of several row groups, whose rows a join with postings on two threads gives back in another order."""
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("grams-groups"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"name": _value(i), "n": i} for i in range(5 * tables.ROW_GROUP_ROWS)]
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"}, "records": records,
                                                 "fields": [{"id": "name", "type": "text"},
                                                            {"id": "n", "type": "int"}]})["resource_id"]
    ctx.settings.datastore_gram_rows = 1
    actions.call(ctx, "datastore_search", {"resource_id": rid, "q": {"name": "ถนน"}})
    assert grams.wait(ctx.settings, datastore_store.live_version(ctx.db, rid)["parquet_sha256"], "name")
    return ctx, rid


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_download_of_a_q_from_postings_is_in_id_order(row_groups, fmt):
    ctx, rid = row_groups
    params = {"q": '{"name": "ถนน"}', "format": fmt}
    bodies = []
    for rows in (1, SCAN):
        ctx.settings.datastore_gram_rows = rows
        bodies.append(b"".join(dumps.dump(ctx, rid, dict(params))[2]))
    ctx.settings.datastore_gram_rows = 1
    assert bodies[0] == bodies[1] and bodies[0].count("ถนน".encode()) > tables.ROW_GROUP_ROWS


def test_a_column_with_too_many_pieces_gets_no_postings_and_is_not_tried_again(tmp_path, monkeypatch):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"name": f"ถนนสาย {i}"} for i in range(50)]   # 6 or 7 pieces each: 340
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": records})["resource_id"]
    sha = datastore_store.live_version(ctx.db, rid)["parquet_sha256"]
    ctx.settings.datastore_gram_rows = 1
    monkeypatch.setattr(grams, "MAX_PIECES", 339)
    data = {"resource_id": rid, "q": {"name": "ถนนสาย 1"}, "limit": 100}
    assert actions.call(ctx, "datastore_search", dict(data))["total"] == 11
    assert not grams.wait(ctx.settings, sha, "name")
    assert actions.call(ctx, "datastore_search", dict(data))["total"] == 11   # tested again, no second build
    key = (str(tables.parquet_dir(ctx.settings)), sha, "name")
    assert grams._failed[key] == float("inf") and key not in grams._running
    monkeypatch.setattr(grams, "MAX_PIECES", 340)
    assert grams.build(str(tables.parquet_dir(ctx.settings)), sha, "name", grams.MAX_PIECES).exists()


def _writing_children():
    """This process's children now writing postings."""
    found = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:   # the thread ended
            continue
        for child in children:
            try:
                found += b"catalog.datastore.grams" in Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:   # the child ended
                pass
    return found


def test_a_process_writes_one_column_s_postings_at_a_time(tmp_path):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = [{"a": _value(i), "b": _value(i + 1), "c": _value(i + 2)} for i in range(300)]
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": records})["resource_id"]
    sha = datastore_store.live_version(ctx.db, rid)["parquet_sha256"]
    ctx.settings.datastore_gram_rows = 1
    actions.call(ctx, "datastore_search", {"resource_id": rid, "q": {"a": "ถนน", "b": "ถนน", "c": "ถนน"}})
    most, deadline = 0, time.monotonic() + 120
    while any(not grams.path(ctx.settings, sha, c).exists() for c in "abc") and time.monotonic() < deadline:
        most = max(most, _writing_children())
        time.sleep(0.005)
    assert all(grams.wait(ctx.settings, sha, c) for c in "abc") and most == 1
