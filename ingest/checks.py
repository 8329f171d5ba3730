"""Khlang's custom checks, declared in validators/*.checklist.json as `khlang/<name>`.

Each check has one meaning and two runners: a SQL expression for the DuckDB engine and a
frictionless Check for the frictionless-py fallback; both call the parsers in catalog/thaiformats.py
(the SQL through its macros), and the test suite holds them to the same verdicts.
"""
import json
from decimal import Decimal

import attrs
from frictionless import Check, Plugin, errors, system

from catalog import thaiformats as thai


@attrs.define(kw_only=True, repr=False)
class ThaiDateError(errors.CellError):
    type = "thai-date"
    title = "Thai Date Error"
    description = "The value is not a date in a Thai form (29 พ.ย. 67, 29/11/2567, 2024-11-29)."
    template = 'The cell "{cell}" in row at position "{rowNumber}" and field "{fieldName}" is not a Thai date: {note}'


@attrs.define(kw_only=True, repr=False)
class BeYearError(errors.CellError):
    type = "be-year"
    title = "Buddhist Era Year Error"
    description = "The value should be a Buddhist Era year (2400-2800); a CE year here is a common mistake."
    template = 'The cell "{cell}" in row at position "{rowNumber}" and field "{fieldName}" is not a BE year: {note}'


@attrs.define(kw_only=True, repr=False)
class ThaiTinError(errors.CellError):
    type = "thai-tin"
    title = "Thai Tax ID Error"
    description = "A Thai tax id has 13 digits with a mod-11 check digit (masked ids end in x)."
    template = 'The cell "{cell}" in row at position "{rowNumber}" and field "{fieldName}" is not a valid tax id: {note}'


@attrs.define(kw_only=True, repr=False)
class SplitSumError(errors.CellError):
    type = "split-sum"
    title = "Split Sum Error"
    description = "The parts of a split (e.g. the province split of a budget line) do not add up to its total."
    template = 'The split in row at position "{rowNumber}" and field "{fieldName}" does not add up: {note}'


def _raw(row, name):
    """The cell as it was in the file (frictionless keeps typed values in row[name])."""
    for number, fname in enumerate(row.field_names):
        if fname == name:
            return row.cells[number] if number < len(row.cells) else None
    return None


def _one_field(check, row, error_class):
    """A one-field check on a row: its typed value (None when missing or mistyped) through bad_value."""
    if check.field_name not in row.field_names or row[check.field_name] is None:
        return
    note = check.bad_value(row[check.field_name])
    if note:
        yield _cell_error(error_class, row, check.field_name, note)


def _cell_error(cls, row, name, note):
    number = row.field_names.index(name) + 1
    raw = _raw(row, name)
    return cls(note=note, cells=[str(c) if c is not None else "" for c in row.cells], row_number=row.row_number,
               cell="" if raw is None else str(raw), field_name=name, field_number=number)


@attrs.define(kw_only=True, repr=False)
class thai_date(Check):
    """Thai date cells parse (blank and '-' allowed)."""

    type = "khlang/thai-date"
    Errors = [ThaiDateError]
    field_name: str

    metadata_profile_patch = {"required": ['fieldName'], "properties": {"fieldName": {"type": "string"}}}

    def bad_value(self, value):
        try:
            thai.parse_thai_date(str(value))
        except ValueError:
            return "expected d ม.ค. yy, dd/mm/yyyy or yyyy-mm-dd"
        return None

    def validate_row(self, row):
        yield from _one_field(self, row, ThaiDateError)


@attrs.define(kw_only=True, repr=False)
class be_year(Check):
    """Integer year cells are in the Buddhist Era (2400-2800)."""

    type = "khlang/be-year"
    Errors = [BeYearError]
    field_name: str

    metadata_profile_patch = {"required": ['fieldName'], "properties": {"fieldName": {"type": "string"}}}

    def bad_value(self, value):
        if not isinstance(value, int) or isinstance(value, bool) or 2400 <= value <= 2800:
            return None
        return f"{value} is outside 2400-2800" + (f" (CE? BE would be {value + 543})" if 1900 <= value <= 2300 else "")

    def validate_row(self, row):
        yield from _one_field(self, row, BeYearError)


