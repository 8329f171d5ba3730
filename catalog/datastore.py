"""CKAN DataStore actions on versioned Parquet tables: create, upsert, delete, info, search."""
import json
import re

import pandas as pd

from . import auth, tables
from .db import transaction
from .errors import NotAuthorized, NotFound, ValidationError
from .params import as_bool, as_int, as_json_object, as_list, get_or_bust, new_id, now

ROWS_DEFAULT, ROWS_MAX = 100, 32000
SEARCH_PARAMS = {"resource_id", "id", "filters", "q", "full_text", "plain", "language", "fields", "sort", "limit",
                 "offset", "distinct", "include_total", "total_estimation_threshold", "records_format",
                 "version", "callback", "_"}
_FIELD_ID = re.compile(r'^[^_"\s][^"]*$')


# ---------------------------------------------------------------------------------------------
# Lookups


def resolve(ctx, ref, write=False):
    """(resource row, package row) for a resource id or alias the caller may read (or write)."""
    from .packages import get_package
    from .resources import get_resource

    if not ref:
        raise ValidationError({"resource_id": ["Missing value"]})
    row = get_resource(ctx.db, ref)
    if row is None:
        alias = ctx.db.execute("SELECT resource_id FROM datastore_aliases WHERE alias = ?", (ref,)).fetchone()
        row = get_resource(ctx.db, alias[0]) if alias else None
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
        return db.execute("SELECT * FROM resource_versions WHERE resource_id = ? AND version = ?",
                          (resource_id, version)).fetchone()
    return db.execute(
        "SELECT v.* FROM datastore_tables t JOIN resource_versions v ON v.id = t.current_version_id "
        "WHERE t.resource_id = ?", (resource_id,)).fetchone()


def _require_table(ctx, rid, version=None):
    ver = current_version(ctx.db, rid, version)
    if ver is None:
        raise NotFound(f'Resource "{rid}" was not found.' if version is None else f"Version {version} not found")
    return ver


def _fields(ver):
    return json.loads(ver["fields"])


# ---------------------------------------------------------------------------------------------
# Writing versions


def _check_fields(fields):
    errors = []
    seen = set()
    for f in fields:
        if not isinstance(f, dict) or not isinstance(f.get("id"), str):
            errors.append("Each field needs an id")
            continue
        fid = f["id"]
        if not fid or not _FIELD_ID.match(fid) or fid != fid.strip():
            errors.append(f'"{fid}" is not a valid field name')
        if fid in seen:
            errors.append(f'Duplicate field name "{fid}"')
        seen.add(fid)
        if f.get("type") and not tables.duck_type(f["type"]):
            errors.append(f'"{f["type"]}" is not a valid field type')
    if errors:
        raise ValidationError({"fields": errors})


def _guess_type(values):
    kinds = set()
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            kinds.add("int")
        elif isinstance(v, float):
            kinds.add("numeric")
        elif isinstance(v, (dict, list)):
            kinds.add("json")
        elif isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?", v):
            kinds.add("timestamp")
        else:
            kinds.add("text")
        if len(kinds) > 1:
            break
    if kinds <= {"int"} and kinds:
        return "int"
    if kinds <= {"int", "numeric"} and kinds:
        return "numeric"
    if len(kinds) == 1:
        return kinds.pop()
    return "text"


