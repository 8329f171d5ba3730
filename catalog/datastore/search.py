"""CKAN DataStore reads on versioned Parquet tables: lookups, search, info, versions.

Writes (create, upsert, delete) live in loads; downloads in dumps; user SQL in usersql."""
import json
import re
from urllib.parse import urlencode

from .. import actionschema, auth
from . import grams, indexes as datastore_indexes, tables, tabular
from ..errors import NotAuthorized, NotFound, ValidationError
from ..params import as_bool, as_int, as_json_object, as_list, get_or_bust
from ..store import datastore as datastore_store
from ..store.packages import get_package
from ..store.resources import get_resource
from .tables import quote_ident
from ..thaitext import normalize

ROWS_DEFAULT, ROWS_MAX = 100, 32000
JSON_READY = {"text", "int", "float", "bool"}   # types whose values DuckDB gives as Python's JSON types already
SEARCH_PARAMS = set(actionschema.parameters("datastore_search"))   # declared in actions.schema.json


# ---------------------------------------------------------------------------------------------
# Lookups


def resolve(ctx, ref, write=False):
    """(resource row, package row) for a resource id or alias the caller may read (or write)."""
    if not ref:
        raise ValidationError({"resource_id": ["Missing value"]})
    row = get_resource(ctx.db, ref)
    if row is None:
        alias = datastore_store.resource_for_alias(ctx.db, ref)
        row = get_resource(ctx.db, alias) if alias else None
    if row is None:
        raise NotFound(f'Resource "{ref}" was not found.')
    pkg = get_package(ctx.db, row["package_id"])
    if pkg is None:
        raise NotFound(f'Resource "{ref}" was not found.')
    if write:
        auth.require_edit_package(ctx, pkg)
    elif not auth.can_read_package(ctx, pkg):
        raise NotAuthorized("Not authorized to read resource.")
    return row, pkg


def current_version(db, resource_id, version=None):
    """The live version row of a resource's table (or a given version number), or None."""
    if version is not None:
        return datastore_store.version(db, resource_id, version)
    return datastore_store.live_version(db, resource_id)


def require_table(ctx, rid, version=None):
    ver = current_version(ctx.db, rid, version)
    if ver is None:
        raise NotFound(f'Resource "{rid}" was not found.' if version is None else f"Version {version} not found")
    return ver


def version_fields(ver):
    """The field list of a version row."""
    return json.loads(ver["fields"])


def select_list(fields, prefix=""):
    return ", ".join(f"{prefix}{quote_ident(f['id'])}" for f in fields)


# ---------------------------------------------------------------------------------------------
# Reading


def filters_sql(fields, filters):
    if not isinstance(filters, dict):
        raise ValidationError({"filters": ["Not a JSON object"]})
    types = {f["id"]: f["type"] for f in fields}
    types["_id"] = "int"
    conds, args = [], []
    for col, value in filters.items():
        if col not in types:
            raise ValidationError({"filters": [f'field "{col}" not in resource']})
        dtype = tables.duck_type(types[col])
        values = value if isinstance(value, list) and not types[col].startswith("_") else [value]
        if any(isinstance(v, dict) for v in values):
            # CKAN filters are equality only; an operator object must fail loudly, not match nothing.
            raise ValidationError({"filters": [f'field "{col}": a filter value is a text, a number or a list of them']})
        if not values:
            conds.append("false")
            continue
        marks = ", ".join(f"TRY_CAST(? AS {dtype})" for _ in values)
        conds.append(f"{quote_ident(col)} IN ({marks})")
        args += [v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v) for v in values]
    return (" AND ".join(conds) or "true"), args


def _text_sql(fields, q):
    """Thai-aware full text: every normalised term must appear (as a substring) in the row's text."""
    text_cols = _text_columns(fields)
    conds, args, rank = [], [], []
    if isinstance(q, dict):
        for col, term in q.items():
            if col not in {f["id"] for f in fields}:
                raise ValidationError({"q": [f'field "{col}" not in resource']})
            conds.append(_contains(_folded(quote_ident(col), normalize(term))))
            args.append(normalize(term))
        return " AND ".join(conds) or "true", args, CONSTANT_RANK, []
    # Terms hold no spaces, so "in some column" equals "in the space-joined row", at a tenth of the cost.
    rank_args = []
    for term in normalize(q).split():
        cols = [_folded(quote_ident(c), term) for c in text_cols]
        conds.append("(" + " OR ".join(_contains(c) for c in cols) + ")")
        args.extend([term] * len(cols))
        rank.extend(f"coalesce(length({c}) - length(replace({c}, ?, '')), 0) / {max(len(term), 1)}" for c in cols)
        rank_args.extend([term] * len(cols))
    return " AND ".join(conds) or "true", args, (" + ".join(rank) or "0") + " + 0.0", rank_args


