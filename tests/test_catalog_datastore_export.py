"""CSV, TSV, JSON and XML downloads written by DuckDB (catalog/datastore/exports.py) are byte for byte what the row-by-row
writer writes, for every column type, filter, q, field choice, sort and page (XLSX: the same cells and types);
list columns keep the row path."""
import io
import json
import math
import os
import threading
import warnings

import duckdb
import pytest
from openpyxl import load_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import actions
from catalog.datastore import dumps as datastore_dumps, exports, sortpasses, tables
from catalog.errors import ValidationError
from tests.conftest import sysadmin_site

TEXT = ["=SUM(A1)", "+66 2 123 4567", "-5", "@home", "\tแท็บ", "\rคืน", 'เขาว่า "ดี"', "ก,ข", "บรรทัด\nใหม่",
        "ถนนลาดยาง", "", None, "'ขึ้นต้นด้วยอัญประกาศ", " เว้นวรรค", "ซ่อมถนน 100%", "a\tb", "C:\\งาน\\ถนน",
        "ระฆัง\x07 ฟอร์ม\x0c ถอย\x08 \x1f", "</script>\u2028", "ก & ข <ค> ]]>", "\\u001F ไม่ใช่อักขระควบคุม"]
FLOATS = [0.1, 100.0, 1e16, 1e20, 1.5e-7, -0.0, 2.5, 1 / 3, 123456789012345680.0, None, -42.75, float("nan"),
          float("inf"), float("-inf")]
NUMERIC = ["1234.50", "1234", "0.000001", "-5.25", "12345678901234567890.123456", None, "0"]
TIMESTAMPS = ["2024-01-02T03:04:05", "2024-01-02T03:04:05.123", "2567-11-29T00:00:00.000001", None]
TIMES = ["03:04:05", "03:04:05.5", "23:59:59.999999", None]
JSONS = [{"a": "=1"}, [1, "ข"], {"ข้อความ": 'มี "คำพูด", จุลภาค'}, None, "-x"]
FIELDS = [("name", "text"), ("note", "text"), ("n", "int"), ("f", "float"), ("money", "numeric"), ("ok", "bool"),
          ("day", "date"), ("at", "time"), ("stamp", "timestamp"), ("doc", "json")]


def _record(i):
    return {"name": TEXT[i % len(TEXT)], "note": TEXT[(i * 7 + 3) % len(TEXT)], "n": (i * 37) % 11 - 5,
            "f": FLOATS[i % len(FLOATS)], "money": NUMERIC[i % len(NUMERIC)], "ok": [True, False, None][i % 3],
            "day": None if i % 9 == 4 else f"25{60 + i % 10}-0{1 + i % 9}-1{i % 10}",
            "at": TIMES[i % len(TIMES)], "stamp": TIMESTAMPS[i % len(TIMESTAMPS)], "doc": JSONS[i % len(JSONS)]}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    _, _, ctx = sysadmin_site(tmp_path_factory.mktemp("export"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    res = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": [_record(i) for i in range(90)],
                                                 "fields": [{"id": n, "type": t} for n, t in FIELDS]})
    return ctx, res["resource_id"]


def _download(ctx, rid, params):
    _, _, chunks = datastore_dumps.dump(ctx, rid, dict(params))
    return b"".join(chunks)


def _both(ctx, rid, params, monkeypatch):
    fast = _download(ctx, rid, params)
    with monkeypatch.context() as m:
        m.setattr(exports, "supports", lambda types: False)
        rows = _download(ctx, rid, params)
    return fast, rows


