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
    return (i * 7919) % 1000


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tables, "READER_MEMORY", "128MB")   # the readers of this site's storage are made with it
        _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("wide"))
        actions.call(ctx, "organization_create", {"name": "org"})
        actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
        rid = actions.call(ctx, "datastore_create", {
            "resource": {"package_id": "ds", "name": "t"},
            "records": [{"k": _key(i), "t": f"{WIDE}{i}"} for i in range(ROWS)],
            "fields": [{"id": "k", "type": "int"}, {"id": "t", "type": "text"}]})["resource_id"]
        yield ctx, rid


def test_a_sorted_download_too_large_for_the_readers_memory_is_sorted_in_passes(wide, monkeypatch):
    ctx, rid = wide
    body = b"".join(dumps.dump(ctx, rid, {"format": "csv", "sort": "k desc"})[2]).decode("utf-8").splitlines()
    assert body[0] == "_id,k,t"
    want = sorted(range(ROWS), key=lambda i: (-_key(i), i))
    assert [line.split(",") for line in body[1:]] == [[str(i + 1), str(_key(i)), f"{WIDE}{i}"] for i in want]
    # The one sort of every line does not fit: without the passes the download fails.
    monkeypatch.setattr(exports.sortpasses, "Passes", lambda *args: None)
    with pytest.raises(duckdb.OutOfMemoryException):
        b"".join(dumps.dump(ctx, rid, {"format": "csv", "sort": "k desc"})[2])
    assert os.listdir(tables.pipes_folder(ctx.settings)) == []   # no pipe, no file of lines left behind