CONSTANT_RANK = "1"   # a per-column q ranks every match alike: no sort on it (an integer, served as 1)


def _text_columns(fields):
    """The columns a `q` over the whole row searches."""
    return [f["id"] for f in fields if f["type"] in ("text", "json", "_text")] or [f["id"] for f in fields]


def _contains(column_sql):
    # DuckDB 2.0.1's contains() takes the term as it is: LIKE needed it escaped, and an ESCAPE clause made the scan of
    # 1,000,000 Thai names 25% slower (246-250 ms against 191-215).
    return f"contains({column_sql}, ?)"


def _folded(column, term):
    """The column as text in the form a term is matched against: lower-cased, unless the term has no letter
    that lower() could produce (Thai, digits, ASCII punctuation): lower() then cannot change whether or where it
    matches, and skipping it makes a Thai search about three times faster."""
    caseless = all("\u0e00" <= ch <= "\u0e7f" or (ch < "\x80" and not ch.isalpha()) for ch in term)
    return f"CAST({column} AS VARCHAR)" if caseless else f"lower(CAST({column} AS VARCHAR))"


_SORT_ITEM = re.compile(r'^\s*(?:"((?:[^"]|"")+)"|(\S+))(?:\s+(\w+))?\s*$')


def _sort_keys(fields, sort, has_rank):
    """The (column, ASC or DESC) items of a CKAN sort ("a desc, b"; a column with spaces is quoted:
    '"project name" desc')."""
    known = {f["id"] for f in fields} | {"_id"} | ({"rank"} if has_rank else set())
    keys = []
    items = sort if isinstance(sort, list) else _split_sort(str(sort))
    for item in items:
        if not str(item).strip():
            continue
        m = _SORT_ITEM.match(str(item))
        name = (m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)) if m else None
        direction = (m.group(3) or "asc").lower() if m else ""
        if name not in known or direction not in ("asc", "desc"):
            raise ValidationError({"sort": [f'field "{str(item).strip()}" not in resource']})
        keys.append((name, direction.upper()))
    return keys


def _split_sort(text):
    """The comma-separated items of a sort string, commas inside double quotes kept."""
    items, current, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += ch
    return items + [current]


class Plan:
    """One datastore_search as SQL: `inner` selects the `wanted` columns (then any sort-only ones) of the rows
    that match; `order` sorts them by `keys`, (column of `inner`, ASC or DESC) each. Values in `args`, identifiers
    from the table's own fields."""

    def __init__(self, res_row, ver, wanted, types, inner, args, keys, distinct, filtered, clustered, text=False,
                 postings=None, joined=False):
        self.res_row, self.ver, self.wanted, self.types = res_row, ver, wanted, types
        self.inner, self.args, self.keys = inner, args, keys
        # When every term of `q` has its columns' postings (grams.py) and no filter, no distinct and no order but
        # _id's (or rank's, for a `q` over the whole row) apply: (SQL selecting the matching _ids and their ranks,
        # its values, the sort keys, SQL of the rows of a list of _ids from the lowest to the highest, its leading
        # values); else None.
        self.postings = postings
        self.order = tables.order_by(keys)
        self.distinct, self.filtered = distinct, filtered
        # Whether a scan reads the matches' columns anyway: a `q` over the whole row (not per column) reads every
        # text column of every row, DISTINCT every wanted one, an index's copy holds a filter's matches together
        # in a few row groups, and a join with postings (`joined`) reads every row's _id to find the matches.
        self.reads_matches = bool(text or distinct or clustered or joined)
        # The version file is in _id order (an index's copy is not); neither DISTINCT nor a join (on two threads, a
        # download of 165,889 rows came out in another order) keeps the scan's order.
        self.in_file_order = keys == [("_id", "ASC")] and not distinct and not clustered and not joined


