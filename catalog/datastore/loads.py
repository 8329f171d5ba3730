"""DataStore writes: each call builds a new Parquet version and flips the live pointer."""
import json
import re

from .. import resourceviews
from . import indexes as datastore_indexes, tables
from ..resources import resource_create
from ..store import datastore as datastore_store
from .search import current_version, filters_sql, quote_ident, require_table, resolve, select_list, version_fields
from ..store.db import transaction
from ..errors import ValidationError
from ..params import as_bool, as_json_object, as_list, get_or_bust, new_id, now

_FIELD_ID = re.compile(r'^[^_"\s][^"]*$')


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


def _columns_table(cur, cols, kinds):
    """The records' columns as the temporary table raw_incoming: cells as text (cast in SQL, per field), lists as
    lists."""
    columns = {}
    for name, vals in cols.items():
        kind = kinds.get(name)
        if name == "_rn":
            columns[name] = (vals, "BIGINT")
        elif name.startswith("_has"):
            columns[name] = (vals, "BOOLEAN")
        elif kind is not None and kind.startswith("_"):
            columns[name] = (vals, None)   # DuckDB finds the elements' common type; TRY_CAST in SQL makes it the field's
        else:
            columns[name] = ([v if v is None or isinstance(v, str) else _text(v) for v in vals], "VARCHAR")
    import duckdb   # loaded already by the cursor's connection; named here for its error types
    try:
        tables.columns_table(cur, "raw_incoming", columns)
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException):
        # Elements no one type holds (a list beside an object): each list as its JSON text.
        for name, (vals, kind) in columns.items():
            if kind is None:
                columns[name] = ([None if v is None else json.dumps(v, ensure_ascii=False) for v in vals], "VARCHAR")
        tables.columns_table(cur, "raw_incoming", columns)


def _text(value):
    # A given _id that is not text (a number, or true/false), spelled as TRY_CAST reads it; bool first, as True
    # is also an int in Python.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


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
    _columns_table(cur, cols, {f["id"]: f["type"] for f in fields})
    casts = []
    for f in fields:
        q = quote_ident(f["id"])
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


def save_version(ctx, cur, res_row, select_sql, params, fields, primary_key, note, indexes=()):
    """Write the new Parquet version and its index copies, then flip the live pointer in one catalogue
    transaction."""
    sha, rows = tables.write_version(ctx.settings, cur, select_sql, params)
    built = datastore_indexes.build(ctx.settings, cur, sha, indexes)
    with transaction(ctx.db):
        return record_version(ctx, res_row["id"], sha, rows, fields, primary_key, note, indexes=built)


def record_version(ctx, resource_id, sha, rows, fields, primary_key, note, source_sha256=None, report=None,
                   indexes=()):
    """Record a written Parquet file (and its index copies, from datastore_indexes.build) as the resource's next
    version and make it live (caller's transaction)."""
    n = datastore_store.add_version(
        ctx.db, new_id(), resource_id, sha, source_sha256, rows, json.dumps(fields, ensure_ascii=False),
        json.dumps(primary_key), json.dumps(report, ensure_ascii=False) if report is not None else None, note, now(),
        ctx.user_id, json.dumps(list(indexes), ensure_ascii=False) if indexes else None)
    resourceviews.add_default(ctx.db, resource_id, "datatables_view")
    return {"version": n, "rows": rows, "parquet_sha256": sha}


def _pk_list(value):
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list):
        return [str(p) for p in value]
    raise ValidationError({"primary_key": ["Must be a string or a list"]})


def _json_list(data, key):
    """A list given as JSON or as a JSON string (form posts); a 409 on anything else."""
    value = data.get(key) or []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError({key: ["Not valid JSON"]}) from None
    if not isinstance(value, list):
        raise ValidationError({key: ["Must be a list"]})
    return value


def _next_id_base(src):
    """SQL for the highest `_id` of a version (0 when empty); new rows number on from it."""
    return f"(SELECT COALESCE(MAX(_id), 0) FROM {src})"


def datastore_create(ctx, data):
    """Create (or add records and fields to) a resource's DataStore table; a new version each call."""
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
    fields = _json_list(data, "fields")
    records = _json_list(data, "records")
    _check_fields(fields)
    old = current_version(ctx.db, res_row["id"])
    old_fields = version_fields(old) if old else []
    merged = [dict(f) for f in old_fields]
    known = {f["id"] for f in merged}
    for f in fields:
        if f["id"] in known:
            continue
        merged.append({"id": f["id"], "type": (f.get("type") or _guess_type(r.get(f["id"]) for r in records)).lower(),
                       **({"info": f["info"]} if f.get("info") else {})})
        known.add(f["id"])
    for rec in records:
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
    parts, base = [], "0"
    if old:
        src = tables.scan(ctx.settings, old["parquet_sha256"])
        old_cols = {f["id"] for f in old_fields}
        cols = ", ".join(quote_ident(f["id"]) if f["id"] in old_cols else f"CAST(NULL AS {tables.duck_type(f['type'])}) AS {quote_ident(f['id'])}"
                         for f in merged)
        parts.append(f"SELECT _id, {cols} FROM {src}")
        base = _next_id_base(src)
    parts.append(f"SELECT {base} + _rn AS _id, {select_list(merged)} FROM incoming")
    sql = " UNION ALL ".join(parts)
    indexes = (datastore_indexes.parse(data["indexes"], merged) if "indexes" in data
               else datastore_indexes.kept(old, merged))
    _check_unique(cur, sql, pk)
    save_version(ctx, cur, res_row, f"SELECT * FROM ({sql})", (), merged, pk, note="datastore_create",
                 indexes=indexes)
    _set_aliases(ctx, res_row["id"], as_list(data, "aliases", []) or [])
    out = {k: v for k, v in data.items() if k not in ("records", "resource")}
    out.update(resource_id=res_row["id"], fields=merged, primary_key=pk)
    return out


