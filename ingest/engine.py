"""Frictionless Table Schema validation compiled to DuckDB SQL, with frictionless-py's report.

How it stays equal to `frictionless validate` while running at DuckDB speed:
- DuckDB reads every cell as text (NULL only for a cell the row does not have) and SQL decides which
  rows *might* be wrong: a missing or extra cell, a blank row, a failed constraint, a failed custom
  check, or a cell not in the canonical form SQL can type by itself (e.g. `1_000`, ` 12`).
- Only those rows go through frictionless-py's own Row and cell readers, so their errors are exactly
  frictionless's; the typed values they yield for odd-but-valid cells are kept as patches for loading.
- Table-wide checks (primary key, unique) run as SQL window queries over the typed values.
Anything the compiler does not cover raises Unsupported and the caller runs frictionless-py instead.
"""
import re
import time
from dataclasses import dataclass, field

from frictionless import Schema, errors as ferrors
from frictionless.table.row import Row, create_cell_handlers

from . import checks as custom_checks
from .keys import col, key_errors
from .sourcefile import NotUtf8, SourceFile

SPARE = 4
NULL_MARK = "\x01khlang-missing\x01"
SQL_CHECKS = {"baseline"} | set(custom_checks.CHECKS)
LIMIT_ERRORS = 1000
DISTINCT_IN_PYTHON = 50000
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"


class Unsupported(Exception):
    """The SQL compiler does not cover this schema/checklist/file feature (the reason is the message)."""


def lit(value):
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class FieldPlan:
    """How SQL reads one expected field: null test, canonical-form test, typed value, constraint test."""

    field: object
    index: int
    isnull: str
    canon: str
    value: str
    duck: str
    bad: str = "false"
    python_only: bool = False


@dataclass
class TablePlan:
    """Everything needed to check and load one table."""

    schema: Schema
    expected: list
    fields: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    header_errors: list = field(default_factory=list)
    width: int = 0
    pk: list = field(default_factory=list)
    unique: list = field(default_factory=list)
    table: str = "raw"
    value_checks: list = field(default_factory=list)


def _missing_values(f, schema):
    return f.missing_values if f.has_defined("missing_values") else schema.missing_values


def _bounds_sql(f, value, reader):
    parts = []
    for name, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<="), ("exclusiveMaximum", ">=")):
        if name in f.constraints:
            bound = reader(f.constraints[name])
            if bound is None:
                raise Unsupported(f'constraint "{name}" of field "{f.name}" cannot be read')
            parts.append(f"{value} {op} {lit(bound)}")
    return parts


def _plan_field(f, index, schema, cur, strict=True):
    c = col(index)
    mv = _missing_values(f, schema)
    isnull = f"({c} IS NULL" + (f" OR {c} IN ({', '.join(lit(v) for v in mv)})" if mv else "") + ")"
    kind, fmt = f.type, getattr(f, "format", "default")
    reader = f.create_value_reader()
    cons = dict(f.constraints)
    python_only = False
    if kind in ("any",):
        canon, value, duck = "true", c, "VARCHAR"
    elif kind == "string":
        canon, value, duck = ("true" if fmt == "default" else "false"), c, "VARCHAR"
    elif kind == "integer":
        canon, value, duck = f"regexp_full_match({c}, '[+-]?[0-9]{{1,18}}')", f"TRY_CAST({c} AS BIGINT)", "BIGINT"
    elif kind == "number":
        text = c
        if {"group_char", "decimal_char", "bare_number"} & set(f.list_defined()):
            if not f.bare_number:
                canon = "false"
            if f.group_char:
                text = f"replace({text}, {lit(f.group_char)}, '')"
            if f.decimal_char != ".":
                text = f"CASE WHEN contains({c}, '.') THEN 'x' ELSE replace({text}, {lit(f.decimal_char)}, '.') END"
        canon = "false" if not f.bare_number else f"(regexp_full_match({text}, '{_NUMBER}') AND length({text}) <= 30)"
        value, duck = f"TRY_CAST({text} AS DECIMAL(38,9))", "DECIMAL(38,9)"
    elif kind == "boolean":
        trues, falses = f.true_values, f.false_values
        canon = f"{c} IN ({', '.join(lit(v) for v in trues + falses)})"
        value, duck = f"({c} IN ({', '.join(lit(v) for v in trues)}))", "BOOLEAN"
    elif kind == "date" and fmt == "default":
        canon = f"(regexp_full_match({c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND {c} >= '0001' AND TRY_CAST({c} AS DATE) IS NOT NULL)"
        value, duck = f"TRY_CAST({c} AS DATE)", "DATE"
    elif kind == "year":
        canon, value, duck = f"regexp_full_match({c}, '[0-9]{{4}}')", f"TRY_CAST({c} AS INTEGER)", "INTEGER"
    elif kind in ("array", "object") and not ({"minLength", "maxLength"} & set(cons)):
        want = "ARRAY" if kind == "array" else "OBJECT"
        canon, value, duck = f"(json_valid({c}) AND json_type(TRY_CAST({c} AS JSON)) = '{want}')", c, "VARCHAR"
    else:
        # datetime, time, yearmonth, array, object, geo*, duration, list, formatted dates: every
        # present cell goes through frictionless's reader and the text is kept as loaded.
        canon, value, duck, python_only = "false", c, "VARCHAR", True
    bad = []
    if cons.get("required"):
        bad.append(isnull)
    if not python_only:
        typed = f"CASE WHEN {canon} THEN {value} END"
        if kind in ("integer", "number", "date", "year"):
            bad += _bounds_sql(f, typed, reader)
        if kind in ("string", "any") and ("minLength" in cons or "maxLength" in cons):
            if "minLength" in cons:
                bad.append(f"length({c}) < {int(cons['minLength'])}")
            if "maxLength" in cons:
                bad.append(f"length({c}) > {int(cons['maxLength'])}")
        if "pattern" in cons and kind != "string" and not strict:
            cons.pop("pattern")
        if "pattern" in cons:
            if kind != "string":
                raise Unsupported(f'pattern constraint on a {kind} field "{f.name}"')
            try:
                cur.execute("SELECT regexp_full_match('', ?)", [cons["pattern"]])
            except Exception:
                if strict:
                    raise Unsupported(f'pattern of field "{f.name}" is not RE2-compatible') from None
                cons.pop("pattern")
            # Python's \d and \w match Thai digits/letters, RE2's do not: non-ASCII cells go to Python.
            canon = f"({canon} AND regexp_full_match({c}, '[\\x00-\\x7F]*'))"
            typed = f"CASE WHEN {canon} THEN {value} END"
            bad.append(f"NOT regexp_full_match({c}, {lit(cons['pattern'])})")
        if "enum" in cons:
            items = [reader(v) for v in cons["enum"]]
            if kind == "string" or kind == "any":
                bad.append(f"{c} NOT IN ({', '.join(lit(v) for v in items if v is not None) or 'NULL'})")
            else:
                bad.append(f"{typed} NOT IN ({', '.join(lit(v) for v in items if v is not None) or 'NULL'})")
    plan = FieldPlan(f, index, isnull, canon, value, duck, python_only=python_only)
    not_null = f"NOT {isnull}"
    suspicious = [f"({not_null} AND NOT ({canon}))"]
    if bad:
        suspicious.append(f"({not_null} AND ({' OR '.join(bad[1:] if cons.get('required') else bad) or 'false'}))")
        if cons.get("required"):
            suspicious.append(isnull)
    plan.bad = " OR ".join(suspicious)
    return plan


