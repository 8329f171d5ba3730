"""Whole-table CSV, TSV and JSON downloads written by DuckDB: one query whose rows come out as finished lines,
handed to the response batch by batch as Arrow buffers (no Python per row or per cell, bounded memory, the first
bytes at once). Every cell is written exactly as the row-by-row writer (tabular.stream) writes it: Excel's
formula guard, minimal quoting, JSON escapes, numbers and dates in Python's spelling."""
from . import tables

BATCH_ROWS = 16384
FORMATS = ("csv", "tsv", "json")

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
    escaped = text
    for char, escape in _JSON_ESCAPES:
        escaped = f"replace({escaped}, chr({ord(char)}), '{escape}')"
    # Most text needs no escape: the chain of replaces runs only on what does.
    needs = "regexp_matches(" + text + r", '[\x00-\x1f\"\\\\]')"
    return f"chr(34) || (CASE WHEN {needs} THEN {escaped} ELSE {text} END) || chr(34)"


def _json_value(column, duck):
    if duck in _TEXT:
        return _json_string(column)
    if duck in _QUOTED_IN_JSON:
        return f"chr(34) || {_VALUES[duck].format(c=column)} || chr(34)"
    if duck == "DOUBLE":   # json.dumps spells the non-finite floats as JavaScript does
        return (f"CASE WHEN isnan({column}) THEN 'NaN' WHEN {column} = 'inf'::DOUBLE THEN 'Infinity' "
                f"WHEN {column} = '-inf'::DOUBLE THEN '-Infinity' ELSE CAST({column} AS VARCHAR) END")
    return _VALUES[duck].format(c=column)


def query(columns, fmt, source):
    """SQL of one finished line per row of `source`, whose columns are (quoted name, DuckDB type) pairs, in order:
    a CSV/TSV row ending in CR LF, or a JSON record (a list) after a comma."""
    columns = [(c, str(d).upper()) for c, d in columns]
    names = [f"c{i}" for i in range(len(columns))]
    if fmt == "json":
        cells = [f"coalesce({_json_value(c, d)}, 'null') AS {n}" for (c, d), n in zip(columns, names)]
        return (f"SELECT concat(',[', {', chr(44), chr(32), '.join(names)}, ']') AS line "
                f"FROM (SELECT {', '.join(cells)} FROM ({source}))")
    delimiter = "chr(9)" if fmt == "tsv" else "','"
    # In steps, each naming the cells of the one before: a cell is computed once, not once per test on it.
    spelled = [f"{_guarded(c) if d in _TEXT else _VALUES[d].format(c=c)} AS {n}" for (c, d), n in zip(columns, names)]
    quoted = [f"coalesce({_quoted(n, delimiter) if d in _TEXT else n}, '') AS {n}" for (_, d), n in zip(columns, names)]
    # csv writes a lone empty field as "" so that the line is not blank.
    cells = names if len(names) > 1 else ["CASE WHEN c0 = '' THEN chr(34) || chr(34) ELSE c0 END"]
    return (f"SELECT concat({f', {delimiter}, '.join(cells)}, chr(13), chr(10)) AS line "
            f"FROM (SELECT {', '.join(quoted)} FROM (SELECT {', '.join(spelled)} FROM ({source})))")


def lines(settings, select_sql, args):
    """The bytes of the lines `select_sql` (one VARCHAR column of finished lines) returns, in batches: an iterator
    whose query is already bound (a bad one fails here, before a response begins) and runs as it is read."""
    relation = tables.reader(settings).sql(select_sql, params=list(args))
    return _batches(relation)


def _batches(relation):
    for batch in relation.to_arrow_reader(BATCH_ROWS):
        column = batch.column(0)
        # A string column's characters sit back to back in one buffer: the batch's lines are one slice of it.
        offsets = memoryview(column.buffers()[1]).cast("q" if str(column.type) == "large_string" else "i")
        data = column.buffers()[2]
        if data is not None:
            yield bytes(memoryview(data)[offsets[column.offset]:offsets[column.offset + len(column)]])