def _check_unique(cur, sql, pk):
    if not pk:
        return
    keys = ", ".join(quote_ident(k) for k in pk)
    dup = cur.execute(f"SELECT {keys}, count(*) FROM ({sql}) GROUP BY {keys} HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup:
        raise ValidationError({"records": [f"duplicate key value violates unique constraint: ({', '.join(map(str, dup[:-1]))})"]})


def _set_aliases(ctx, rid, aliases):
    if not aliases:
        return
    with transaction(ctx.db):
        for alias in aliases:
            clash = datastore_store.resource_for_alias(ctx.db, alias)
            if clash and clash != rid:
                raise ValidationError({"aliases": [f'alias "{alias}" is already in use']})
            datastore_store.add_alias(ctx.db, alias, rid)


def datastore_upsert(ctx, data):
    """Insert, update or upsert records by primary key (or `_id`); writes a new version."""
    res_row, _ = resolve(ctx, get_or_bust(data, "resource_id"), write=True)
    old = require_table(ctx, res_row["id"])
    method = data.get("method") or "upsert"
    if method not in ("upsert", "insert", "update"):
        raise ValidationError({"method": ['"method" must be one of upsert, insert, update']})
    records = _json_list(data, "records")
    fields = version_fields(old)
    pk = json.loads(old["primary_key"])
    cur = tables.writer(ctx.settings)
    _incoming(cur, fields, records)
    src = tables.scan(ctx.settings, old["parquet_sha256"])
    cols = select_list(fields)
    if method == "insert":
        sql = f"SELECT _id, {cols} FROM {src} UNION ALL SELECT {_next_id_base(src)} + _rn, {cols} FROM incoming"
    else:
        keys = pk or ["_id"]
        key_src = ["_given_id" if k == "_id" else quote_ident(k) for k in keys]
        missing = cur.execute(f"SELECT min(_rn) FROM incoming WHERE {' OR '.join(f'{k} IS NULL' for k in key_src)}").fetchone()[0]
        if missing:
            raise ValidationError({"key": [f'fields "{", ".join(keys)}" are missing but needed as key (row {missing})']})
        join = " AND ".join(f"o.{quote_ident(k)} = i.{ks}" for k, ks in zip(keys, key_src))
        if method == "update":
            unknown = cur.execute(f"SELECT i._rn FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM {src} o WHERE {join}) "
                                  "ORDER BY i._rn LIMIT 1").fetchone()
            if unknown:
                raise ValidationError({"key": [f"key in row {unknown[0]} not found"]})
        # Changed rows keep their _id and take the incoming values for the columns the records gave.
        set_cols = ", ".join(f"CASE WHEN i._has{n} THEN i.{quote_ident(f['id'])} ELSE o.{quote_ident(f['id'])} END"
                             for n, f in enumerate(fields))
        o_cols = ", ".join(f"o.{quote_ident(f['id'])}" for f in fields)
        i_cols = ", ".join(f"i.{quote_ident(f['id'])}" for f in fields)
        sql = (f"SELECT o._id, {o_cols} FROM {src} o "
               f"WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE {join}) "
               f"UNION ALL SELECT o._id, {set_cols} FROM {src} o JOIN incoming i ON {join}")
        if method == "upsert":
            sql += (f" UNION ALL SELECT {_next_id_base(src)} + row_number() OVER (ORDER BY i._rn), "
                    f"{i_cols} FROM incoming i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {src} o WHERE {join})")
    _check_unique(cur, sql, pk)
    if as_bool(data, "dry_run", False):
        return {"resource_id": res_row["id"], "method": method, "dry_run": True}
    info = save_version(ctx, cur, res_row, f"SELECT * FROM ({sql})", (), fields, pk, note=f"datastore_upsert {method}",
                        indexes=datastore_indexes.kept(old, fields))
    return {"resource_id": res_row["id"], "method": method, "version": info["version"]}


def datastore_delete(ctx, data):
    """Delete rows matching `filters` (a new version), or without filters stop serving the table."""
    res_row, _ = resolve(ctx, get_or_bust(data, "resource_id") if "resource_id" in data else get_or_bust(data, "id"), write=True)
    old = require_table(ctx, res_row["id"])
    if "filters" not in data:
        with transaction(ctx.db):
            datastore_store.drop_table(ctx.db, res_row["id"], now())
        return {"resource_id": res_row["id"]}
    filters = as_json_object(data, "filters", {}) or {}
    fields = version_fields(old)
    where, args = filters_sql(fields, filters)
    src = tables.scan(ctx.settings, old["parquet_sha256"])
    sql = f"SELECT _id, {select_list(fields)} FROM {src} WHERE NOT ({where})"
    save_version(ctx, tables.writer(ctx.settings), res_row, sql, args, fields, json.loads(old["primary_key"]),
                 note="datastore_delete", indexes=datastore_indexes.kept(old, fields))
    return {"resource_id": res_row["id"], "filters": filters}
