"""Frictionless Table Schema validation compiled to DuckDB SQL, with frictionless-py's report.

How it stays equal to `frictionless validate` while running at DuckDB speed:
- DuckDB reads every cell as text (NULL only for a cell the row does not have) and SQL decides which
  rows *might* be wrong: a missing or extra cell, a blank row, a failed constraint, a failed custom
  check, or a cell not in the canonical form SQL can type by itself (e.g. `1_000`, ` 12`).
- Only those rows go through frictionless-py's own Row and cell readers, so their errors are exactly
  frictionless's; the typed values they yield for odd-but-valid cells are kept as patches for loading.
- Table-wide checks (primary key, unique) run as SQL window queries over the typed values.
Anything the compiler (ingest/compiler.py) does not cover raises Unsupported and the caller runs
frictionless-py instead.
"""
import re
import time

from frictionless import Schema, errors as ferrors
from frictionless.table.row import Row, create_cell_handlers

from catalog.errors import is_write_failure

from . import checks as custom_checks
from .compiler import Unsupported, compile_plan, lit
from .keys import col, key_errors
from .sourcefile import NotUtf8, SourceFile, is_utf8

NULL_MARK = "\x01khlang-missing\x01"
LIMIT_ERRORS = 1000
DISTINCT_IN_PYTHON = 50000


def read_raw(cur, src: SourceFile, width, table="raw"):
    """Load the CSV as text cells into `table` (file order kept, so rowid = record index)."""
    columns = "{" + ", ".join(f"'{col(i)}': 'VARCHAR'" for i in range(1, width + 1)) + "}"
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    base = (f"read_csv({lit(src.path)}, header=false, skip=1, columns={columns}, auto_detect=false, "
            f"delim={lit(src.delimiter)}, quote='\"', escape='\"', null_padding=true, strict_mode=false, "
            f"nullstr={lit(NULL_MARK)}, encoding='utf-8'")
    for parallel in ("true", "false"):
        try:
            cur.execute(f"CREATE TABLE {table} AS SELECT * FROM {base}, parallel={parallel})")
            return
        except Exception as exc:  # duckdb.Error: quoted newlines need the serial reader
            if is_write_failure(exc):
                src.finish_scan()
                raise
            if "unicode" in str(exc).lower() or "utf-8" in str(exc).lower():
                src.finish_scan()
                raise NotUtf8(src.path) from None
            if parallel == "false" or "parallel" not in str(exc):
                src.finish_scan()
                # DuckDB stops at the first error: one that is not about UTF-8 may hide a file that is not UTF-8
                # either (a TIS-620 export), which is read again as such.
                if src.encoding.startswith("utf-8") and not is_utf8(src.path):
                    raise NotUtf8(src.path) from None
                raise Unsupported(f"DuckDB could not parse the file: {str(exc).splitlines()[0]}") from None


def _bad_values_table(cur, name, check, p, table):
    """Thai dates, tax ids and years repeat a lot: run the check's own Python once per distinct cell text."""
    runner = custom_checks.CHECKS[check["type"]].from_descriptor({k: v for k, v in check.items() if k != "severity"})
    read = p.field.create_cell_reader()
    bad = []
    result = cur.execute(f"SELECT DISTINCT {col(p.index)} FROM {table} WHERE {col(p.index)} IS NOT NULL")
    while batch := result.fetchmany(50000):
        for (text,) in batch:
            value, notes = read(text)
            if value is not None and not (notes and "type" in notes) and runner.bad_value(value):
                bad.append((text,))
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} (v VARCHAR)")
    if bad:
        cur.executemany(f"INSERT INTO {name} VALUES (?)", bad)


def row_number_sql(src, rid="rowid"):
    """SQL for frictionless's row number of record `rid` (header is row 1; blank lines count)."""
    if not src.blank_rows:
        return f"({rid} + 2)"
    if src.blank_rows[0] < 2 or len(src.blank_rows) > 10000:
        raise Unsupported("blank lines before the header or more than 10,000 blank lines")
    thresholds = [b - 2 - j for j, b in enumerate(src.blank_rows)]
    return f"({rid} + 2 + list_count(list_filter({thresholds}, lambda t: t <= {rid})))"


def _row_errors(cells, number, handlers, checks):
    row = Row(cells, handlers=handlers, row_number=number)
    errs, warns = list(row.errors), []
    for decl, check in checks:
        (warns if decl.get("severity") == "warning" else errs).extend(check.validate_row(row))
    return row, errs, warns


def validate(cur, src: SourceFile, schema: Schema, checklist: dict, limit_errors=LIMIT_ERRORS, table="raw",
             strict=True):
    """Validate one CSV source into `table`; returns (task dict in frictionless's shape, TablePlan or None).

    With strict=False, checks the compiler does not cover are skipped (used to type a table that
    frictionless-py validated)."""
    started = time.perf_counter()
    if not src.labels:
        src.finish_scan()
        err = ferrors.SourceError(note="the file is empty (no header row)")
        err.message = "the file is empty (no header row)"   # frictionless's template would wrap it in jargon
        return _task(src, [], [err], [], 0, started, schema), None
    try:
        plan = compile_plan(schema, checklist, src.labels, cur, strict=strict)
    except Unsupported:
        src.finish_scan()
        raise
    plan.table = table
    _read_wide_enough(cur, src, plan)
    _keep_suspicious_rows(cur, src, plan)
    row_errors, patches, checked, flagged = _check_suspicious_rows(cur, plan)
    _store_patches(cur, plan, patches)
    total_rows = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] + len(src.blank_rows)
    for b in src.blank_rows:
        row_errors.setdefault(b, []).append(ferrors.BlankRowError(note="", cells=[], row_number=b))
    key_errors(cur, plan, row_number_sql(src, "_rowid"), src, row_errors)
    errs = list(plan.header_errors)
    for number in sorted(row_errors):
        errs.extend(row_errors[number])
    counts = {}
    for e in errs:
        counts[e.type] = counts.get(e.type, 0) + 1
    warnings = []
    if len(errs) > limit_errors:
        errs = errs[:limit_errors]
        warnings.append(f"reached error limit: {limit_errors}")
    task = _task(src, src.labels, errs, warnings + _flag_warnings(flagged), total_rows, started, schema)
    task["khlang"] = {"engine": "duckdb", "errorsByType": counts, "rowsCheckedInPython": checked,
                      "flags": [e.to_descriptor() for e in flagged[:limit_errors]]}
    return task, plan