NAMES = [n for n, _ in FIELDS]
FORMATS = st.sampled_from(["csv", "tsv", "json", "xml"])
CHOICES = {
    "bom": st.sampled_from(["true", "false"]),
    "fields": st.lists(st.sampled_from(["_id", *NAMES]), min_size=1, max_size=4, unique=True).map(",".join),
    # one or two columns, _id last or left for the search to add
    "sort": st.tuples(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(["asc", "desc"])), min_size=1,
                               max_size=2, unique_by=lambda s: s[0]), st.booleans())
              .map(lambda s: ", ".join([f"{n} {d}" for n, d in s[0]] + (["_id"] if s[1] else []))),
    "distinct": st.just("true"),
    "q": st.sampled_from(["ถนน", "ก", "100%", "=", "ดี", '{"name": "ก"}', '{"note": "ถนน", "name": "a"}']),
    "filters": st.sampled_from([{"n": 3}, {"n": [-5, 0, 5]}, {"name": "ก,ข"}, {"ok": "true"}]).map(json.dumps),
    "limit": st.integers(0, 100).map(str),
    "offset": st.integers(0, 95).map(str),
}
PARAMS = st.fixed_dictionaries({"format": FORMATS}, optional=CHOICES)
# Every row sorted, from an offset on: what sortpasses writes in passes.
SORTED = st.fixed_dictionaries({"format": FORMATS, "sort": CHOICES["sort"]}, optional={
    k: v for k, v in CHOICES.items() if k not in ("sort", "limit")})


def _sorted_by_missing_fields(params):
    return "distinct" in params and "sort" in params and "fields" in params \
        and not {s.split()[0] for s in params["sort"].split(", ")} <= set(params["fields"].split(","))


@settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PARAMS)
def test_duckdb_writes_the_same_bytes_as_the_row_writer(table, monkeypatch, params):
    ctx, rid = table
    if _sorted_by_missing_fields(params):
        with pytest.raises(ValidationError, match="with distinct, sort only by fields that are in fields"):
            _download(ctx, rid, params)
        return
    fast, rows = _both(ctx, rid, params, monkeypatch)
    assert fast == rows