def _incoming(cur, fields, records):
    """Register records as a typed DuckDB view `incoming` (with `_rn`); 409 on the first bad cell."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationError({"records": ["Records must be a list of objects"]})
    known = {f["id"] for f in fields}
    for i, rec in enumerate(records):
        extra = [k for k in rec if k not in known and k != "_id"]
        if extra:
            raise ValidationError({"records": [f"row {i + 1} has fields not in the table: {extra}"]})
    cols = {"_rn": list(range(1, len(records) + 1)), "_given_id": [r.get("_id") for r in records]}
    for n, f in enumerate(fields):
        # Which records name the field at all: an update changes only the fields a record gives.
        cols[f"_has{n}"] = [f["id"] in r for r in records]
    for f in fields:
        kind = f["type"]
        vals = []
        for r in records:
            v = r.get(f["id"])
            if v is None or kind.startswith("_"):
                vals.append(v)
            elif kind == "json":
                vals.append(json.dumps(v, ensure_ascii=False))
            elif isinstance(v, (dict, list)):
                vals.append(json.dumps(v, ensure_ascii=False))
            else:
                vals.append(str(v))
        cols[f["id"]] = vals
    df = pd.DataFrame({k: pd.Series(v, dtype="object") for k, v in cols.items()})
    cur.register("raw_incoming", df)
    casts = []
    for f in fields:
        q = _quote(f["id"])
        dtype = tables.duck_type(f["type"])
        if f["type"].startswith("_"):
            casts.append(f"TRY_CAST({q} AS {dtype}) AS {q}")
            continue
        bad = cur.execute(f"SELECT _rn, {q} FROM raw_incoming WHERE {q} IS NOT NULL AND TRY_CAST({q} AS {dtype}) IS NULL "
                          "ORDER BY _rn LIMIT 1").fetchone()
        if bad:
            raise ValidationError({"records": [f'row {bad[0]}: invalid {f["type"]} value {bad[1]!r} for field "{f["id"]}"']})
        casts.append(f"TRY_CAST({q} AS {dtype}) AS {q}")
    has = ", ".join(f"CAST(_has{n} AS BOOLEAN) AS _has{n}" for n in range(len(fields)))
    cur.execute(f"CREATE OR REPLACE TEMP VIEW incoming AS SELECT _rn, TRY_CAST(_given_id AS BIGINT) AS _given_id, "
                f"{has}{', ' if has else ''}{', '.join(casts)} FROM raw_incoming")


def _quote(identifier):
    return '"' + str(identifier).replace('"', '""') + '"'


def _select_list(fields, prefix=""):
    return ", ".join(f"{prefix}{_quote(f['id'])}" for f in fields)


def _save_version(ctx, cur, res_row, select_sql, params, fields, primary_key, note, source_sha256=None, report=None):
    """Write the new Parquet version, then flip the live pointer in one catalogue transaction."""
    sha, rows = tables.write_version(ctx.settings, cur, select_sql, params)
    vid = new_id()
    with transaction(ctx.db):
        n = ctx.db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM resource_versions WHERE resource_id = ?",
                           (res_row["id"],)).fetchone()[0]
        ctx.db.execute(
            "INSERT INTO resource_versions (id, resource_id, version, parquet_sha256, source_sha256, row_count, fields, "
            "primary_key, report, note, loaded_at, loaded_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (vid, res_row["id"], n, sha, source_sha256, rows, json.dumps(fields, ensure_ascii=False),
             json.dumps(primary_key), json.dumps(report, ensure_ascii=False) if report is not None else None, note,
             now(), ctx.user_id))
        ctx.db.execute("INSERT INTO datastore_tables (resource_id, current_version_id) VALUES (?, ?) "
                       "ON CONFLICT (resource_id) DO UPDATE SET current_version_id = excluded.current_version_id",
                       (res_row["id"], vid))
        ctx.db.execute("UPDATE resources SET datastore_active = 1, last_modified = ?, metadata_modified = ? WHERE id = ?",
                       (now(), now(), res_row["id"]))
    return {"version": n, "rows": rows, "parquet_sha256": sha}


def _pk_list(value):
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list):
        return [str(p) for p in value]
    raise ValidationError({"primary_key": ["Must be a string or a list"]})


def datastore_create(ctx, data):
    """Create (or add records and fields to) a resource's DataStore table; a new version each call."""
    from .resources import resource_create

    if bool(data.get("resource_id")) == bool(data.get("resource")):
        raise ValidationError({"resource_id": ["Either resource_id or resource, not both or neither"]})
    if data.get("resource"):
        resource = as_json_object(data, "resource")
        res = resource_create(ctx, {**resource, "url_type": "datastore"})
        rid = res["id"]
    else:
        rid = data["resource_id"]
    res_row, _ = resolve(ctx, rid, write=True)
    if res_row["url_type"] not in ("datastore", None, "") and not as_bool(data, "force", False):
        raise ValidationError({"read-only": ['Cannot edit read-only resource. Either pass "force=True" or change url_type to "datastore"']})
    fields = data.get("fields") or []
    if isinstance(fields, str):
        fields = json.loads(fields)
    records = data.get("records") or []
    if isinstance(records, str):
        records = json.loads(records)
    _check_fields(fields)
    old = current_version(ctx.db, res_row["id"])
    old_fields = _fields(old) if old else []
    merged = [dict(f) for f in old_fields]
    known = {f["id"] for f in merged}
    for f in fields:
        if f["id"] in known:
            continue
        merged.append({"id": f["id"], "type": (f.get("type") or _guess_type(r.get(f["id"]) for r in records)).lower(),
                       **({"info": f["info"]} if f.get("info") else {})})
        known.add(f["id"])
    for rec in records if isinstance(records, list) else []:
        for key in rec if isinstance(rec, dict) else []:
            if key not in known and key != "_id":
                merged.append({"id": key, "type": _guess_type(r.get(key) for r in records)})
                known.add(key)
    _check_fields(merged)
    for f in merged:
        f["type"] = tables.ckan_type(tables.duck_type(f["type"]))
    pk = _pk_list(data.get("primary_key")) or (json.loads(old["primary_key"]) if old else [])
    missing = [k for k in pk if k not in known]
    if missing:
        raise ValidationError({"primary_key": [f"field {missing[0]!r} does not exist"]})
    cur = tables.writer(ctx.settings)
    _incoming(cur, merged, records)
    parts = []
    if old:
        old_cols = {f["id"] for f in old_fields}
        cols = ", ".join(_quote(f["id"]) if f["id"] in old_cols else f"CAST(NULL AS {tables.duck_type(f['type'])}) AS {_quote(f['id'])}"
                         for f in merged)
        parts.append(f"SELECT _id, {cols} FROM {tables.scan(ctx.settings, old['parquet_sha256'])}")
        base = old["row_count"] and f"(SELECT COALESCE(MAX(_id), 0) FROM {tables.scan(ctx.settings, old['parquet_sha256'])})" or "0"
    else:
        base = "0"
    parts.append(f"SELECT {base} + _rn AS _id, {_select_list(merged)} FROM incoming")
    sql = " UNION ALL ".join(parts)
    _check_unique(cur, sql, pk)
    _save_version(ctx, cur, res_row, f"SELECT * FROM ({sql})", (), merged, pk, note="datastore_create")
    _set_aliases(ctx, res_row["id"], as_list(data, "aliases", []) or [])
    out = {k: v for k, v in data.items() if k not in ("records", "resource")}
    out.update(resource_id=res_row["id"], fields=merged, primary_key=pk)
    return out


