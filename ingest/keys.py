"""Typed values of a checked table (patched where frictionless read an odd cell) and the
table-wide checks over them: primary key and unique, in frictionless's wording."""
from frictionless import errors as ferrors


def col(i):
    """The raw-table column of expected field number i (1-based)."""
    return f"c{i}"


def typed_sql(plan, i, patched=False):
    """SQL for the typed value of expected field i; with `patched`, odd-but-valid cells come from p<i>.v."""
    p = plan.fields[i]
    if p.python_only:
        return f"CASE WHEN NOT {p.isnull} THEN {p.value} END"
    fallback = f"TRY_CAST(p{p.index}.v AS {p.duck})" if patched else "NULL"
    return f"CASE WHEN {p.isnull} THEN NULL WHEN {p.canon} THEN {p.value} ELSE {fallback} END"


def typed_from(cur, plan):
    """FROM clause over `raw` joining the patch rows each field needs; returns (sql, patched field set)."""
    patch = f"{plan.table}_patch"
    fields = {f for (f,) in cur.execute(f"SELECT DISTINCT f FROM {patch}").fetchall()}
    joins = "".join(f" LEFT JOIN (SELECT r, v FROM {patch} WHERE f = {f}) p{f} ON p{f}.r = raw._rowid" for f in sorted(fields))
    return f"(SELECT rowid AS _rowid, * FROM {plan.table}) raw{joins}", fields


def key_errors(cur, plan, rn, src, row_errors):
    """primary-key and unique errors from window queries over typed values, in frictionless's wording."""
    source, patched = typed_from(cur, plan)

    def value(i):
        return typed_sql(plan, i, patched=plan.fields[i].index in patched)

    for i in plan.unique:
        name = plan.fields[i].field.name
        sql = (f"SELECT rn, prev, cells FROM (SELECT {rn} AS rn, v, lag({rn}) OVER (PARTITION BY v ORDER BY _rowid) AS prev, "
               f"{_cells_sql(plan)} AS cells FROM (SELECT raw.*, {value(i)} AS v FROM {source}) raw WHERE v IS NOT NULL) "
               f"WHERE prev IS NOT NULL ORDER BY rn")
        for number, prev, cells in cur.execute(sql).fetchall():
            err = ferrors.UniqueError(note=f"the same as in the row at position {prev}", cells=_cells(cells),
                                      row_number=number, cell=str(cells[i] if i < len(cells) else ""),
                                      field_name=name, field_number=i + 1)
            row_errors.setdefault(number, []).append(err)
    if not plan.pk:
        return
    keys = ", ".join(f"{value(i)} AS k{i}" for i in plan.pk)
    part = ", ".join(f"k{i}" for i in plan.pk)
    all_null = " AND ".join(f"k{i} IS NULL" for i in plan.pk)
    sql = (f"SELECT rn, prev, allnull, cells FROM (SELECT {rn} AS rn, ({all_null}) AS allnull, "
           f"CASE WHEN NOT ({all_null}) THEN lag({rn}) OVER (PARTITION BY ({all_null}), {part} ORDER BY _rowid) END AS prev, "
           f"{_cells_sql(plan)} AS cells FROM (SELECT raw.*, {keys} FROM {source}) raw) WHERE allnull OR prev IS NOT NULL ORDER BY rn")
    for number, prev, allnull, cells in cur.execute(sql).fetchall():
        note = 'cells composing the primary keys are all "None"' if allnull else f"the same as in the row at position {prev}"
        row_errors.setdefault(number, []).append(ferrors.PrimaryKeyError(note=note, cells=_cells(cells), row_number=number))
    for b in src.blank_rows:
        row_errors[b].append(ferrors.PrimaryKeyError(note='cells composing the primary keys are all "None"', cells=[],
                                                     row_number=b))


def _cells_sql(plan):
    return "[" + ", ".join(col(i) for i in range(1, plan.width + 1)) + "]"


def _cells(cells):
    cells = list(cells)
    while cells and cells[-1] is None:
        cells.pop()
    return ["" if c is None else c for c in cells]
