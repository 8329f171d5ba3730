"""Whole-table CSV, TSV, JSON, XML and XLSX downloads written by DuckDB: one query whose rows come out as finished
lines, which DuckDB's COPY writes into a pipe that the response reads (no Python per row or per cell, bounded
memory, the first bytes at once; an XLSX sheet is zipped as its rows come). Every cell is written as the row-by-row
writer (tabular.stream) writes it: Excel's formula guard, minimal quoting, JSON and XML escapes, numbers and dates in
Python's spelling; in a sheet, the same cells of the same types."""
import fcntl
import os
import sys
import threading

from . import sortpasses, tables, tabular, workbooks
from .tabular import xml_tag

CHUNK = 1 << 20
PIPE_SIZE = 1 << 20   # Linux's default largest pipe for a process: fewer, larger reads than its 64 KiB default
XLSX_MAX_ROWS = 1_048_575   # Excel's 1,048,576 rows, the header's included
FORMATS = ("csv", "tsv", "json", "xml", "xlsx")

# How Python spells each type's values (tables.jsonable, then str/repr), as DuckDB SQL over the column {c}.
# A table with another type (lists) takes the row path.
_VALUES = {
    "BIGINT": "CAST({c} AS VARCHAR)",
    "DOUBLE": "CAST({c} AS VARCHAR)",   # shortest round-trip digits, as repr(float)
    # Decimals are served as int when whole, else float.
    "DECIMAL(38,6)": "CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) "
                     "ELSE CAST(CAST({c} AS DOUBLE) AS VARCHAR) END",
    "BOOLEAN": "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",
    "DATE": "CAST({c} AS VARCHAR)",
    # isoformat(): a T between date and time, and six digits of a fraction when there is one.
    "TIME": "(CASE WHEN contains(CAST({c} AS VARCHAR), '.') THEN rpad(CAST({c} AS VARCHAR), 15, '0') "
            "ELSE CAST({c} AS VARCHAR) END)",
    "TIMESTAMP": "(CASE WHEN contains(CAST({c} AS VARCHAR), '.') THEN rpad(replace(CAST({c} AS VARCHAR), ' ', 'T'), 26, '0') "
                 "ELSE replace(CAST({c} AS VARCHAR), ' ', 'T') END)",
}
_TEXT = ("VARCHAR", "JSON")   # JSON columns are served as their text
_QUOTED_IN_JSON = ("DATE", "TIME", "TIMESTAMP")   # isoformat() strings
# json.dumps(ensure_ascii=False) escapes the quote, the backslash and the control characters only.
_JSON_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\b", "\\b"),
                 ("\f", "\\f")] + [(chr(i), f"\\u{i:04x}") for i in range(32) if chr(i) not in "\n\r\t\b\f"]


def supports(duck_types):
    """True when every column can be written by DuckDB (the row path takes the rest)."""
    return all(str(t).upper() in _VALUES or str(t).upper() in _TEXT for t in duck_types)


def _guarded(column):
    # tabular.neutralise: a cell a spreadsheet would run as a formula gets an apostrophe in front.
    text = f"CAST({column} AS VARCHAR)"
    return f"CASE WHEN left({text}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN chr(39) || {text} ELSE {text} END"


def _quoted(cell, delimiter):
    # csv.QUOTE_MINIMAL: quoted when holding the delimiter, a quote, CR or LF; its quotes doubled.
    return (f"CASE WHEN contains({cell}, {delimiter}) OR contains({cell}, chr(34)) OR contains({cell}, chr(13)) "
            f"OR contains({cell}, chr(10)) THEN chr(34) || replace({cell}, chr(34), chr(34) || chr(34)) || chr(34) "
            f"ELSE {cell} END")


def _json_string(column):
    text = f"CAST({column} AS VARCHAR)"
    # DuckDB's to_json escapes as json.dumps(ensure_ascii=False) does, in C, but spells a control character's
    # \u escape in capitals (\u001F): a cell whose JSON holds "\u00" is escaped by the chain of replaces
    # below instead (json.dumps escapes the quote, the backslash and the control characters only).
    escaped = text
    for char, replacement in _JSON_ESCAPES:
        escaped = f"replace({escaped}, chr({ord(char)}), '{replacement}')"
    return f"CASE WHEN contains(to_json({text}), '\\u00') THEN chr(34) || {escaped} || chr(34) ELSE to_json({text}) END"