def _check_unique(cur, sql, pk):
    if not pk:
        return
    keys = ", ".join(_quote(k) for k in pk)
    dup = cur.execute(f"SELECT {keys}, count(*) FROM ({sql}) GROUP BY {keys} HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup:
        raise ValidationError({"records": [f"duplicate key value violates unique constraint: ({', '.join(map(str, dup[:-1]))})"]})


def _set_aliases(ctx, rid, aliases):
    if not aliases:
        return
    with transaction(ctx.db):
        for alias in aliases:
            clash = ctx.db.execute("SELECT resource_id FROM datastore_aliases WHERE alias = ?", (alias,)).fetchone()
            if clash and clash[0] != rid:
                raise ValidationError({"aliases": [f'alias "{alias}" is already in use']})
            ctx.db.execute("INSERT OR IGNORE INTO datastore_aliases (alias, resource_id) VALUES (?, ?)", (alias, rid))


def datastore_upsert(ctx, data):
    """Insert, update or upsert records by primary key (or `_id`); writes a new version."""
    res_row, _ = resolve(ctx, get_or_bust(data, "resource_id"), write=True)
    old = _require_table(ctx, res_row["id"])
    method = data.get("method") or "upsert"
    if method not in ("upsert", "insert", "update"):
        raise ValidationError({"method": ['"method" must be one of upsert, insert, update']})
    records = data.get("records")
    if isinstance(records, str):
        records = json.loads(records)
    fields = _fields(old)
    pk = json.loads(old["primary_key"])
    cur = tables.writer(ctx.settings)
    _incoming(cur, fields, records or [])
    src = tables.scan(ctx.settings, old["parquet_sha256"])
    cols = _select_list(fields)
    if method == "insert":
        sql = (f"SELECT _id, {cols} FROM {src} UNION ALL SELECT (SELECT COALESCE(MAX(_id), 0) FROM {src}) + _rn, "
               f"{cols} FROM incoming")
    else:
        keys = pk or ["_id"]
        key_src = ["_given_id" if k == "_id" else _quote(k) for k in keys]
        missing = cur.execute(f"SELECT min(_rn) FROM incoming WHERE {' OR '.join(f'{k} IS NULL' for k in key_src)}").fetchone()[0]
        if missing:
            raise ValidationError({"key": [f'fields "{", ".join(keys)}" are missing but needed as key (row {missing})']})
        join = " AND ".join(f"o.{_quote(k)} = i.{ks}" for k, ks in zip(keys, key_src))
        if method == "update":
            unknown = cur.execute(f"SELECT i._rn FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM {src} o WHERE {join}) "
                                  "ORDER BY i._rn LIMIT 1").fetchone()
            if unknown:
                raise ValidationError({"key": [f"key in row {unknown[0]} not found"]})
        # Changed rows keep their _id and take the incoming values for the columns the records gave.
        set_cols = ", ".join(f"CASE WHEN i._has{n} THEN i.{_quote(f['id'])} ELSE o.{_quote(f['id'])} END"
                             for n, f in enumerate(fields))
        o_cols = ", ".join(f"o.{_quote(f['id'])}" for f in fields)
        i_cols = ", ".join(f"i.{_quote(f['id'])}" for f in fields)
        sql = (f"SELECT o._id, {o_cols} FROM {src} o "
               f"WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE {join}) "
               f"UNION ALL SELECT o._id, {set_cols} FROM {src} o JOIN incoming i ON {join}")
        if method == "upsert":
            sql += (f" UNION ALL SELECT (SELECT COALESCE(MAX(_id), 0) FROM {src}) + row_number() OVER (ORDER BY i._rn), "
                    f"{i_cols} FROM incoming i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {src} o WHERE {join})")
    _check_unique(cur, sql, pk)
    if as_bool(data, "dry_run", False):
        return {"resource_id": res_row["id"], "method": method, "dry_run": True}
    info = _save_version(ctx, cur, res_row, f"SELECT * FROM ({sql})", (), fields, pk, note=f"datastore_upsert {method}")
    return {"resource_id": res_row["id"], "method": method, "version": info["version"]}


def datastore_delete(ctx, data):
    """Delete rows matching `filters` (a new version), or without filters stop serving the table."""
    res_row, _ = resolve(ctx, get_or_bust(data, "resource_id") if "resource_id" in data else get_or_bust(data, "id"), write=True)
    old = _require_table(ctx, res_row["id"])
    if "filters" not in data:
        with transaction(ctx.db):
            ctx.db.execute("DELETE FROM datastore_tables WHERE resource_id = ?", (res_row["id"],))
            ctx.db.execute("DELETE FROM datastore_aliases WHERE resource_id = ?", (res_row["id"],))
            ctx.db.execute("UPDATE resources SET datastore_active = 0, metadata_modified = ? WHERE id = ?", (now(), res_row["id"]))
        return {"resource_id": res_row["id"]}
    filters = as_json_object(data, "filters", {}) or {}
    fields = _fields(old)
    where, args = _filters_sql(fields, filters)
    src = tables.scan(ctx.settings, old["parquet_sha256"])
    sql = f"SELECT _id, {_select_list(fields)} FROM {src} WHERE NOT ({where})"
    _save_version(ctx, tables.writer(ctx.settings), res_row, sql, args, fields, json.loads(old["primary_key"]),
                  note="datastore_delete")
    return {"resource_id": res_row["id"], "filters": filters}


# ---------------------------------------------------------------------------------------------
# Reading


def _filters_sql(fields, filters):
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
        if not values:
            conds.append("false")
            continue
        marks = ", ".join(f"TRY_CAST(? AS {dtype})" for _ in values)
        conds.append(f"{_quote(col)} IN ({marks})")
        args += [v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v) for v in values]
    return (" AND ".join(conds) or "true"), args