# 90 rows against a row group of 50: a selection is made before its lines are counted; of 16,384: after.
@pytest.mark.parametrize("row_group", [50, tables.ROW_GROUP_ROWS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=SORTED)
def test_a_sorted_download_written_in_passes_is_the_row_writers_bytes(table, monkeypatch, row_group, params):
    ctx, rid = table
    if _sorted_by_missing_fields(params):
        return
    # In 16 KB of reader memory a pass holds 1 KB of lines: these rows take several passes.
    monkeypatch.setattr(tables, "reader_memory", lambda: 16 * 1024)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", row_group)
    fast, rows = _both(ctx, rid, params, monkeypatch)
    assert fast == rows


def test_a_sorted_download_of_more_lines_than_a_pass_holds_is_written_in_passes_from_the_start(table, monkeypatch):
    ctx, rid = table
    params = {"format": "csv", "sort": "money desc, name"}
    expected = _download(ctx, rid, params)   # in the reader's whole memory: one sort
    monkeypatch.setattr(tables, "reader_memory", lambda: 16 * 1024)
    passes, write = [], sortpasses.Passes.write

    def counted(self, copy, *args):
        copies = []
        write(self, lambda *sql: (copies.append(sql), copy(*sql))[1], *args)
        passes.append(len(copies))

    monkeypatch.setattr(sortpasses.Passes, "write", counted)
    assert _download(ctx, rid, params) == expected
    assert len(passes) == 1 and passes[0] > 2


def test_every_kind_of_cell_is_written_as_excel_needs_it(table, monkeypatch):
    ctx, rid = table
    fast, rows = _both(ctx, rid, {"format": "csv", "bom": "true"}, monkeypatch)
    assert fast == rows
    text = fast.decode("utf-8")
    assert text.startswith("\ufeff_id,name,note,n,f,money,ok,day,at,stamp,doc\r\n")
    assert "'=SUM(A1)" in text and "'+66 2 123 4567" in text and "'@home" in text   # formulas neutralised
    assert '"เขาว่า ""ดี"""' in text and '"ก,ข"' in text and '"บรรทัด\nใหม่"' in text   # quoted where needed
    assert ",1234.5," in text and ",12345678901234567890.123456," not in text   # decimals as JSON numbers
    assert "2567-11-29T00:00:00.000001" in text and "03:04:05.500000" in text
    assert text.count("\r\n") == 1 + 90   # header and rows; no cell holds CR LF


def test_a_single_column_of_empty_cells_keeps_one_line_per_row(table, monkeypatch):
    ctx, rid = table
    params = {"format": "csv", "fields": "name", "filters": json.dumps({"_id": [8, 11, 12]})}   # "ก,ข", "", None
    fast, rows = _both(ctx, rid, params, monkeypatch)
    assert fast == rows == 'name\r\n"ก,ข"\r\n""\r\n""\r\n'.encode("utf-8")


def test_a_json_download_is_one_json_document_with_every_value(table, monkeypatch):
    ctx, rid = table
    fast, rows = _both(ctx, rid, {"format": "json"}, monkeypatch)
    assert fast == rows
    doc = json.loads(fast)
    assert [f["id"] for f in doc["fields"]] == ["_id", *NAMES] and len(doc["records"]) == 90
    assert doc["records"][17][1] == "ระฆัง\x07 ฟอร์ม\x0c ถอย\x08 \x1f" and doc["records"][0][1] == "=SUM(A1)"
    assert _both(ctx, rid, {"format": "json", "limit": "0"}, monkeypatch)[0] == b'{"fields": [' + \
        b", ".join(b'{"id": "%s"}' % n.encode() for n in ["_id", *NAMES]) + b'], "records": []}'


def _sheet(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # openpyxl's own note on a workbook it did not write
        book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in book["data"].iter_rows(values_only=True)]
    # openpyxl pads rows to the width its own sheets declare up front; a streamed sheet cannot know it yet.
    return [r[:max([i + 1 for i, c in enumerate(r) if c is not None], default=0)] for r in rows]


@pytest.mark.parametrize("params", [{}, {"q": "ถนน", "sort": "f desc"}, {"fields": "doc,money,name", "limit": "40"},
                                    {"filters": json.dumps({"ok": "true"}), "offset": "3"}])
def test_an_xlsx_download_holds_the_cells_the_row_writer_writes(table, monkeypatch, params):
    ctx, rid = table
    fast, rows = _both(ctx, rid, {"format": "xlsx", **params}, monkeypatch)
    fast, rows = _sheet(fast), _sheet(rows)
    # A spreadsheet has no NaN or infinity: DuckDB's sheet writes them as text, openpyxl's as nothing; openpyxl
    # writes CR as itself, which XML reads back as LF, where DuckDB's sheet keeps it (as &#13;); floats are
    # written to 15 or 16 digits by openpyxl, to the shortest that reads back exactly by DuckDB. A number stays a
    # number and a text a text (100.0 may read back as 100: a spreadsheet has one kind of number).
    def cell(c, ours):
        if ours and c in ("nan", "inf", "-inf") or isinstance(c, float) and not math.isfinite(c):
            return None
        if isinstance(c, (int, float)):
            return ("number", pytest.approx(c, rel=1e-15))
        return c.replace("\r", "\n") if ours and isinstance(c, str) else c

    assert [[cell(c, True) for c in r] for r in fast] == [[cell(c, False) for c in r] for r in rows]
    if not params:
        assert fast[0] == ["_id", *NAMES] and any("\rคืน" in str(c) for r in fast for c in r)
    assert all(c != "=SUM(A1)" or isinstance(c, str) for r in fast for c in r)   # text stays text, never a formula


def test_an_xlsx_sheet_stops_at_the_rows_a_spreadsheet_holds(table, monkeypatch):
    ctx, rid = table
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 5)   # Excel's 1,048,575, made small
    assert len(_sheet(_download(ctx, rid, {"format": "xlsx"}))) == 1 + 5
    assert len(_sheet(_download(ctx, rid, {"format": "xlsx", "limit": "3"}))) == 1 + 3
    assert _download(ctx, rid, {"format": "csv"}).count(b"\r\n") == 1 + 90   # CSV holds every row