def _json_value(column, duck):
    if duck in _TEXT:
        return _json_string(column)
    if duck in _QUOTED_IN_JSON:
        return f"chr(34) || {_VALUES[duck].format(c=column)} || chr(34)"
    if duck == "DOUBLE":   # json.dumps spells the non-finite floats as JavaScript does
        return (f"CASE WHEN isnan({column}) THEN 'NaN' WHEN {column} = 'inf'::DOUBLE THEN 'Infinity' "
                f"WHEN {column} = '-inf'::DOUBLE THEN '-Infinity' ELSE CAST({column} AS VARCHAR) END")
    return _VALUES[duck].format(c=column)


def _renamed(source, count):
    # The source's columns renamed by position: the SQL below never meets a name of the table's.
    return f"({source}) AS s({', '.join(f'k{i}' for i in range(count))})"


def _delimited_query(types, fmt, source, carried=""):
    """SQL of one finished line per row of `source`: a CSV/TSV row (its CR LF comes from the COPY), or a JSON
    record (a list); then the `carried` columns of `source` (", _o0, _o1", sort keys)."""
    keys = [f"k{i}" for i in range(len(types))]
    if fmt == "json":
        cells = [f"coalesce({_json_value(k, d)}, 'null') AS {k}" for k, d in zip(keys, types)]
        return (f"SELECT concat('[', {', chr(44), chr(32), '.join(keys)}, ']') AS line{carried} "
                f"FROM (SELECT {', '.join(cells)}{carried} FROM {_renamed(source, len(types))})")
    delimiter = "chr(9)" if fmt == "tsv" else "','"
    # In steps, each naming the cells of the one before: a cell is computed once, not once per test on it.
    spelled = [f"{_guarded(k) if d in _TEXT else _VALUES[d].format(c=k)} AS {k}" for k, d in zip(keys, types)]
    quoted = [f"coalesce({_quoted(k, delimiter) if d in _TEXT else k}, '') AS {k}" for k, d in zip(keys, types)]
    # csv writes a lone empty field as "" so that the line is not blank.
    cells = keys if len(keys) > 1 else ["CASE WHEN k0 = '' THEN chr(34) || chr(34) ELSE k0 END"]
    return (f"SELECT concat({f', {delimiter}, '.join(cells)}) AS line{carried} "
            f"FROM (SELECT {', '.join(quoted)}{carried} FROM (SELECT {', '.join(spelled)}{carried} "
            f"FROM {_renamed(source, len(types))}))")


def download(settings, fmt, header, duck_types, source, args, bom=False, order=(), limit=None, offset=0, rows=None,
             whole=False):
    """The byte chunks of a download in `fmt` of the rows `source` selects (its columns: `header`, of
    `duck_types`, in order; then with `order`, one column `_o0`, `_o1`… for each of its directions, ASC or DESC, by
    which the rows are sorted), `offset` rows on, at most `limit`; `rows`, the most rows `source` returns, and
    `whole`, whether it returns every row of its version as stored. The query is bound now (a bad one fails before
    a response begins) and runs as the chunks are read."""
    types = [str(d).upper() for d in duck_types]
    # Measured on a million rows (bench/export_bench.py): JSON, XML and sheet lines are written as fast or faster
    # on one thread, in a fifth of the memory (tables._connections); unsorted CSV is two-thirds slower there. A
    # sort of every row takes all the memory it is allowed: on two threads it failed ("Out of Memory") whenever
    # another download ran beside it, on one thread (10% slower) only beside another sort, so a download that
    # sorts waits for the one before it.
    how = {"one_thread": fmt in ("json", "xml", "xlsx") or bool(order), "alone": bool(order)}
    page = (" LIMIT ?" if limit is not None else "") + " OFFSET ?"
    source_args, args = list(args), [*args, *([limit] if limit is not None else []), offset]
    sort = (" ORDER BY " + ", ".join(f"_o{i} {direction}" for i, direction in enumerate(order))) if order else ""
    if order and limit is None:
        # Every row is made its finished line first and the lines are sorted, not the rows under them: one text
        # to carry through the sort instead of every column (a million rows: 5.6 s against 6.9 s, and within
        # 128 MB of memory, where sorting the rows failed with "Out of Memory"). With a limit, the sort keeps the
        # top rows only, and only those are made lines (50,000 of a million as a sheet: 2.8 s, 7.0 s the other way).
        carried = "".join(f", _o{i}" for i in range(len(order)))
        lined = _line_query(fmt, types, header, source, carried)
        query = f"SELECT line FROM ({lined}){sort}{page}"
        # Lines too many for a share of the reader's memory are sorted a range of keys at a time instead.
        how["passes"] = sortpasses.Passes(
            source, lambda selected, kept: _line_query(fmt, types, header, selected, kept), order, source_args,
            tables.reader_memory(), rows, whole, offset)
    else:
        query = _line_query(fmt, types, header, f"SELECT * FROM ({source}){sort}{page}")
    if fmt == "xlsx":
        # A sheet row's number is known once its line has its place: each line holds chr(1) for it.
        query = f"SELECT replace(line, chr(1), CAST(row_number() OVER () + 1 AS VARCHAR)) AS line FROM ({query})"
        return workbooks.workbook(header, lines(settings, query, args, "\n", **how))
    if fmt == "xml":
        body = lines(settings, query, args, "\n", **how)
        return _joined([tabular.XML_OPENING], body, [tabular.XML_CLOSING])
    if fmt != "json":
        body = lines(settings, query, args, "\r\n", **how)
        return _joined([tabular.opening(fmt, header, bom)], body)
    body = lines(settings, query, args, ",", **how)
    return _joined([tabular.opening(fmt, header)], _but_last_byte(body), [tabular.JSON_CLOSING])