@attrs.define(kw_only=True, repr=False)
class thai_tin(Check):
    """Tax ids have 13 digits and a valid check digit, or are masked with x."""

    type = "khlang/thai-tin"
    Errors = [ThaiTinError]
    field_name: str

    metadata_profile_patch = {"required": ['fieldName'], "properties": {"fieldName": {"type": "string"}}}

    def bad_value(self, value):
        return "not 13 digits with a valid check digit" if thai.tin_status(str(value)) == "invalid" else None

    def validate_row(self, row):
        yield from _one_field(self, row, ThaiTinError)


@attrs.define(kw_only=True, repr=False)
class not_less_than(Check):
    """One number field is at least another (e.g. budget >= reference price) when both are present."""

    type = "khlang/not-less-than"
    Errors = [errors.RowConstraintError]
    field_name: str
    other_field: str

    metadata_profile_patch = {"required": ['fieldName', 'otherField'], "properties": {"fieldName": {"type": "string"}, "otherField": {"type": "string"}}}

    def validate_row(self, row):
        names = row.field_names
        if self.field_name not in names or self.other_field not in names:
            return
        a, b = row[self.field_name], row[self.other_field]
        if a is not None and b is not None and a < b:
            yield errors.RowConstraintError.from_row(row, note=not_less_than_note(self.field_name, self.other_field))


def not_less_than_note(a, b):
    return f'the row constraint to conform is "{a} >= {b}"'


@attrs.define(kw_only=True, repr=False)
class split_sum(Check):
    """The `part` amounts of a JSON list field add up to `totalField`."""

    type = "khlang/split-sum"
    Errors = [SplitSumError]
    field_name: str
    part: str
    total_field: str

    metadata_profile_patch = {"required": ['fieldName', 'part', 'totalField'], "properties": {"fieldName": {"type": "string"}, "part": {"type": "string"}, "totalField": {"type": "string"}}}

    def validate_row(self, row):
        parts, total = row[self.field_name], row[self.total_field]
        if parts is None or total is None:
            return
        if isinstance(parts, str):
            parts = json.loads(parts)
        got = sum(Decimal(str(p.get(self.part) or 0)) for p in parts if isinstance(p, dict))
        if got != Decimal(str(total)):
            yield _cell_error(SplitSumError, row, self.field_name, f"{self.part} adds up to {got}, {self.total_field} is {total}")


CHECKS = {cls.type: cls for cls in (thai_date, be_year, thai_tin, not_less_than, split_sum)}


class KhlangPlugin(Plugin):
    """Lets frictionless-py run our checks when the engine falls back to it."""

    def select_check_class(self, type=None):
        return CHECKS.get(type)

    def select_error_class(self, type=None):
        return {cls.type: cls for cls in (ThaiDateError, BeYearError, ThaiTinError, SplitSumError)}.get(type)


system.register("khlang", KhlangPlugin())


def sql_check(check, col, typed, cell_sql):
    """(bad-row SQL, error class, note) for a check; `col(name)` gives a field's raw cell SQL, `typed` its value."""
    kind = check["type"]
    name = check.get("fieldName")
    if kind == "khlang/thai-date":
        return f"{typed(name)} IS NOT NULL AND khl_thai_date({cell_sql(name)}) IS NULL", ThaiDateError, \
            "expected d ม.ค. yy, dd/mm/yyyy or yyyy-mm-dd"
    if kind == "khlang/be-year":
        return f"{typed(name)} NOT BETWEEN 2400 AND 2800", BeYearError, None
    if kind == "khlang/thai-tin":
        return f"{typed(name)} IS NOT NULL AND khl_tin_status({cell_sql(name)}) = 'invalid'", ThaiTinError, \
            "not 13 digits with a valid check digit"
    if kind == "khlang/not-less-than":
        other = check["otherField"]
        return f"{typed(name)} < {typed(other)}", errors.RowConstraintError, not_less_than_note(name, other)
    if kind == "khlang/split-sum":
        part = check["part"].replace("'", "")
        return (f"{typed(name)} IS NOT NULL AND {typed(check['totalField'])} IS NOT NULL AND "
                f"coalesce(list_sum(list_transform(CAST(json_extract({cell_sql(name)}, '$[*].{part}') AS VARCHAR[]), "
                f"lambda x: TRY_CAST(x AS DECIMAL(38,4)))), 0) <> {typed(check['totalField'])}"), SplitSumError, None
    raise KeyError(kind)