def _text_sql(fields, q):
    """Thai-aware full text: every normalised term must appear (as a substring) in the row's text."""
    from .thaitext import normalize

    text_cols = [f["id"] for f in fields if f["type"] in ("text", "json", "_text")] or [f["id"] for f in fields]
    conds, args, rank = [], [], []
    if isinstance(q, dict):
        for col, term in q.items():
            if col not in {f["id"] for f in fields}:
                raise ValidationError({"q": [f'field "{col}" not in resource']})
            conds.append(f"contains(lower(CAST({_quote(col)} AS VARCHAR)), ?)")
            args.append(normalize(term))
        return " AND ".join(conds) or "true", args, "1.0", []
    blob = "lower(concat_ws(' ', " + ", ".join(f"CAST({_quote(c)} AS VARCHAR)" for c in text_cols) + "))"
    for term in normalize(q).split():
        conds.append(f"contains({blob}, ?)")
        args.append(term)
        rank.append(f"(length({blob}) - length(replace({blob}, ?, ''))) / {max(len(term), 1)}")
    rank_args = [t for t in normalize(q).split()]
    return " AND ".join(conds) or "true", args, (" + ".join(rank) or "0") + " + 0.0", rank_args


def _sort_sql(fields, sort, has_rank):
    known = {f["id"] for f in fields} | {"_id"} | ({"rank"} if has_rank else set())
    parts = []
    items = sort if isinstance(sort, list) else str(sort).split(",")
    for item in items:
        bits = str(item).strip().split()
        if not bits:
            continue
        name = bits[0].strip('"')
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if name not in known or direction not in ("asc", "desc") or len(bits) > 2:
            raise ValidationError({"sort": [f'field "{item.strip()}" not in resource']})
        parts.append(f"{_quote(name)} {direction.upper()}")
    return ", ".join(parts)