def _line_query(fmt, types, header, source, carried=""):
    """SQL of one finished line in `fmt` per row of `source`, then its `carried` columns."""
    if fmt == "xlsx":
        return _xlsx_query(types, source, carried)
    if fmt == "xml":
        return _xml_query(types, header, source, carried)
    return _delimited_query(types, fmt, source, carried)


def _joined(*parts):
    # itertools.chain has no close(): the server's close on a client's leaving must reach the pipe's reader.
    for part in parts:
        yield from part


def _but_last_byte(body):
    # Every JSON record is followed by a comma: the last one's is dropped.
    held = b""
    for chunk in body:
        yield held + chunk[:-1]
        held = chunk[-1:]


def lines(settings, select_sql, args, end, one_thread=False, alone=False, passes=None):
    """The bytes of the lines `select_sql` (one VARCHAR column of finished lines) returns, each followed by `end`:
    an iterator whose query is already bound (a bad one fails here, before a response begins) and runs as it is
    read (on one thread with `one_thread`). With `alone`, the query runs once no other `alone` one of this process
    does, into a local file that is then read out: a client that reads slowly holds no other one up. With `passes`
    (sortpasses.Passes), the same lines are written in passes when they need more than one or the query runs out
    of memory."""
    cursor = tables.one_thread_reader(settings) if one_thread else tables.reader(settings)
    args = list(args)
    cursor.sql(select_sql, params=args)   # binds without running
    return _copied(settings, cursor, select_sql, args, end, alone, passes)


_ALONE = threading.Lock()


