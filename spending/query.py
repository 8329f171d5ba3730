"""One query path for the cube API and the explorer pages: aggregate, facts and members.

Identifiers come only from the cube definitions; every request value is a bound parameter. A
query reads the smallest rollup that holds every column it needs, else the fact file.
"""
import re
from decimal import Decimal

from catalog.store.packages import visible_package_ids

from . import flags
from .cubes import CubeError

MAX_PAGE_SIZE = 10000
MAX_FACTS_PAGE = 1000
MAX_RESOLVED_KEYS = 5000
_FACT_COLUMN = re.compile(r"\bf\.(\w+)")
_OTHER_COLUMN = re.compile(r"\w\.\w")


def visible_source_ids(db, manifest):
    """Source ids whose dataset is public and active right now (private data never reaches a cube)."""
    ids = {s["package_id"]: s["source_id"] for s in manifest["sources"]}
    if not ids:
        return []
    public = visible_package_ids(db, list(ids))
    return sorted(s["source_id"] for s in manifest["sources"] if s["package_id"] in public)


def _number(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _split(text, seps="|"):
    if not text:
        return []
    out = [text]
    for sep in seps:
        out = [p for part in out for p in part.split(sep)]
    return [p.strip() for p in out if p.strip()]


def _select(pairs):
    """A select list of (output name, SQL) pairs; names come from the cube definitions."""
    return ", ".join(f'{expr} AS "{name}"' for name, expr in pairs)


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


def default_year(manifest, cube_name):
    """The latest fiscal year (BE) the cube's sources itemise (else the latest with any data), or None."""
    years = ((manifest.get("itemised_years") or {}).get(cube_name) or (manifest.get("cube_years") or {}).get(cube_name)
             or manifest.get("fiscal_years") or [])
    return max(years) if years else None


class Query:
    """A parsed request against one cube of one build."""

    def __init__(self, cur, cube, folder, manifest, visible, params, drill=()):
        self.cur, self.cube, self.folder, self.manifest, self.params = cur, cube, folder, manifest, params
        self.where, self.args, self.facts_only = [], [], False
        self.resolved, self.cut_columns = set(), set()
        self.where.append(cube.where)
        self.where.append(f"f.source_id IN ({', '.join(str(int(i)) for i in visible)})" if visible else "false")
        cut_parts = _split(params.get("cut"))
        self.fiscal_year = self._year_scope(cut_parts, drill)
        if isinstance(self.fiscal_year, int):
            cut_parts.append(f"fiscal_year:{self.fiscal_year}")
        self.cuts = self._cuts(cut_parts)
        self.cut_dims = [d for d, _, _ in self.cuts]
        # flag is a column of the facts; resolved cuts filter on integer fact keys.
        self.joined_cut_dims = [d for d in self.cut_dims if d != "flag" and d not in self.resolved]
        if cube.counted and "source" not in self.cut_dims:
            # Without an explicit source, the counted rows add up to the official totals (no double totals).
            self.where.append("f.counted")
        elif cube.counted:
            # A source's own rows only: remainder rows reconcile one source with another.
            self.where.append("NOT f.remainder")
        self._extensions()

    def _year_scope(self, cut_parts, drill):
        """One fiscal year unless the request says otherwise: a year cut, a drilldown by year, a project, or
        fiscal_year=all. Returns the year to add as a cut, "all", or None when the request already decides."""
        raw = str(self.params.get("fiscal_year") or "").strip()
        if raw.lower() == "all":
            return "all"
        if raw:
            if any(p.split(":", 1)[0].split(".", 1)[0].strip() == "fiscal_year" for p in cut_parts):
                raise CubeError("give the fiscal year once: as fiscal_year= or as a fiscal_year cut")
            return int(self._typed(self.cube.dimension("fiscal_year"), "fiscal_year", raw))
        if (any(p.split(":", 1)[0].split(".", 1)[0].strip() == "fiscal_year" for p in cut_parts)
                or "fiscal_year" in drill or self.params.get("project_id")):
            return None
        return default_year(self.manifest, self.cube.name)

    def scope(self):
        """How the answer is scoped in time, for the response body."""
        if self.fiscal_year == "all":
            return {"fiscal_year": "all"}
        if isinstance(self.fiscal_year, int):
            return {"fiscal_year": self.fiscal_year,
                    "fiscal_year_default": not str(self.params.get("fiscal_year") or "").strip()}
        return {}

    def has(self, name):
        """Does this build hold the file? (Builds of an older format lack the newer helper files.)"""
        return (self.folder / (name + ".parquet")).exists()

    def file(self, name):
        return f"read_parquet('{self.folder / (name + '.parquet')}')"

    def ref(self, text):
        """(dimension, attribute) of 'dim' or 'dim.attr'."""
        dim_name, _, attr = text.partition(".")
        dim = self.cube.dimension(dim_name)
        attr = attr or dim.key
        if attr not in dim.attributes:
            raise CubeError(f'unknown attribute "{attr}" of dimension {dim.name}', list(dim.attributes))
        return dim, attr

    def _cuts(self, parts):
        grouped = {}
        for part in parts:
            ref, sep, value = part.partition(":")
            if not sep:
                raise CubeError(f'a cut is "dimension:value", not "{part}"')
            dim, attr = self.ref(ref.strip())
            grouped.setdefault((dim.name, attr), []).append(value.strip())
        out = []
        for (dname, attr), values in grouped.items():
            dim = self.cube.dimension(dname)
            expr = dim.attributes[attr]
            if dname == "flag":
                bits = []
                for v in values:
                    if v not in flags.CONTRACT_FLAGS:
                        raise CubeError(f'unknown flag "{v}"', list(flags.CONTRACT_FLAGS))
                    bits.append(flags.CONTRACT_FLAGS[v])
                self.where.append("(" + " OR ".join(f"(f.flags & {b}) <> 0" for b in bits) + ")")
                self.facts_only = True
                out.append((dname, attr, values))
                continue
            typed = [self._typed(dim, attr, v) for v in values]
            keys = self._resolve(dim, expr, typed)
            if not dim.joins:
                self.resolved.add(dname)   # a cut on a fact column needs no join either
            if keys is not None:
                self.resolved.add(dname)
                self.cut_columns.add(dim.fact_columns[0])
                self.where.append(f"f.{dim.fact_columns[0]} IN ({', '.join('?' * len(keys))})" if keys else "false")
                self.args.extend(keys)
            else:
                self.where.append(f"{expr} IN ({', '.join('?' * len(typed))})")
                self.args.extend(typed)
            out.append((dname, attr, values))
        return out

    def _resolve(self, dim, expr, values):
        """The fact-column keys whose dimension member matches, or None to cut through the join.

        A filter on the integer key of sorted facts and rollups skips row groups; a filter on a
        joined name column must join every fact row first (seconds at 10M contracts)."""
        if not dim.joins or len(dim.fact_columns) != 1:
            return None
        alias, table, on = dim.joins[0]
        left, _, right = on.partition(" = ")
        if right != f"f.{dim.fact_columns[0]}" or not left.startswith(f"{alias}."):
            return None
        if left == expr:
            return sorted(set(values))   # already the key itself
        joins = " ".join(f"LEFT JOIN {self.file(t)} AS {a} ON {o}" for a, t, o in dim.joins[1:])
        rows = self.cur.execute(f"SELECT DISTINCT {left} FROM {self.file(table)} AS {alias} {joins} "
                                f"WHERE {expr} IN ({', '.join('?' * len(values))}) LIMIT {MAX_RESOLVED_KEYS + 1}",
                                values).fetchall()
        return None if len(rows) > MAX_RESOLVED_KEYS else sorted(r[0] for r in rows)

    def _typed(self, dim, attr, value):
        if dim.name == "fiscal_year":
            try:
                year = int(value)
            except ValueError:
                raise CubeError(f'fiscal_year must be a year (BE like 2565 or CE like 2022), not "{value}"') from None
            if attr == "ce":
                year += 543
            elif year < 2400:
                year += 543   # a CE year
            if year not in self.manifest["fiscal_years"]:
                raise CubeError(f"no data for fiscal year {year} (BE)", self.manifest["fiscal_years"])
            return year - 543 if attr == "ce" else year
        if dim.types.get(attr) == "integer":
            try:
                return int(value)
            except ValueError:
                raise CubeError(f'{dim.name}.{attr} must be a whole number, not "{value}"') from None
        if dim.joins:
            alias, table, _ = dim.joins[-1]
            found = self.cur_check(f"SELECT 1 FROM {self.file(table)} AS {alias} WHERE {dim.attributes[attr]} = ? LIMIT 1",
                                   [value])
            if not found:
                sample = self.cur_check(f"SELECT DISTINCT {dim.attributes[attr]} FROM {self.file(table)} AS {alias} "
                                        f"ORDER BY 1 LIMIT 30", [], all_rows=True)
                raise CubeError(f'unknown {dim.name}.{attr} "{value}" (see /members/{dim.name} for all)',
                                [r[0] for r in sample])
        return value

    def cur_check(self, sql, args, all_rows=False):
        cur = self.cur
        result = cur.execute(sql, args)
        return result.fetchall() if all_rows else result.fetchone()

    def _extensions(self):
        """Keyword and value-range filters beyond Babbage, used by the procurement search."""
        q = (self.params.get("q") or "").strip()
        text_col = "f.project_name" if self.cube.name == "procurement" else "f.item"
        value_col = "f.price_agree" if self.cube.name == "procurement" else "f.amount"
        if q:
            self.where.append(f"contains({text_col}, ?)")
            self.args.append(q[:200])
            self.facts_only = True
        if self.params.get("project_id") and self.cube.name == "procurement":
            pid = str(self.params["project_id"])[:40]
            self.where.append("f.project_id = ?")
            self.args.append(pid)
            self.facts_only = True
            if self.cube.project_index and self.has(self.cube.project_index):
                # The project's agencies narrow the agency-sorted facts to a few row groups.
                agencies = [r[0] for r in self.cur.execute(
                    f"SELECT agency_id FROM {self.file(self.cube.project_index)} WHERE project_id = ?", [pid]).fetchall()]
                self.where.append(f"f.agency_id IN ({', '.join('?' * len(agencies))})" if agencies else "false")
                self.args.extend(agencies)
                self.cut_columns.add("agency_id")
        for name, op in (("amount_min", ">="), ("amount_max", "<=")):
            raw = self.params.get(name)
            if raw not in (None, ""):
                try:
                    value = Decimal(str(raw).replace(",", ""))
                except ArithmeticError:
                    raise CubeError(f'"{name}" must be a number, not "{raw}"') from None
                self.where.append(f"{value_col} {op} ?")
                self.args.append(value)
                self.facts_only = True

    def source_file(self, needed_columns):
        """(file SQL, use_rollup) for the columns a query needs."""
        if not self.facts_only and self.cube.rollups:
            rollups = self.manifest.get("rollups", {})
            for name in self.cube.rollups:
                keys = set(rollups.get(name, ()))
                sorted_by = self.cube.rollup_needs_cut.get(name)
                if name not in rollups or (sorted_by and sorted_by not in self.cut_columns):
                    continue
                if needed_columns <= keys:
                    return self.file(name), True
        return self.file(self.cube.facts), False

    def needed(self, dim_names):
        cols = {"source_id"}
        for name in dim_names:
            cols |= set(self.cube.dimension(name).fact_columns)
        return cols

    def fact_rows_sql(self, pairs, order, page=None):
        """SELECT of (name, SQL) fact fields that match the request, in `order` (SQL terms); with
        page=(number, size) only that page, its dimension names joined after the cut."""
        exprs = [e for _, e in pairs] + list(order)
        matching = f"FROM {self.file(self.cube.facts)} AS f {self.joins(self.joined_cut_dims)} WHERE {' AND '.join(self.where)}"
        if not page or _OTHER_COLUMN.search(_FACT_COLUMN.sub("", " ".join(order))):
            limit = f" LIMIT {page[1]} OFFSET {(page[0] - 1) * page[1]}" if page else ""
            return (f"SELECT {_select(pairs)} FROM {self.file(self.cube.facts)} AS f "
                    f"{self.joins(self.joined_cut_dims, extra_exprs=exprs)} WHERE {' AND '.join(self.where)} "
                    f"ORDER BY {', '.join(order)}{limit}")
        # Top-N on the fact columns alone, then names for just those rows.
        on_exprs = [on for d in self.cube.dimensions for _, _, on in d.joins]
        cols = sorted(set(_FACT_COLUMN.findall(" ".join(exprs + on_exprs))))
        presorted = self.cube.sorted_facts.get(tuple(order))
        if presorted and not self.joined_cut_dims and self.has(presorted):
            # The copy is stored in this order, so the first matching rows are the page: no sort, early stop.
            matching = f"FROM {self.file(presorted)} AS f WHERE {' AND '.join(self.where)}"
            inner = f"SELECT {', '.join(f'f.{c}' for c in cols)} {matching}"
        else:
            inner = f"SELECT {', '.join(f'f.{c}' for c in cols)} {matching} ORDER BY {', '.join(order)}"
        inner += f" LIMIT {page[1]} OFFSET {(page[0] - 1) * page[1]}"
        return f"SELECT {_select(pairs)} FROM ({inner}) AS f {self.joins([], extra_exprs=exprs)} ORDER BY {', '.join(order)}"

    def count_sql(self):
        """SELECT count(*) of the fact rows that match the request."""
        return (f"SELECT count(*) FROM {self.file(self.cube.facts)} AS f {self.joins(self.joined_cut_dims)} "
                f"WHERE {' AND '.join(self.where)}")

    def joins(self, dim_names, extra_exprs=()):
        seen, out = set(), []
        dims = [self.cube.dimension(n) for n in dim_names]
        for d in self.cube.dimensions:
            wanted = d in dims or any(f"{a}." in e for a, _, _ in d.joins for e in extra_exprs)
            if not wanted:
                continue
            for alias, table, on in d.joins:
                if alias not in seen:
                    seen.add(alias)
                    out.append(f"LEFT JOIN {self.file(table)} AS {alias} ON {on}")
        return " ".join(out)


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
    drill_names = [r.partition(".")[0] for r in _split(params.get("drilldown"))]
    q = Query(cur, cube, folder, manifest, visible, params, drill=drill_names)
    drill = [q.ref(r) for r in _split(params.get("drilldown"))]
    if any(d.name == "flag" for d, _ in drill):
        raise CubeError("flag can be cut on, not drilled down")
    drill_dims = list(dict.fromkeys(d.name for d, _ in drill))
    agg_names = _split(params.get("aggregates")) or [("_count" if m.name == "_count" else f"{m.name}.sum")
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
    for part in _split(params.get("order"), "|,"):
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
    sql = (f"SELECT {_select(columns + measures)}, count(*) OVER () AS __total FROM {src} AS f {joins} WHERE {where}{group}"
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
        srow = cur.execute(f"SELECT {_select(measures)} FROM {src} AS f {q.joins(q.joined_cut_dims)} WHERE {where}",
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
    wanted = _split(params.get("fields"), "|,") or list(fields)
    for w in wanted:
        if w not in fields:
            raise CubeError(f'unknown field "{w}"', list(fields))
    order = []
    for part in _split(params.get("order"), "|,"):
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
    sql = (f"SELECT DISTINCT {_select(cols)} FROM {src} AS f "
           f"{q.joins([dim.name] + q.joined_cut_dims)} WHERE {' AND '.join(q.where)}")
    res = cur.execute(f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY 1 LIMIT {size} OFFSET {(page - 1) * size}",
                      q.args)
    rows = res.fetchall()
    data = [{k: _number(v) for (k, _), v in zip(cols, row)} for row in rows]
    return {"status": "ok", "data": data, "total_member_count": rows[0][-1] if rows else 0, "page": page,
            "page_size": size, "fields": [k for k, _ in cols], **q.scope()}