def test_lists_and_other_formats_take_the_row_writer(tmp_path, monkeypatch):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": [{"tags": ["ก", "=ข"], "n": 1}],
                                                 "fields": [{"id": "tags", "type": "_text"},
                                                            {"id": "n", "type": "int"}]})["resource_id"]
    calls = []
    monkeypatch.setattr(exports, "lines", lambda *a, **how: calls.append(a) or iter(()))
    text = _download(ctx, rid, {"format": "csv"}).decode("utf-8")
    assert text == '_id,tags,n\r\n1,"[""ก"", ""=ข""]",1\r\n' and calls == []
    assert _download(ctx, rid, {"format": "csv", "fields": "n"}) == b"n\r\n"   # the patched DuckDB writer
    assert len(calls) == 1


def test_list_cells_of_mixed_element_types_load_as_the_fields_type(tmp_path):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": [{"ids": ["1", 2], "n": 1}, {"ids": [3], "n": 2.0},
                                                             {"ids": None, "n": None}],
                                                 "fields": [{"id": "ids", "type": "_int"},
                                                            {"id": "n", "type": "int"}]})["resource_id"]
    got = actions.call(ctx, "datastore_search", {"resource_id": rid, "sort": "_id"})["records"]
    assert [(r["ids"], r["n"]) for r in got] == [([1, 2], 1), ([3], 2), (None, None)]


def _pipes(ctx):
    return os.listdir(tables.pipes_folder(ctx.settings))


def _download_threads():
    return [t for t in threading.enumerate() if t.name == "khlang-download"]


@pytest.mark.parametrize("params", [{"format": "csv"}, {"format": "json"}, {"format": "xml"},
                                    {"format": "json", "sort": "n desc, _id"}])
def test_a_download_left_after_its_first_chunk_stops_its_query_and_leaves_no_file(table, monkeypatch, params):
    ctx, rid = table
    # Reads of 64 bytes from the smallest pipe Linux makes: the query is still writing the rows (more than twice the
    # pipe's size) when the client leaves.
    monkeypatch.setattr(exports, "CHUNK", 64)
    monkeypatch.setattr(exports, "PIPE_SIZE", 4096)
    assert len(_download(ctx, rid, params)) > 2 * 4096
    # Pipes and threads of other tests' downloads in this process are not this one's.
    threads_before, pipes_before = set(_download_threads()), set(_pipes(ctx))
    _, _, chunks = datastore_dumps.dump(ctx, rid, dict(params))
    while not set(_pipes(ctx)) - pipes_before:   # past the opening
        next(chunks)
    [pipe] = [f for f in set(_pipes(ctx)) - pipes_before if f.endswith(".pipe")]
    [thread] = set(_download_threads()) - threads_before
    assert thread.is_alive()
    chunks.close()   # what the server does when the client leaves
    # Neither the pipe nor a sorted download's file of lines is left behind.
    assert not thread.is_alive() and pipe not in _pipes(ctx) and set(_pipes(ctx)) <= pipes_before


def test_downloads_run_on_one_thread_of_a_reader_locked_down_as_the_searches_one_is(table):
    ctx, _ = table
    for cursor, threads in ((tables.reader(ctx.settings), 2), (tables.one_thread_reader(ctx.settings), 1)):
        assert cursor.execute("SELECT current_setting('threads')").fetchone()[0] == threads
        assert cursor.execute("SELECT current_setting('allocator_background_threads')").fetchone()[0] is True
        # A request's cursor keeps version files' footers, not only the connection that set it up.
        assert cursor.execute("SELECT current_setting('parquet_metadata_cache')").fetchone()[0] is True
        with pytest.raises(duckdb.PermissionException):
            cursor.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error, match="locked"):
            cursor.execute("SET enable_external_access = true")


@pytest.mark.parametrize("params,one_thread", [({"format": "csv"}, False), ({"format": "tsv", "q": "ถนน"}, True),
                                               ({"format": "csv", "sort": "f desc"}, True), ({"format": "json"}, True),
                                               ({"format": "xml"}, True), ({"format": "xlsx"}, True)])