def _copied(settings, cursor, select_sql, args, end, alone, passes=None):
    """DuckDB's COPY writes the lines into a named pipe from a thread (`alone`: into a file first, in its turn,
    then copied into the pipe); this generator reads them out. It starts nothing until first read, so a response
    that is never read leaves nothing behind."""
    path = tables.pipe(settings)
    reading = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    # Our own writing end holds the pipe open: DuckDB's open never waits for a reader, and the reading end sees
    # the pipe's end only once the COPY is over (then both writing ends are closed).
    writing = os.open(path, os.O_WRONLY)
    os.set_blocking(reading, True)
    try:
        fcntl.fcntl(reading, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:   # a system whose limit is lower keeps the default size
        pass
    failure, left = [], threading.Event()
    staged = path[:-len(".pipe")] + ".lines" if alone else None
    selected = path[:-len(".pipe")] + ".rows.parquet" if alone else None   # what the passes read, if they need it

    def copy_into(target, sql=select_sql, values=args):
        # The lines are written as they are: one column, never quoted or escaped.
        cursor.execute(f"COPY ({sql}) TO '{target.replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER false, "
                       f"QUOTE '', ESCAPE '', DELIMITER '\x01', NEW_LINE '{end}', USE_TMP_FILE false)", values)

    parts = [staged] if staged else []

    def run():
        try:
            if not staged:
                copy_into(path)
                return
            with _ALONE:
                if left.is_set():   # the client left while the query waited for its turn
                    return
                out_of_memory = sys.modules["duckdb"].OutOfMemoryException   # loaded with the cursor (tables.py)
                in_passes = passes is not None and passes.needed(cursor, selected)
                if not in_passes:
                    try:
                        copy_into(staged)
                    except out_of_memory:
                        if passes is None:
                            raise
                        in_passes = True
                if in_passes:
                    parts.clear()
                    passes.write(lambda sql, values, target: copy_into(target, sql, values), cursor, staged,
                                 left.is_set, out_of_memory, parts)
            for part in parts:
                with open(part, "rb") as lines_file:
                    while not left.is_set() and (chunk := memoryview(lines_file.read(CHUNK))):
                        while chunk:   # a write into a pipe may take part of the chunk
                            chunk = chunk[os.write(writing, chunk):]
        except Exception as error:   # noqa: BLE001 - raised again on the reading side
            failure.append(error)
        finally:
            os.close(writing)
            for part in {staged, selected, *parts} - {None}:
                if os.path.exists(part):
                    os.unlink(part)

    worker = threading.Thread(target=run, name="khlang-download", daemon=True)
    worker.start()
    finished = False
    try:
        while chunk := os.read(reading, CHUNK):
            yield chunk
        finished = True
    finally:
        if not finished:   # the client left: stop the query, and read on so that its writes never block
            left.set()
            cursor.interrupt()
            while os.read(reading, CHUNK):
                cursor.interrupt()
        worker.join()
        os.close(reading)
        os.unlink(path)
    if failure:
        raise failure[0]


def _xml_text(sql, keep_cr=True):
    # Characters XML cannot carry are dropped (params.xml_safe), then & < > escaped.
    kept = f"regexp_replace({sql}, '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{{fffe}}\\x{{ffff}}]', '', 'g')"
    escaped = f"replace(replace(replace({kept}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    # A CR written as itself would be read back as LF (XML's line ends): a sheet keeps it as a character reference.
    return f"replace({escaped}, chr(13), '&#13;')" if keep_cr else escaped


def _xml_query(types, header, source, carried=""):
    """SQL of one <row> line per row of `source` as tabular's XML writer writes it (the first column is _id),
    then the `carried` columns of `source`."""
    cells = []
    for i, (duck, name) in enumerate(zip(types, header)):
        if i == 0:
            continue
        key, tag = f"k{i}", xml_tag(name)
        # str() of what the row writer holds: booleans as Python spells them, the rest as in a CSV
        spelled = ("CAST({c} AS VARCHAR)" if duck in _TEXT else
                   "CASE WHEN {c} THEN 'True' ELSE 'False' END" if duck == "BOOLEAN" else _VALUES[duck]).format(c=key)
        cells.append(f"CASE WHEN {key} IS NULL THEN '<{tag} xsi:nil=\"true\"/>' "
                     f"ELSE '<{tag}>' || {_xml_text(spelled, keep_cr=False)} || '</{tag}>' END")
    return (f"SELECT concat('<row _id=\"', k0, '\">', {', '.join(cells) or chr(39) * 2}, '</row>') AS line{carried} "
            f"FROM {_renamed(source, len(types))}")


def _xlsx_cell(column, duck, letters):
    """A cell as tabular's XLSX writer types it: numbers stay numbers; text, dates, booleans and JSON are text."""
    ref = f"'{letters}' || chr(1)"   # the row's number, put in once the row has its place (download)
    text = f"'<c r=\"' || {ref} || '\" t=\"inlineStr\"><is><t xml:space=\"preserve\">' || {{}} || '</t></is></c>'"
    if duck in ("BIGINT", "DOUBLE", "DECIMAL(38,6)"):
        number = f"'<c r=\"' || {ref} || '\"><v>' || {_VALUES[duck].format(c=column)} || '</v></c>'"
        if duck == "DOUBLE":   # a spreadsheet has no NaN or infinity: those are written as their text
            return f"CASE WHEN isnan({column}) OR isinf({column}) THEN {text.format(_VALUES[duck].format(c=column))} ELSE {number} END"
        return number
    spelled = f"CAST({column} AS VARCHAR)" if duck in _TEXT else _VALUES[duck].format(c=column)
    # An empty text is no cell at all, as a spreadsheet holds it.
    return f"CASE WHEN {spelled} <> '' THEN {text.format(_xml_text(spelled))} END"


def _xlsx_query(types, source, carried=""):
    """SQL of one sheet row (XML) per row of `source`, chr(1) where its number goes; then the `carried` columns of
    `source`."""
    cells = [f"coalesce({_xlsx_cell(f'k{i}', d, workbooks.column_letters(i))}, '')" for i, d in enumerate(types)]
    return (f"SELECT concat('<row r=\"', chr(1), '\">', {', '.join(cells)}, '</row>') AS line{carried} "
            f"FROM {_renamed(source, len(types))}")
