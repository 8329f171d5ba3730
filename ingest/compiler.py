"""Compiling a Table Schema and checklist into SQL predicates over text cells (a TablePlan).

For each field: when a cell counts as missing, when SQL can type it alone (its canonical form),
its typed value, and which rows might break a constraint; cells outside the canonical form are left
to frictionless-py's own reader (see engine). Features not covered raise Unsupported.
"""
from dataclasses import dataclass, field

from frictionless import Schema, errors as ferrors
from frictionless.fields import AnyField

from . import checks as custom_checks
from .keys import col

SPARE = 4
SQL_CHECKS = {"baseline"} | set(custom_checks.CHECKS)
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
    cons = dict(f.constraints)
    canon, value, duck, python_only = _typing(f, c, cons)
    bad = [isnull] if cons.get("required") else []
    if not python_only:
        canon, more = _constraint_sql(f, c, cons, canon, value, cur, strict)
        bad += more
    plan = FieldPlan(f, index, isnull, canon, value, duck, python_only=python_only)
    not_null = f"NOT {isnull}"
    suspicious = [f"({not_null} AND NOT ({canon}))"]
    if bad:
        suspicious.append(f"({not_null} AND ({' OR '.join(bad[1:] if cons.get('required') else bad) or 'false'}))")
        if cons.get("required"):
            suspicious.append(isnull)
    plan.bad = " OR ".join(suspicious)
    return plan


def _typing(f, c, cons):
    """(canon, value, duck, python_only) of a field: SQL true when a cell is in canonical form, its typed value,
    its DuckDB type, and whether only frictionless's Python reader can judge its cells."""
    kind, fmt = f.type, getattr(f, "format", "default")
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
    return canon, value, duck, python_only


def _constraint_sql(f, c, cons, canon, value, cur, strict):
    """(canon, [SQL true when a cell breaks a constraint]) of a field's bounds, lengths, pattern and enum."""
    kind, reader, bad = f.type, f.create_value_reader(), []
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
    return canon, bad


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
