"""One query path for the cube API and the explorer pages: Babbage's aggregate, facts and members, each built on
a Query (spending/query.py) and answered with one statement (two for a total or summary)."""
from decimal import Decimal

from . import flags
from .cubes import CubeError
from .query import Query, select, split

MAX_PAGE_SIZE = 10000
MAX_FACTS_PAGE = 1000


def _number(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _int_param(params, name, default, lo, hi):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise CubeError(f'"{name}" must be a whole number, not "{raw}"') from None
    return max(lo, min(hi, value))


PARAMETERS = {   # what each endpoint reads; anything else is a 400 naming these
    "aggregate": ("drilldown", "cut", "order", "aggregates", "page", "pagesize", "q", "amount_min", "amount_max",
                  "project_id", "fiscal_year", "format", "lang"),
    "facts": ("cut", "fields", "order", "page", "pagesize", "q", "amount_min", "amount_max", "project_id",
              "fiscal_year", "format", "lang"),
    "members": ("cut", "page", "pagesize", "fiscal_year", "format", "lang"),
}


def check_parameters(what, params):
    """A CubeError listing the allowed names when the request carries one the endpoint does not read."""
    allowed = PARAMETERS[what]
    unknown = sorted(k for k in params if k not in allowed)
    if unknown:
        raise CubeError(f'unknown parameter{"s" if len(unknown) > 1 else ""} {", ".join(map(repr, unknown))}', list(allowed))


def _measures(q, names, rollup):
    out = []
    for agg in names:
        m = next((m for m in q.cube.measures if (m.name == "_count" and agg == "_count") or f"{m.name}.sum" == agg), None)
        if m is None:
            raise CubeError(f'unknown aggregate "{agg}"',
                            [("_count" if m.name == "_count" else f"{m.name}.sum") for m in q.cube.measures])
        out.append((agg, m.rollup_sql if rollup else m.fact_sql))
    return out


def aggregate(cur, cube, folder, manifest, params, visible):
    """Babbage's /aggregate: cells grouped by the drilldown, a summary, paging and order."""
    check_parameters("aggregate", params)
    drill_names = [r.partition(".")[0] for r in split(params.get("drilldown"))]
    q = Query(cur, cube, folder, manifest, visible, params, drill=drill_names)
    drill = [q.ref(r) for r in split(params.get("drilldown"))]
    if any(d.name == "flag" for d, _ in drill):
        raise CubeError("flag can be cut on, not drilled down")
    drill_dims = list(dict.fromkeys(d.name for d, _ in drill))
    agg_names = split(params.get("aggregates")) or [("_count" if m.name == "_count" else f"{m.name}.sum")
                                                     for m in cube.measures]
    src, rollup = q.source_file(q.needed(drill_dims + q.cut_dims))
    measures = _measures(q, agg_names, rollup)
    columns = []   # (output key, SQL)
    for dname in drill_dims:
        dim = cube.dimension(dname)
        for attr, expr in dim.attributes.items():
            columns.append((f"{dname}.{attr}", expr))
    allowed_order = [k for k, _ in columns] + drill_dims + agg_names
    order = []
    for part in split(params.get("order"), "|,"):
        ref, _, direction = part.partition(":")
        direction = (direction or "asc").lower()
        if ref not in allowed_order or direction not in ("asc", "desc"):
            raise CubeError(f'cannot order by "{part}"', allowed_order)
        order.append((ref if ref in [k for k, _ in columns] + agg_names else f"{ref}.{cube.dimension(ref).key}", direction))
    if not order:
        order = [(agg_names[0], "desc")] if agg_names else []
    page = _int_param(params, "page", 1, 1, 10**6)
    size = _int_param(params, "pagesize", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    joins = q.joins(drill_dims + q.joined_cut_dims)
    where = " AND ".join(q.where)
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(columns)))}" if columns else ""
    order_sql = ", ".join(f'"{k}" {d.upper()} NULLS LAST' for k, d in order)
    sql = (f"SELECT {select(columns + measures)}, count(*) OVER () AS __total FROM {src} AS f {joins} WHERE {where}{group}"
           + (f" ORDER BY {order_sql}" if order_sql else "") + f" LIMIT {size} OFFSET {(page - 1) * size}")
    res = cur.execute(sql, q.args)
    names = [d[0] for d in res.description]
    rows = res.fetchall()
    cells, total = [], 0
    for row in rows:
        cell = {}
        for k, v in zip(names, row):
            if k == "__total":
                total = v
            else:
                cell[k] = _number(v)
        for dname in drill_dims:
            cell[dname] = cell[f"{dname}.{cube.dimension(dname).key}"]
        cells.append(cell)
    if columns and page == 1 and total <= size:
        # Every cell is on this page and every measure is a sum or a count, so the cells add up to the summary.
        summary = {name: _number(sum((row[names.index(name)] or 0) for row in rows)) for name, _ in measures}
    else:
        srow = cur.execute(f"SELECT {select(measures)} FROM {src} AS f {q.joins(q.joined_cut_dims)} WHERE {where}",
                           q.args).fetchone()
        summary = {name: _number(v) if v is not None else 0 for (name, _), v in zip(measures, srow)}
    # Without a drilldown the one summary cell is the answer.
    return {"status": "ok", "cells": cells, "total_cell_count": total if columns else 1,
            "page": page, "page_size": size, "summary": summary, "aggregates": agg_names,
            "drilldown": [f"{d.name}.{a}" if a != d.key else d.name for d, a in drill],
            "cut": [f"{d}.{a}:{v}" for d, a, vs in q.cuts for v in vs], "order": [list(o) for o in order],
            "attributes": [k for k, _ in columns], "source": "rollup" if rollup else "facts", **q.scope()}