def test_downloads_that_sort_or_write_json_xml_or_sheets_run_on_the_one_thread_reader(table, monkeypatch, params,
                                                                                     one_thread):
    ctx, rid = table
    used = []
    for name in ("reader", "one_thread_reader"):
        real = getattr(tables, name)
        monkeypatch.setattr(tables, name, lambda settings, real=real, name=name: used.append(name) or real(settings))
    assert _download(ctx, rid, params)
    assert used[-1] == ("one_thread_reader" if one_thread else "reader")


def test_a_download_that_sorts_waits_for_the_sort_before_it_and_one_that_does_not_sort_never_waits(table):
    ctx, rid = table
    sorted_csv = {"format": "csv", "sort": "f desc"}
    expected = _download(ctx, rid, sorted_csv)
    got = {}
    fetch = lambda key, params: threading.Thread(target=lambda: got.setdefault(key, _download(ctx, rid, params)))  # noqa: E731
    with exports._ALONE:   # another download's sort is running
        waiting, passing = fetch("sorted", sorted_csv), fetch("plain", {"format": "json"})
        waiting.start()
        passing.start()
        passing.join(60)
        waiting.join(0.5)
        assert "plain" in got and waiting.is_alive()
    waiting.join(60)
    assert got["sorted"] == expected


def test_a_sorted_download_read_slowly_holds_up_no_other_sorted_download(table, monkeypatch):
    ctx, rid = table
    monkeypatch.setattr(exports, "CHUNK", 64)   # the smallest pipe Linux makes, read 64 bytes at a time
    monkeypatch.setattr(exports, "PIPE_SIZE", 4096)
    sorted_csv = {"format": "csv", "sort": "f desc"}
    expected = _download(ctx, rid, sorted_csv)
    assert len(expected) > 2 * 4096   # more than the pipe holds: the slow download's writer waits on its reader
    _, _, slow = datastore_dumps.dump(ctx, rid, dict(sorted_csv))
    try:
        first = next(slow) + next(slow)   # the header, then the first rows: its sort is over
        got = []
        other = threading.Thread(target=lambda: got.append(_download(ctx, rid, sorted_csv)), daemon=True)
        other.start()
        other.join(30)
        assert got == [expected]
        assert first + b"".join(slow) == expected
    finally:
        slow.close()


def test_a_download_that_is_never_read_starts_nothing(table):
    ctx, rid = table
    threads_before, pipes_before = set(_download_threads()), set(_pipes(ctx))
    datastore_dumps.dump(ctx, rid, {"format": "json"})
    assert set(_download_threads()) <= threads_before and set(_pipes(ctx)) <= pipes_before


def test_a_query_that_fails_as_it_runs_fails_the_download_and_a_bad_one_fails_before_it(table):
    ctx, _ = table
    threads_before, pipes_before = set(_download_threads()), set(_pipes(ctx))
    body = exports.lines(ctx.settings, "SELECT CAST(CAST(s AS INTEGER) AS VARCHAR) FROM (VALUES ('1'), ('x')) t(s)",
                         [], "\n")
    with pytest.raises(duckdb.ConversionException):
        b"".join(body)
    with pytest.raises(duckdb.BinderException):
        exports.lines(ctx.settings, "SELECT nothing FROM (VALUES (1)) t(s)", [], "\n")
    assert set(_download_threads()) <= threads_before and set(_pipes(ctx)) <= pipes_before


def test_list_cells_no_one_type_holds_load_as_their_json_text(tmp_path):
    _, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    rid = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": [{"t": ["ก", {"a": 1}]}, {"t": [1, [2]]}, {"t": None}],
                                                 "fields": [{"id": "t", "type": "_text"}]})["resource_id"]
    got = actions.call(ctx, "datastore_search", {"resource_id": rid, "sort": "_id"})["records"]
    assert [r["t"] for r in got] == [["ก", '{"a": 1}'], ["1", "[2]"], None]