def plan(ctx, data):
    """The SQL of a datastore_search (its paging aside), after checking every parameter."""
    unknown = [k for k in data if k not in SEARCH_PARAMS]
    if unknown:
        raise ValidationError({k: [f'invalid value "{k}"'] for k in unknown})
    rid = data.get("resource_id") or data.get("id")
    res_row, _ = resolve(ctx, rid)
    version = as_int(data, "version", None, minimum=1)
    ver = require_table(ctx, res_row["id"], version)
    fields = version_fields(ver)
    filters = as_json_object(data, "filters", {}) or {}
    where, args = filters_sql(fields, filters)
    q = data.get("q") or data.get("full_text")
    if isinstance(q, str) and q.strip().startswith("{"):
        q = as_json_object(data, "q")
    rank_sql, rank_args, postings, joined = None, [], None, False
    if q:
        qwhere, qargs, rank_sql, rank_args = _text_sql(fields, q)
        if not filters:
            postings = grams.matches(ctx.settings, ver, _text_columns(fields), q)
        if postings:
            # Sorted otherwise than by _id, 1,000,000 names' page and count took 105 ms this way, 229 ms testing each
            # name. Not with a filter: an index's copy then tests a few row groups' names (8 ms against 14).
            qwhere, qargs, joined = f"_id IN (SELECT _id FROM ({postings[0]}))", postings[1], True
        where, args = f"({where}) AND ({qwhere})", args + qargs
    wanted = as_list(data, "fields", None)
    all_ids = ["_id"] + [f["id"] for f in fields]
    if wanted:
        bad = [w for w in wanted if w not in all_ids and not (w == "rank" and rank_sql)]
        if bad:
            raise ValidationError({"fields": [f'field "{bad[0]}" not in resource']})
    else:
        wanted = all_ids + (["rank"] if rank_sql else [])
    types = {"_id": "int", **{f["id"]: f["type"] for f in fields}, "rank": "float"}
    select = ", ".join((f"({rank_sql}) AS rank" if w == "rank" else quote_ident(w)) for w in wanted)
    sel_args = rank_args if "rank" in wanted else []
    sort = data.get("sort")
    if sort:
        keys = _sort_keys(fields, sort, bool(rank_sql))
    else:
        ranked = "rank" in wanted and rank_sql != CONSTANT_RANK   # ties everywhere sort as _id alone
        keys = [("rank", "DESC"), ("_id", "ASC")] if ranked else [("_id", "ASC")]
    distinct = as_bool(data, "distinct", False)
    if not distinct and "_id" not in (n for n, _ in keys):
        # _id breaks ties: a sorted page is the same on every call, and paging neither repeats nor skips a row.
        keys.append(("_id", "ASC"))
    # Sort columns the caller did not ask for are selected too (and cut off below); DISTINCT cannot carry them.
    hidden = [n for n, _ in keys if n not in wanted and n != "rank"]
    if hidden and distinct:
        if sort:
            raise ValidationError({"sort": ["with distinct, sort only by fields that are in fields"]})
        keys, hidden = [(w, "ASC") for w in wanted], []
    if distinct:
        # Distinct rows differ in some column: sorted by every one, a page is the same on every call.
        keys += [(w, "ASC") for w in wanted if w not in (n for n, _ in keys)]
    select += "".join(f", {quote_ident(n)}" for n in hidden)
    # A filter on an index's leading fields reads the index's clustered copy: the same rows, in fewer row groups.
    sha = datastore_indexes.file_for(ver, filters)
    src = tables.scan(ctx.settings, sha)
    inner = f"SELECT {'DISTINCT ' if distinct else ''}{select} FROM {src} WHERE {where}"
    if "rank" in (n for n, _ in keys) and "rank" not in wanted:
        inner = f"SELECT {'DISTINCT ' if distinct else ''}{select}, ({rank_sql}) AS rank FROM {src} WHERE {where}"
        sel_args = sel_args + rank_args
    ranked = rank_sql != CONSTANT_RANK and "rank" in wanted and keys == [("rank", "DESC"), ("_id", "ASC")]
    if postings is not None and not distinct and (keys == [("_id", "ASC")] or ranked):
        # The page's rows, read by their _ids: the version file is in _id order, so only their row groups are read.
        by_ids = (f"SELECT {select} FROM {src} WHERE _id BETWEEN ? AND ? AND _id IN (SELECT unnest(?)) "
                  f"ORDER BY {tables.order_by(keys)}")
        postings = (*postings, keys, by_ids, sel_args)
    else:
        postings = None
    return Plan(res_row, ver, wanted, types, inner, sel_args + args, keys, distinct, where != "true",
                sha != ver["parquet_sha256"], bool(q) and not isinstance(q, dict), postings, joined)