def search(ctx, data):
    """Run a datastore_search; returns (result dict, fields, rows as lists)."""
    unknown = [k for k in data if k not in SEARCH_PARAMS]
    if unknown:
        raise ValidationError({k: [f'invalid value "{k}"'] for k in unknown})
    rid = data.get("resource_id") or data.get("id")
    res_row, _ = resolve(ctx, rid)
    version = as_int(data, "version", None, minimum=1)
    ver = _require_table(ctx, res_row["id"], version)
    fields = _fields(ver)
    limit = as_int(data, "limit", ROWS_DEFAULT, maximum=ROWS_MAX)
    offset = as_int(data, "offset", 0)
    filters = as_json_object(data, "filters", {}) or {}
    where, args = _filters_sql(fields, filters)
    q = data.get("q") or data.get("full_text")
    if isinstance(q, str) and q.strip().startswith("{"):
        q = as_json_object(data, "q")
    rank_sql, rank_args = None, []
    if q:
        qwhere, qargs, rank_sql, rank_args = _text_sql(fields, q)
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
    select = ", ".join((f"({rank_sql}) AS rank" if w == "rank" else _quote(w)) for w in wanted)
    sel_args = rank_args if "rank" in wanted else []
    sort = data.get("sort")
    order = _sort_sql(fields, sort, bool(rank_sql)) if sort else ("rank DESC, _id ASC" if "rank" in wanted else "_id ASC")
    distinct = as_bool(data, "distinct", False)
    src = tables.scan(ctx.settings, ver["parquet_sha256"])
    cur = tables.reader(ctx.settings)
    inner = f"SELECT {'DISTINCT ' if distinct else ''}{select} FROM {src} WHERE {where}"
    if "rank" in order and "rank" not in wanted:
        inner = f"SELECT {'DISTINCT ' if distinct else ''}{select}, ({rank_sql}) AS rank FROM {src} WHERE {where}"
        sel_args = sel_args + rank_args
    rows = cur.execute(f"SELECT * FROM ({inner}) ORDER BY {order} LIMIT ? OFFSET ?",
                       sel_args + args + [limit, offset]).fetchall()
    rows = [[tables.jsonable(v) for v in r[:len(wanted)]] for r in rows]
    result = {"resource_id": res_row["id"], "fields": [{"id": w, "type": types[w], **_info(fields, w)} for w in wanted],
              "limit": limit, "offset": offset, "include_total": as_bool(data, "include_total", True),
              "records_format": data.get("records_format") or "objects", "version": ver["version"]}
    for key in ("q", "filters", "sort", "distinct"):
        if key in data:
            result[key] = data[key]
    if result["include_total"]:
        result["total"] = cur.execute(f"SELECT count(*) FROM ({inner})", sel_args + args).fetchone()[0]
        result["total_was_estimated"] = False
    return result, wanted, rows


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
        from .tabular import delimited_text

        result["records"] = delimited_text(rows, "," if fmt == "csv" else "\t")
    else:
        raise ValidationError({"records_format": ['"records_format" must be one of objects, lists, csv, tsv']})
    result["_links"] = _links(ctx, data, result)
    return result