def _read_wide_enough(cur, src, plan):
    """Read the file as text cells into the plan's table, with enough columns for its widest row."""
    width = plan.width
    while True:
        read_raw(cur, src, width, plan.table)
        overflow = cur.execute(f"SELECT count(*) FROM {plan.table} WHERE {col(width)} IS NOT NULL").fetchone()[0]
        if not overflow:
            break
        width *= 4  # a row has more extra cells than spare columns: read again, wider
    plan.width = width
    src.finish_scan()


def _keep_suspicious_rows(cur, src, plan):
    """Copy every row SQL cannot vouch for (missing or extra cells, a bad or odd value, a failed check) into the
    `suspicious` table, for frictionless to judge in Python."""
    table, n = plan.table, len(plan.expected)
    missing = " OR ".join(f"{col(i)} IS NULL" for i in range(1, n + 1)) or "false"
    blank = " AND ".join(p.isnull for p in plan.fields) or "true"
    suspicious = [f"({missing})", f"{col(n + 1)} IS NOT NULL", f"({blank})"]
    suspicious += [f"({p.bad})" for p in plan.fields]
    suspicious += [sql for _, sql in plan.checks if sql]
    for k, (check, p, sql) in enumerate(plan.value_checks):
        distinct = cur.execute(f"SELECT approx_count_distinct({col(p.index)}) FROM {table}").fetchone()[0]
        if distinct > DISTINCT_IN_PYTHON:
            suspicious.append(sql)  # mostly unique values (e.g. tax ids): the SQL twin on every row is cheaper
        else:
            _bad_values_table(cur, f"{table}_bad{k}", check, p, table)
            suspicious.append(f"{col(p.index)} IN (SELECT v FROM {table}_bad{k})")
    canon_flags = "[" + ", ".join(f"coalesce({p.canon}, false)" for p in plan.fields) + "]"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE suspicious AS SELECT rowid AS r, {row_number_sql(src)} AS rn, "
                f"{canon_flags} AS canon, {', '.join(col(i) for i in range(1, plan.width + 1))} FROM {table} "
                f"WHERE {' OR '.join(suspicious)}")


def _check_suspicious_rows(cur, plan):
    """frictionless's verdict on each suspicious row: ({row number: errors}, value patches, rows checked, warnings)."""
    handlers = create_cell_handlers(plan.expected)
    check_objs = [(c, custom_checks.CHECKS[c["type"]].from_descriptor(
        {k: v for k, v in c.items() if k != "severity"})) for c, _ in plan.checks]
    row_errors, patches, checked, flagged = {}, [], 0, []
    result = cur.execute("SELECT * FROM suspicious ORDER BY r")
    while True:
        batch = result.fetchmany(10000)
        if not batch:
            break
        for rec in batch:
            r, number, canon, cells = rec[0], rec[1], rec[2], list(rec[3:])
            checked += 1
            while cells and cells[-1] is None:
                cells.pop()
            row, errs, warns = _row_errors(cells, number, handlers, check_objs)
            flagged.extend(warns)
            if errs:
                row_errors[number] = errs
                continue
            for p in plan.fields:
                # An odd-but-valid cell (e.g. "1_000"): keep frictionless's value for loading.
                if not p.python_only and not canon[p.index - 1] and row[p.field.name] is not None:
                    patches.append((r, p.index, str(row[p.field.name])))
    return row_errors, patches, checked, flagged


def _flag_warnings(flagged):
    """One warning per flagged-row note (warning-severity checks), with the first rows it names."""
    by_note = {}
    for e in flagged:
        by_note.setdefault(e.note, []).append(e.row_number)
    return [f"{len(rows)} row(s) flagged (warning, not an error): {note}; rows "
            + ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "") for note, rows in by_note.items()]


def _store_patches(cur, plan, patches):
    cur.execute(f"CREATE OR REPLACE TABLE {plan.table}_patch (r BIGINT, f INTEGER, v VARCHAR)")
    if patches:
        cur.executemany(f"INSERT INTO {plan.table}_patch VALUES (?, ?, ?)", patches)


def _task(src, labels, errs, warnings, rows, started, schema):
    return {
        "name": re.sub(r"\.(csv|tsv|txt)(\.gz)?$", "", src.place.rsplit("/", 1)[-1]).lower(),
        "type": "table",
        "valid": not errs,
        "place": src.place,
        "labels": [str(x) for x in labels],
        "stats": {"errors": len(errs), "warnings": len(warnings), "seconds": round(time.perf_counter() - started, 3),
                  "md5": src.md5, "sha256": src.sha256, "bytes": src.bytes, "fields": len(schema.fields),
                  "rows": rows},
        "warnings": warnings,
        "errors": [e.to_descriptor() for e in errs],
    }
