"""A sorted download whose lines DuckDB cannot sort within the reader's memory is written in passes, in order."""
import os

import duckdb
import pytest

from catalog import actions
from catalog.datastore import dumps, exports, tables
from tests.conftest import sysadmin_site

ROWS = 50_000
WIDE = "ถนน" * 300   # 2.7 KB a line: 135 MB of lines, beyond what DuckDB 2.0.1 sorts in 128 MB


def _key(i):
    # One row in ten has no key: those come last in either direction, in ranges of their own.
    return None if i % 10 == 3 else (i * 7919) % 1000


def _few(i):
    # One row in a thousand has none: those come last, in the last range with the highest values.
    return None if i % 1000 == 7 else (i * 31) % 977


def _order(column, descending):
    """The rows' indexes in the order of `column`'s values (NULLs last), then of _id."""
    return sorted(range(ROWS), key=lambda i: (column(i) is None, (-1 if descending else 1) * (column(i) or 0), i))


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tables, "READER_MEMORY", "128MB")   # the readers of this site's storage are made with it
        _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("wide"))
        actions.call(ctx, "organization_create", {"name": "org"})
        actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
        rid = actions.call(ctx, "datastore_create", {
            "resource": {"package_id": "ds", "name": "t"},
            "records": [{"k": _key(i), "n": _few(i), "t": f"{WIDE}{i}"} for i in range(ROWS)],
            "fields": [{"id": "k", "type": "int"}, {"id": "n", "type": "int"}, {"id": "t", "type": "text"}]
        })["resource_id"]
        yield ctx, rid


@pytest.mark.parametrize("sort", ["k desc", "n"])
def test_a_sorted_download_too_large_for_the_readers_memory_is_sorted_in_passes(wide, sort):
    ctx, rid = wide
    body = b"".join(dumps.dump(ctx, rid, {"format": "csv", "sort": sort})[2]).decode("utf-8").splitlines()
    assert body[0] == "_id,k,n,t"
    column = _key if sort.startswith("k") else _few
    cell = lambda value: "" if value is None else str(value)   # noqa: E731
    assert [line.split(",") for line in body[1:]] == [[str(i + 1), cell(_key(i)), cell(_few(i)), f"{WIDE}{i}"]
                                                      for i in _order(column, sort.endswith("desc"))]


def test_without_the_passes_that_sorted_download_runs_out_of_memory(wide, monkeypatch):
    ctx, rid = wide
    monkeypatch.setattr(exports.sortpasses, "Passes", lambda *args: None)
    with pytest.raises(duckdb.OutOfMemoryException):
        b"".join(dumps.dump(ctx, rid, {"format": "csv", "sort": "k desc"})[2])
    assert os.listdir(tables.pipes_folder(ctx.settings)) == []   # no pipe, no file of lines left behind