def _links(ctx, data, result):
    from urllib.parse import urlencode

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
    ver = _require_table(ctx, res_row["id"])
    fields = _fields(ver)
    aliases = [r[0] for r in ctx.db.execute("SELECT alias FROM datastore_aliases WHERE resource_id = ?", (res_row["id"],))]
    size = tables.parquet_path(ctx.settings, ver["parquet_sha256"]).stat().st_size
    pk = json.loads(ver["primary_key"])
    return {
        "meta": {"id": res_row["id"], "count": ver["row_count"], "aliases": aliases, "table_type": "BASE TABLE",
                 "size": size, "db_size": size, "idx_size": 0, "version": ver["version"],
                 "parquet_sha256": ver["parquet_sha256"], "source_sha256": ver["source_sha256"],
                 "loaded_at": ver["loaded_at"]},
        "fields": [{"id": f["id"], "type": f["type"],
                    "schema": {"native_type": tables.duck_type(f["type"]), "index_name": None, "is_index": False,
                               "notnull": False, "uniquekey": f["id"] in pk}, **_info(fields, f["id"])} for f in fields],
        "schema": {f["id"]: f["type"] for f in fields},
        "primary_key": pk,
    }


def datastore_version_list(ctx, data):
    """Every version of a resource's table, newest first (each stays searchable with `version`)."""
    res_row, _ = resolve(ctx, get_or_bust(data, "id"))
    rows = ctx.db.execute("SELECT * FROM resource_versions WHERE resource_id = ? ORDER BY version DESC", (res_row["id"],))
    live = current_version(ctx.db, res_row["id"])
    return [{"version": r["version"], "rows": r["row_count"], "parquet_sha256": r["parquet_sha256"],
             "source_sha256": r["source_sha256"], "loaded_at": r["loaded_at"], "loaded_by": r["loaded_by"],
             "note": r["note"], "live": bool(live and live["id"] == r["id"]),
             "report": json.loads(r["report"]) if r["report"] else None} for r in rows]


DUMP_FORMATS = ("csv", "tsv", "json", "xml", "xlsx")
DUMP_PARAMS = {"format", "bom", "q", "filters", "fields", "sort", "limit", "offset", "distinct", "version",
               "plain", "language"}


