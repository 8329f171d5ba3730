"""Declared DataStore indexes (CKAN's `indexes`): a filter on an index's fields reads the index's clustered copy
and answers exactly what the version's own file answers; the copies follow the table through new versions,
are reported by datastore_info and are checked and kept like every version file."""
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import actions, integrity
from catalog.datastore import indexes as datastore_indexes, tables
from catalog.datastore.dumps import dump
from catalog.errors import ValidationError
from catalog.store import datastore as datastore_store
from tests.conftest import run_cli, sysadmin_site

PROVINCES = ["กรุงเทพมหานคร", "เชียงใหม่", "ขอนแก่น", "ภูเก็ต", "น่าน"]
FIELDS = [{"id": "province", "type": "text"}, {"id": "year", "type": "int"}, {"id": "money", "type": "numeric"},
          {"id": "project", "type": "text"}]


def _records(n=400):
    return [{"province": PROVINCES[(i * 7) % 5], "year": 2560 + (i * 3) % 6, "money": (i * 37) % 11 * 1000.5,
             "project": ["ถนนลาดยาง", "ซ่อมถนน", "โรงเรียน", "สะพาน"][i % 4] + f" {i}"} for i in range(n)]


def _create(ctx, name, records, **extra):
    return actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": name}, "records": records,
                                                  "fields": FIELDS, **extra})["resource_id"]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """The same rows twice: once with indexes on (province, year) and on money, once without."""
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("indexes"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    records = _records()
    indexed = _create(ctx, "indexed", records, indexes=["province,year", "money"])
    plain = _create(ctx, "plain", records)
    return ctx, indexed, plain


def _live(ctx, rid):
    return datastore_store.live_version(ctx.db, rid)


def test_an_index_keeps_a_copy_clustered_by_its_fields_and_filters_read_it(twins):
    ctx, indexed, _ = twins
    ver = _live(ctx, indexed)
    kept = datastore_indexes.of_version(ver)
    assert [ix["fields"] for ix in kept] == [["province", "year"], ["money"]]
    copy = tables.reader(ctx.settings).execute(
        f"SELECT province, year, _id FROM {tables.scan(ctx.settings, kept[0]['parquet_sha256'])}").fetchall()
    assert copy == sorted(copy) and len(copy) == 400
    assert datastore_indexes.file_for(ver, {"province": "น่าน", "year": 2561}) == kept[0]["parquet_sha256"]
    assert datastore_indexes.file_for(ver, {"money": 0}) == kept[1]["parquet_sha256"]
    assert datastore_indexes.file_for(ver, {"year": 2561}) == ver["parquet_sha256"]   # not a leading field


FILTER = st.fixed_dictionaries({}, optional={
    "province": st.one_of(st.sampled_from(PROVINCES + ["ไม่มี"]), st.lists(st.sampled_from(PROVINCES), max_size=3)),
    "year": st.one_of(st.integers(2559, 2566), st.lists(st.integers(2559, 2566), max_size=2)),
    "money": st.sampled_from([0, 1000.5, 5002.5, 7]),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=FILTER, sort=st.sampled_from([None, "money desc", "province", "year desc, money", "_id desc"]),
       q=st.sampled_from([None, "ถนน", {"project": "สะพาน"}]), offset=st.sampled_from([0, 3, 50]),
       distinct=st.booleans(), fields=st.sampled_from([None, "province,year", "money,_id"]))
def test_searches_through_an_index_answer_exactly_what_the_version_file_does(twins, filters, sort, q, offset,
                                                                             distinct, fields):
    ctx, indexed, plain = twins
    params = {"filters": json.dumps(filters, ensure_ascii=False), "limit": 25, "offset": offset}
    for key, value in (("sort", sort), ("q", q), ("fields", fields)):
        if value is not None:
            params[key] = value
    if distinct:
        params["distinct"] = True
        params.pop("sort", None)
    got = actions.call(ctx, "datastore_search", {"resource_id": indexed, **params})
    want = actions.call(ctx, "datastore_search", {"resource_id": plain, **params})
    assert got["records"] == want["records"] and got["total"] == want["total"]


def test_filtered_downloads_through_an_index_come_in_id_order(twins):
    ctx, indexed, plain = twins
    query = {"filters": json.dumps({"province": ["น่าน", "ภูเก็ต"]}, ensure_ascii=False)}
    got = b"".join(dump(ctx, indexed, {"format": "csv", **query})[2])
    want = b"".join(dump(ctx, plain, {"format": "csv", **query})[2])
    ids = [int(line.split(b",")[0]) for line in got.splitlines()[1:]]
    assert got == want and ids == sorted(ids) and len(ids) == 160


def test_datastore_info_reports_the_indexed_fields_and_their_size(twins):
    ctx, indexed, plain = twins
    info = actions.call(ctx, "datastore_info", {"id": indexed})
    schema = {f["id"]: f["schema"] for f in info["fields"]}
    assert schema["province"]["is_index"] and schema["province"]["index_name"] == "province_year"
    assert schema["money"]["is_index"] and not schema["year"]["is_index"] and not schema["project"]["is_index"]
    assert info["meta"]["idx_size"] > 0 and info["meta"]["db_size"] == info["meta"]["size"] + info["meta"]["idx_size"]
    assert actions.call(ctx, "datastore_info", {"id": plain})["meta"]["idx_size"] == 0


def test_new_versions_keep_the_indexes_and_an_empty_list_drops_them(tmp_path):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    rid = _create(ctx, "t", _records(40), indexes="province")
    actions.call(ctx, "datastore_upsert", {"resource_id": rid, "method": "insert",
                                           "records": [{"province": "ยะลา", "year": 2567, "money": 1, "project": "x"}]})
    actions.call(ctx, "datastore_delete", {"resource_id": rid, "filters": {"year": 2560}})
    actions.call(ctx, "datastore_create", {"resource_id": rid, "records": [{"province": "ตาก"}]})
    ver = _live(ctx, rid)
    assert ver["version"] == 4 and [ix["fields"] for ix in datastore_indexes.of_version(ver)] == [["province"]]
    copy = datastore_indexes.of_version(ver)[0]["parquet_sha256"]
    rows = tables.reader(ctx.settings).execute(
        f"SELECT province, _id FROM {tables.scan(ctx.settings, copy)}").fetchall()
    assert rows == sorted(rows) and len(rows) == ver["row_count"] == 22
    assert ("ยะลา", 41) in rows and ("ตาก", 42) in rows and ("กรุงเทพมหานคร", 1) not in rows   # _id 1 was year 2560
    got = actions.call(ctx, "datastore_search", {"resource_id": rid, "filters": {"province": "ยะลา"}})
    assert [r["money"] for r in got["records"]] == [1]
    actions.call(ctx, "datastore_create", {"resource_id": rid, "records": [], "indexes": []})
    assert datastore_indexes.of_version(_live(ctx, rid)) == []


@pytest.mark.parametrize("indexes,message", [
    (["province", "nope"], 'field "nope" not in resource'),
    ("_id", 'field "_id" not in resource'),
    (["province", "year", "money", "project"], "at most 3 indexes"),
    (7, "Must be a list"),
])
def test_a_bad_index_is_refused_and_loads_nothing(tmp_path, indexes, message):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    with pytest.raises(ValidationError) as err:
        _create(ctx, "t", _records(5), indexes=indexes)
    assert message in str(err.value.errors["indexes"])
    assert datastore_store.version_shas(ctx.db) == []


def test_index_copies_are_version_files_the_integrity_check_verifies(tmp_path):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    rid = _create(ctx, "t", _records(30), indexes=["year"])
    ver = _live(ctx, rid)
    copy = datastore_indexes.of_version(ver)[0]["parquet_sha256"]
    assert set(datastore_store.version_shas(ctx.db)) == {ver["parquet_sha256"], copy}
    assert integrity.check(ctx.settings, ctx.db) == []
    tables.parquet_path(ctx.settings, copy).unlink()
    assert integrity.check(ctx.settings, ctx.db) == [{"kind": "version", "what": copy, "detail": "missing"}]


def test_ingest_declares_indexes_and_later_loads_keep_them(tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    src = tmp_path / "contracts.csv"
    src.write_text("province,year,money\n" + "".join(f"{PROVINCES[i % 5]},{2560 + i % 3},{i}\n" for i in range(50)),
                   encoding="utf-8")
    args = ("ingest", str(src), "--org", "org1", "--dataset", "ds1", "--resource", "r")
    run_cli(*args, "--index", "province,year", "--index", "money", env=env)
    run_cli(*args, env=env)
    db = sqlite3.connect(env["KHLANG_DB"])
    kept = [[ix["fields"] for ix in json.loads(row[0])]
            for row in db.execute("SELECT indexes FROM resource_versions ORDER BY version")]
    assert kept == [[["province", "year"], ["money"]]] * 2
    out = run_cli(*args, "--index", "nope", env=env, check=False)
    assert out.returncode != 0 and 'field "nope" not in resource' in out.stderr