def facts(cur, cube, folder, manifest, params, visible):
    """Babbage's /facts: the fact rows (with readable names) that match the cuts, paged."""
    check_parameters("facts", params)
    q = Query(cur, cube, folder, manifest, visible, params)
    q.facts_only = True
    fields = dict(cube.fact_fields)
    wanted = split(params.get("fields"), "|,") or list(fields)
    for w in wanted:
        if w not in fields:
            raise CubeError(f'unknown field "{w}"', list(fields))
    order = []
    for part in split(params.get("order"), "|,"):
        ref, _, direction = part.partition(":")
        direction = (direction or "asc").lower()
        if ref not in fields or direction not in ("asc", "desc"):
            raise CubeError(f'cannot order by "{part}"', list(fields))
        order.append(f"{fields[ref]} {direction.upper()} NULLS LAST")
    order.append("f.source_id, f.source_row")
    page = _int_param(params, "page", 1, 1, 10**6)
    size = _int_param(params, "pagesize", 100, 1, MAX_FACTS_PAGE)
    rows = cur.execute(q.fact_rows_sql([(w, fields[w]) for w in wanted], order, (page, size)), q.args).fetchall()
    total = cur.execute(q.count_sql(), q.args).fetchone()[0]
    data = []
    for row in rows:
        rec = {w: _number(v) for w, v in zip(wanted, row)}
        if "flags" in rec:
            rec["flags"] = [k for k, bit in flags.CONTRACT_FLAGS.items() if (rec["flags"] or 0) & bit]
        data.append(rec)
    return {"status": "ok", "data": data, "total_fact_count": total, "page": page, "page_size": size,
            "fields": wanted, "cut": [f"{d}.{a}:{v}" for d, a, vs in q.cuts for v in vs], **q.scope()}


def members(cur, cube, folder, manifest, dimension, params, visible):
    """Babbage's /members/<dimension>: the dimension's members that occur in the (cut) facts."""
    check_parameters("members", params)
    q = Query(cur, cube, folder, manifest, visible, params, drill=[dimension])
    dim = cube.dimension(dimension)
    if dim.name == "flag":
        data = [{"flag.name": k} for k in flags.CONTRACT_FLAGS]
        return {"status": "ok", "data": data, "total_member_count": len(data), "fields": ["flag.name"]}
    src, _ = q.source_file(q.needed([dim.name] + q.cut_dims))
    page = _int_param(params, "page", 1, 1, 10**6)
    size = _int_param(params, "pagesize", 1000, 1, MAX_PAGE_SIZE)
    cols = [(f"{dim.name}.{a}", e) for a, e in dim.attributes.items()]
    sql = (f"SELECT DISTINCT {select(cols)} FROM {src} AS f "
           f"{q.joins([dim.name] + q.joined_cut_dims)} WHERE {' AND '.join(q.where)}")
    res = cur.execute(f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY 1 LIMIT {size} OFFSET {(page - 1) * size}",
                      q.args)
    rows = res.fetchall()
    data = [{k: _number(v) for (k, _), v in zip(cols, row)} for row in rows]
    return {"status": "ok", "data": data, "total_member_count": rows[0][-1] if rows else 0, "page": page,
            "page_size": size, "fields": [k for k, _ in cols], **q.scope()}