def dump(ctx, resource_id, params):
    """(filename, media type, byte chunks) of a whole table download, paged 32,000 rows at a time."""
    from . import tabular

    unknown = [k for k in params if k not in DUMP_PARAMS]
    if unknown:
        raise ValidationError({k: ["invalid parameter"] for k in unknown})
    fmt = (params.get("format") or "csv").lower()
    if fmt not in DUMP_FORMATS:
        raise ValidationError({"format": [f"must be one of {list(DUMP_FORMATS)}"]})
    try:
        res_row, _ = resolve(ctx, resource_id)
    except NotAuthorized:
        raise NotFound("DataStore resource not found") from None
    limit = as_int(params, "limit", None)
    query = {k: params[k] for k in ("q", "filters", "fields", "sort", "distinct", "version") if params.get(k)}
    first, wanted, rows = search(ctx, {"resource_id": res_row["id"], **query, "offset": as_int(params, "offset", 0),
                                       "limit": min(ROWS_MAX, limit) if limit is not None else ROWS_MAX,
                                       "include_total": False})

    def batches():
        yield rows
        got, offset = len(rows), first["offset"] + len(rows)
        while len(rows) and got % ROWS_MAX == 0 and (limit is None or got < limit):
            page = ROWS_MAX if limit is None else min(ROWS_MAX, limit - got)
            _, _, more = search(ctx, {"resource_id": res_row["id"], **query, "offset": offset, "limit": page,
                                      "include_total": False})
            if not more:
                return
            yield more
            got += len(more)
            offset += len(more)

    bom = as_bool(params, "bom", False)
    return f"{res_row['id']}.{fmt}", tabular.MEDIA[fmt], tabular.stream(fmt, wanted, batches(), bom=bom)


SQL_ROWS_MAX = 32000
SQL_TIMEOUT_S = 10.0


def datastore_search_sql(ctx, data):
    """One read-only SELECT over DataStore tables the caller may read, with time and row limits."""
    import threading

    from . import sqlguard

    sql = data.get("sql")
    cur = tables.reader(ctx.settings)
    names = sqlguard.check(cur, sql)
    for name in sorted(names):
        try:
            res_row, _ = resolve(ctx, name)
        except NotFound:
            raise ValidationError({"query": [f'Table "{name}" does not exist'], "info": {"statement": sql}}) from None
        except NotAuthorized:
            raise NotAuthorized("Not authorized to read resource.") from None
        ver = _require_table(ctx, res_row["id"])
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT * FROM {tables.scan(ctx.settings, ver['parquet_sha256'])}")
    timer = threading.Timer(SQL_TIMEOUT_S, cur.interrupt)
    timer.start()
    try:
        rel = cur.execute(f"SELECT * FROM ({sql}) AS khlang_sql LIMIT {SQL_ROWS_MAX + 1}")
        cols = [d[0] for d in rel.description]
        types = [tables.ckan_type(d[1]) for d in rel.description]
        rows = rel.fetchall()
    except Exception as exc:  # noqa: BLE001 - DuckDB's errors become CKAN's 409 with the message
        if "INTERRUPT" in type(exc).__name__.upper() or "interrupted" in str(exc).lower():
            raise ValidationError({"query": [f"Query took longer than {SQL_TIMEOUT_S:.0f} s and was cancelled"]}) from None
        if "Permission" in type(exc).__name__:
            raise NotAuthorized("Not authorized to access that") from None
        raise ValidationError({"query": [str(exc).splitlines()[0]], "info": {"statement": sql}}) from None
    finally:
        timer.cancel()
    result = {"sql": sql, "fields": [{"id": c, "type": t} for c, t in zip(cols, types)],
              "records": [{c: tables.jsonable(v) for c, v in zip(cols, r)} for r in rows[:SQL_ROWS_MAX]]}
    if len(rows) > SQL_ROWS_MAX:
        result["records_truncated"] = True
    return result