def header_errors(labels, fields):
    """frictionless's header errors for positional field matching (fieldsMatch "exact")."""
    out = []
    lab = [str(x) for x in labels]
    for number, label in enumerate(lab[len(fields):], start=len(fields) + 1):
        out.append(ferrors.ExtraLabelError(note="", labels=lab, row_numbers=[1], label=label, field_name="",
                                           field_number=number))
    for number, f in enumerate(fields[len(lab):], start=len(lab) + 1):
        out.append(ferrors.MissingLabelError(note="", labels=lab, row_numbers=[1], label="", field_name=f.name,
                                             field_number=number))
    for number, (f, label) in enumerate(zip(fields, lab), start=1):
        if not label:
            out.append(ferrors.BlankLabelError(note="", labels=lab, row_numbers=[1], label="", field_name=f.name,
                                               field_number=number))
            continue
        dups = [str(n) for n, seen in enumerate(lab[:number - 1], start=1) if seen == label]
        if dups:
            out.append(ferrors.DuplicateLabelError(note=f'at position "{", ".join(dups)}"', labels=lab, row_numbers=[1],
                                                   label=label, field_name=f.name, field_number=number))
        elif label != f.name:
            out.append(ferrors.IncorrectLabelError(note="", labels=lab, row_numbers=[1], label=label,
                                                   field_name=f.name, field_number=number))
    return out