def search(ctx, data):
    """Run a datastore_search; returns (result dict, fields, rows as lists)."""
    p = plan(ctx, data)
    limit = as_int(data, "limit", ROWS_DEFAULT, maximum=ROWS_MAX)
    offset = as_int(data, "offset", 0)
    counted = as_bool(data, "include_total", True)
    total = None
    cur = tables.reader(ctx.settings)
    if p.postings is not None:
        rows, total = grams.page(cur, p.postings, offset, limit, counted, offset + limit <= ROWS_MAX)
    elif p.in_file_order and not p.filtered:
        # The version file is in _id order and DuckDB keeps a scan's order (preserve_insertion_order), so a page of
        # the whole table is where the scan reaches it, found from the row groups' sizes (1,000,000 rows: at offset
        # 500,000 in 8-15 ms, 330-530 ms sorted; the first page in 6-8 ms, 14-16 ms sorted). Not with filters or q:
        # a page past most matches then took twice the sorted time, and DuckDB 2.0.1's late materialization of such
        # a page (up to 50 rows, some columns) fails to bind (tests/test_catalog_datastore_indexes.py found it).
        rows = cur.execute(f"{p.inner} LIMIT ? OFFSET ?", p.args + [limit, offset]).fetchall()
    elif (p.distinct or p.filtered) and p.reads_matches and counted and 0 < limit and offset + limit <= ROWS_MAX:
        rows, total = _page_and_count(cur, p, offset, limit)
    elif p.distinct or p.filtered:
        rows = cur.execute(f"SELECT * FROM ({p.inner}) ORDER BY {p.order} LIMIT ? OFFSET ?",
                           p.args + [limit, offset]).fetchall()
    else:
        # A whole table in another order: the page is found from the sort keys alone (a few columns of every
        # row), then its rows are read whole; sorting whole rows reads every column of every row (twice the
        # time at 1,000,000 rows). With filters or q the matches are fewer and a second pass costs more.
        page = f"SELECT _id FROM ({p.inner}) ORDER BY {p.order} LIMIT ? OFFSET ?"
        rows = cur.execute(f"SELECT * FROM ({p.inner}) WHERE _id IN ({page}) ORDER BY {p.order}",
                           p.args + p.args + [limit, offset]).fetchall()
    # Only the columns whose DuckDB values are no JSON value yet (decimals, dates, lists) are converted; zip stops at
    # the wanted columns, leaving out the sort-only ones selected after them.
    converted = [p.types[w] not in JSON_READY for w in p.wanted]
    rows = [[tables.jsonable(v) if c else v for v, c in zip(r, converted)] for r in rows]
    fields = version_fields(p.ver)
    result = {"resource_id": p.res_row["id"],
              "fields": [{"id": w, "type": p.types[w], **_info(fields, w)} for w in p.wanted],
              "limit": limit, "offset": offset, "include_total": counted,
              "records_format": data.get("records_format") or "objects", "version": p.ver["version"]}
    for key in ("q", "filters", "sort", "distinct"):
        if key in data:
            result[key] = data[key]
    if counted:
        result["total"] = total if total is not None else _total(cur, p, offset, limit, len(rows))
        result["total_was_estimated"] = False
    return result, p.wanted, rows


def _page_and_count(cur, p, offset, limit):
    """(the page's rows, how many rows match) of a search whose scan reads its matches' columns (reads_matches),
    in one scan: the count and the first offset + limit rows by the sort keys (DuckDB's min_by keeps only those).
    A page and then a count scanned the matches twice: a common Thai `q` of 1,000,000 rows took 560-590 ms that
    way, 340-390 ms in one scan. A filter on a version file scattered over it is left to the page's own sort,
    which reads the other columns of the page's rows only (a one-scan page of 1,625 matches: 35 ms became 140)."""
    # Positional names: a field's own name may repeat in `fields` or be no valid struct key.
    row = ", ".join(f"c{i} := {quote_ident(w)}" for i, w in enumerate(p.wanted))
    key = tables.sort_key([(quote_ident(name), direction) for name, direction in p.keys])
    total, rows = cur.execute(f"SELECT count(*), min_by(struct_pack({row}), {key}, ?) FROM ({p.inner})",
                              [offset + limit] + p.args).fetchone()
    return [tuple(r.values()) for r in (rows or [])[offset:]], total


