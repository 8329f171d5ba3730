"""A request against one cube of one build, as SQL: its cuts and year, the sources it may read, the smallest file
holding the columns it needs, and the joins. spending/answers.py builds the API's three answers on it.

Identifiers come only from the cube definitions; every request value is a bound parameter. A
query reads the smallest rollup that holds every column it needs, else the fact file.
"""
import re
from decimal import Decimal

from catalog.store.packages import visible_package_ids

from . import flags
from .cubes import CubeError

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


def split(text, seps="|"):
    """A request parameter's list: `text` cut at each of `seps`, items stripped, empty ones dropped."""
    if not text:
        return []
    out = [text]
    for sep in seps:
        out = [p for part in out for p in part.split(sep)]
    return [p.strip() for p in out if p.strip()]


def select(pairs):
    """A select list of (output name, SQL) pairs; names come from the cube definitions."""
    return ", ".join(f'{expr} AS "{name}"' for name, expr in pairs)


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
        cut_parts = split(params.get("cut"))
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
            return (f"SELECT {select(pairs)} FROM {self.file(self.cube.facts)} AS f "
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
        return f"SELECT {select(pairs)} FROM ({inner}) AS f {self.joins([], extra_exprs=exprs)} ORDER BY {', '.join(order)}"

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