def compile_plan(schema, checklist, labels, cur, strict=True):
    """A TablePlan for this schema, checklist and header, or Unsupported."""
    def unsupported(reason):
        if strict:
            raise Unsupported(reason)

    if schema.foreign_keys:
        unsupported("foreign keys")
    if getattr(schema, "fields_match", "exact") not in (None, "exact"):
        raise Unsupported(f'fieldsMatch "{schema.fields_match}"')
    for check in checklist.get("checks", []):
        if check.get("type") not in SQL_CHECKS:
            unsupported(f'check "{check.get("type")}"')
    if checklist.get("pickErrors") or checklist.get("skipErrors"):
        unsupported("pickErrors/skipErrors")
    checklist = {"checks": [c for c in checklist.get("checks", []) if c.get("type") in SQL_CHECKS]}
    fields = list(schema.fields)
    expected = []
    for number, label in enumerate(labels, start=1):
        if number <= len(fields):
            expected.append(fields[number - 1])
        else:
            # frictionless pairs an extra label with an artificial `any` field named after it.
            from frictionless.fields import AnyField
            names = {f.name for f in expected}
            name, n = str(label), 2
            while name in names:
                name, n = f"{label}{n}", n + 1
            expected.append(AnyField(name=name, schema=schema))
    plan = TablePlan(schema=schema, expected=expected, width=len(labels) + SPARE)
    plan.header_errors = header_errors(labels, fields)
    for i, f in enumerate(expected, start=1):
        plan.fields.append(_plan_field(f, i, schema, cur, strict))
    names = [f.name for f in expected]
    if schema.primary_key and set(schema.primary_key) <= set(names):
        plan.pk = [names.index(k) for k in schema.primary_key]
    plan.unique = [i for i, f in enumerate(expected) if f.constraints.get("unique")]
    by_name = {p.field.name: p for p in plan.fields}

    def typed(name):
        p = by_name.get(name)
        if p is None:
            raise Unsupported(f'check on unknown field "{name}"')
        return f"(CASE WHEN NOT {p.isnull} AND ({p.canon}) THEN {p.value} END)"

    def cell(name):
        return col(by_name[name].index)

    for check in checklist.get("checks", []):
        if check["type"] == "baseline":
            continue
        named = [check.get(k) for k in ("fieldName", "otherField", "totalField") if check.get(k)]
        if any(n not in by_name for n in named):
            continue  # like the Python checks: a check on a field the file does not have finds nothing
        sql, _, _ = custom_checks.sql_check(check, col, typed, cell)
        if len(named) == 1 and hasattr(custom_checks.CHECKS[check["type"]], "bad_value"):
            # A one-field check depends on the cell text only: see validate for how it runs.
            plan.value_checks.append((check, by_name[named[0]], f"coalesce({sql}, false)"))
            plan.checks.append((check, None))
            continue
        plan.checks.append((check, f"coalesce({sql}, false)"))
    return plan


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
            if "unicode" in str(exc).lower() or "utf-8" in str(exc).lower():
                src.finish_scan()
                raise NotUtf8(src.path) from None
            if parallel == "false" or "parallel" not in str(exc):
                src.finish_scan()
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
        return _task(src, [], [err], [], 0, started, schema), None
    try:
        plan = compile_plan(schema, checklist, src.labels, cur, strict=strict)
    except Unsupported:
        src.finish_scan()
        raise
    plan.table = table
    width = plan.width
    while True:
        read_raw(cur, src, width, table)
        overflow = cur.execute(f"SELECT count(*) FROM {table} WHERE {col(width)} IS NOT NULL").fetchone()[0]
        if not overflow:
            break
        width *= 4  # a row has more extra cells than spare columns: read again, wider
    plan.width = width
    src.finish_scan()
    rn = row_number_sql(src)
    n = len(plan.expected)
    missing = " OR ".join(f"{col(i)} IS NULL" for i in range(1, n + 1)) or "false"
    blank = " AND ".join(p.isnull for p in plan.fields) or "true"
    suspicious = [f"({missing})", f"{col(n + 1)} IS NOT NULL", f"({blank})"]
    suspicious += [f"({p.bad})" for p in plan.fields]
    suspicious += [sql for _, sql in plan.checks if sql]
    for n, (check, p, sql) in enumerate(plan.value_checks):
        distinct = cur.execute(f"SELECT approx_count_distinct({col(p.index)}) FROM {table}").fetchone()[0]
        if distinct > DISTINCT_IN_PYTHON:
            suspicious.append(sql)  # mostly unique values (e.g. tax ids): the SQL twin on every row is cheaper
        else:
            _bad_values_table(cur, f"{table}_bad{n}", check, p, table)
            suspicious.append(f"{col(p.index)} IN (SELECT v FROM {table}_bad{n})")
    canon_flags = "[" + ", ".join(f"coalesce({p.canon}, false)" for p in plan.fields) + "]"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE suspicious AS SELECT rowid AS r, {rn} AS rn, {canon_flags} AS canon, "
                f"{', '.join(col(i) for i in range(1, width + 1))} FROM {table} WHERE {' OR '.join(suspicious)}")
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
    _store_patches(cur, plan, patches)
    total_rows = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] + len(src.blank_rows)
    for b in src.blank_rows:
        row_errors.setdefault(b, []).append(ferrors.BlankRowError(note="", cells=[], row_number=b))
    key_errors(cur, plan, row_number_sql(src, "_rowid"), src, row_errors)
    errs = list(plan.header_errors)
    for number in sorted(row_errors):
        errs.extend(row_errors[number])
    warnings = []
    counts = {}
    for e in errs:
        counts[e.type] = counts.get(e.type, 0) + 1
    if len(errs) > limit_errors:
        errs = errs[:limit_errors]
        warnings.append(f"reached error limit: {limit_errors}")
    by_note = {}
    for e in flagged:
        by_note.setdefault(e.note, []).append(e.row_number)
    for note, rows in by_note.items():
        shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        warnings.append(f"{len(rows)} row(s) flagged (warning, not an error): {note}; rows {shown}")
    task = _task(src, src.labels, errs, warnings, total_rows, started, schema)
    task["khlang"] = {"engine": "duckdb", "errorsByType": counts, "rowsCheckedInPython": checked,
                      "flags": [e.to_descriptor() for e in flagged[:limit_errors]]}
    return task, plan


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