def _total(cur, p, offset, limit, got):
    """How many rows the search matches: a page that ends before its limit ends with the last match, so its end is
    the count (a rare `q` term then takes one scan of every row, not two: bench/peers_bench.py's rare substring
    went from 0.50 to 0.28 of Datasette's time); a whole table's is the version's row count; otherwise they are
    counted."""
    if got < limit and (got or not offset):
        return offset + got
    if not p.filtered and not p.distinct:   # every row: the version's count, kept when it was written
        return p.ver["row_count"]
    return cur.execute(f"SELECT count(*) FROM ({p.inner})", p.args).fetchone()[0]


def _info(fields, fid):
    for f in fields:
        if f["id"] == fid and f.get("info"):
            return {"info": f["info"]}
    return {}


def datastore_search(ctx, data):
    """Rows of a DataStore table: filters, Thai full text `q`, fields, sort, distinct, paging, formats."""
    result, wanted, rows = search(ctx, data)
    fmt = result["records_format"]
    if fmt == "objects":
        result["records"] = [dict(zip(wanted, r)) for r in rows]
    elif fmt == "lists":
        result["records"] = rows
    elif fmt in ("csv", "tsv"):
        result["records"] = tabular.delimited_text(rows, "," if fmt == "csv" else "\t")
    else:
        raise ValidationError({"records_format": ['"records_format" must be one of objects, lists, csv, tsv']})
    result["_links"] = _links(ctx, data, result)
    return result


def _links(ctx, data, result):
    base = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
            for k, v in data.items() if k not in ("offset", "callback", "_")}
    start = "/api/3/action/datastore_search?" + urlencode(base)
    links = {"start": start, "next": start + "&" + urlencode({"offset": result["offset"] + result["limit"]})}
    if result["offset"] - result["limit"] > 0:
        links["prev"] = start + "&" + urlencode({"offset": result["offset"] - result["limit"]})
    return links


def datastore_info(ctx, data):
    """Table metadata (2.11 shape with `meta`/`fields`, plus 2.9's `schema`) and its versions."""
    rid = data.get("id") or data.get("resource_id")
    res_row, _ = resolve(ctx, rid)
    ver = require_table(ctx, res_row["id"])
    fields = version_fields(ver)
    aliases = datastore_store.aliases_of(ctx.db, res_row["id"])
    size = tables.parquet_path(ctx.settings, ver["parquet_sha256"]).stat().st_size
    pk = json.loads(ver["primary_key"])
    indexes = datastore_indexes.of_version(ver)
    indexed = {ix["fields"][0]: "_".join(ix["fields"]) for ix in reversed(indexes)}
    idx_size = sum(tables.parquet_path(ctx.settings, ix["parquet_sha256"]).stat().st_size for ix in indexes)
    return {
        "meta": {"id": res_row["id"], "count": ver["row_count"], "aliases": aliases, "table_type": "BASE TABLE",
                 "size": size, "db_size": size + idx_size, "idx_size": idx_size, "version": ver["version"],
                 "parquet_sha256": ver["parquet_sha256"], "source_sha256": ver["source_sha256"],
                 "loaded_at": ver["loaded_at"]},
        "fields": [{"id": f["id"], "type": f["type"],
                    "schema": {"native_type": tables.duck_type(f["type"]), "index_name": indexed.get(f["id"]),
                               "is_index": f["id"] in indexed,
                               "notnull": False, "uniquekey": f["id"] in pk}, **_info(fields, f["id"])} for f in fields],
        "schema": {f["id"]: f["type"] for f in fields},
        "primary_key": pk,
    }


def datastore_version_list(ctx, data):
    """Every version of a resource's table, newest first (each stays searchable with `version`)."""
    res_row, _ = resolve(ctx, get_or_bust(data, "id"))
    rows = datastore_store.versions(ctx.db, res_row["id"])
    live = current_version(ctx.db, res_row["id"])
    return [{"version": r["version"], "rows": r["row_count"], "parquet_sha256": r["parquet_sha256"],
             "source_sha256": r["source_sha256"], "loaded_at": r["loaded_at"], "loaded_by": r["loaded_by"],
             "note": r["note"], "live": bool(live and live["id"] == r["id"]),
             "report": json.loads(r["report"]) if r["report"] else None} for r in rows]
