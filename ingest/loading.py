"""Loading validated files: into this Khlang (one Parquet version + one catalogue transaction) or
into any CKAN-compatible portal through ckanapi (package, resource upload, DataStore load)."""
import hashlib
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from catalog import storage
from catalog.datastore import indexes as datastore_indexes, tables
from catalog.datastore.search import current_version, quote_ident
from catalog.datastore.loads import record_version
from catalog.packages import ensure_package
from catalog.resources import resource_create, resource_patch
from catalog.store.db import transaction
from catalog.store.packages import get_package
from catalog.store.resources import active_of, get_resource
from spending.store import register_feed

from . import keys, schemas
from .compiler import lit

REMOTE_CHUNK = 20000


MAP_LIMIT = 20000


def _date_dictionaries(ws, plan, outer):
    """Thai dates repeat: parse each distinct text once and look rows up in an inline MAP (a join
    would lose file order, and the per-row macro costs more)."""
    for label in re.findall(r'khl_thai_date\("((?:[^"]|"")+)"\)', outer):
        p = next(p for p in plan.fields if p.field.name == label.replace('""', '"'))
        c = keys.col(p.index)
        n = ws.cur.execute(f"SELECT approx_count_distinct({c}) FROM {plan.table}").fetchone()[0]
        if n > MAP_LIMIT:
            continue
        pairs = ws.cur.execute(f"WITH d AS MATERIALIZED (SELECT DISTINCT {c} AS v FROM {plan.table} WHERE {c} IS NOT NULL) "
                               "SELECT v, khl_thai_date(v) FROM d").fetchall()
        entries = ", ".join(f"{lit(v)}: {'DATE ' + lit(d.isoformat()) if d else 'NULL::DATE'}" for v, d in pairs)
        lookup = f"map_extract_value(MAP {{{entries}}}, t._k{p.index})" if pairs else "NULL::DATE"
        outer = outer.replace(f"khl_thai_date({quote_ident(p.field.name)})", lookup)
    return outer


def loaded_select(ws, checked):
    """(SELECT with `_id` first, CKAN fields, primary key, rows come in _id order) of the table the valid files load as."""
    parts, extra_info, keep_pk = [], {}, None
    names = None
    offset = 0
    for n, c in enumerate(checked):
        plan = c.plan
        source, patched = keys.typed_from(ws.cur, plan)
        typed = {p.field.name: keys.typed_sql(plan, i, patched=p.index in patched) for i, p in enumerate(plan.fields)}
        inner = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in typed.items())
        norm = c.reader.normalize(list(typed))
        if norm is None:
            select = [(quote_ident(name), name) for name in typed]
        else:
            select, added = norm
            for name, kind, label in added:
                extra_info[name] = (kind, label)
        outer = _date_dictionaries(ws, plan, ", ".join(f"{expr} AS {quote_ident(name)}" for expr, name in select))
        these = [name for _, name in select]
        if names is None:
            names = these
        elif these != names:
            raise schemas.CannotStart(f"{c.path} does not have the same columns as {checked[0].path}")
        raw_cols = ", ".join(f"{keys.col(p.index)} AS _k{p.index}" for p in plan.fields)
        parts.append(f"SELECT {offset} + _rowid + 1 AS _id, {outer} FROM (SELECT _rowid, {raw_cols}, {inner} FROM {source}) t")
        offset += ws.cur.execute(f"SELECT count(*) FROM {plan.table}").fetchone()[0]
        pk = [k for k in c.schema.primary_key if k in these]
        keep_pk = pk if keep_pk is None else [k for k in keep_pk if k in pk]
    # One file scans in file order, so _id needs no sort; several files are sorted by _id when written.
    sql = parts[0] if len(parts) == 1 else f"SELECT * FROM ({' UNION ALL '.join(parts)}) u"
    described = ws.cur.execute(f"DESCRIBE SELECT * FROM ({sql}) LIMIT 0").fetchall()
    by_name = {f.name: f for f in checked[0].schema.fields}
    fields = []
    for name, duck, *_ in described:
        if name == "_id":
            continue
        f = {"id": name, "type": tables.ckan_type(duck)}
        info = {}
        sf = by_name.get(name)
        if sf is not None and (sf.title or sf.description):
            info = {k: v for k, v in (("label", sf.title), ("notes", sf.description)) if v}
        elif name in extra_info and extra_info[name][1]:
            info = {"label": extra_info[name][1]}
        if info:
            f["info"] = info
        fields.append(f)
    return sql, fields, keep_pk or [], len(parts) == 1


def source_identity(checked):
    """The sha256 a version records as its source (one file's, or of the list of files' hashes)."""
    if len(checked) == 1:
        return checked[0].src.sha256
    return hashlib.sha256("\n".join(c.src.sha256 for c in checked).encode()).hexdigest()


def publish_local(ctx, ws, checked, org, package, resource_name, fmt, report, note, source=None, indexes=None):
    """Create/update the dataset and resource, load the new version; returns a summary dict.

    `org` and `package` are the organization and dataset dicts to create when they are missing; `indexes` replaces
    the table's declared indexes (None keeps those of its live version)."""
    sql, fields, pk, ordered = loaded_select(ws, checked)
    if indexes is not None:
        indexes = datastore_indexes.parse(indexes, fields)
    else:
        indexes = datastore_indexes.kept(_live_version(ctx.db, package["name"], resource_name), fields)
    # The Parquet files, and the copy of a single source file, are written before any catalogue change: a crash
    # here leaves everything as it was. The copy is disk work beside DuckDB's: it runs at the same time.
    with ThreadPoolExecutor(1) as pool:
        copying = pool.submit(_stage, ctx.settings, checked[0].path) if len(checked) == 1 else None
        try:
            sha, rows = tables.write_version(ctx.settings, ws.cur, sql, ordered=ordered)
            built = datastore_indexes.build(ctx.settings, ws.cur, sha, indexes)
        except BaseException:
            _discard(copying)
            raise
    staged = copying.result() if copying else None
    try:
        with transaction(ctx.db):
            existed = get_package(ctx.db, package["name"]) is not None
            pkg = ensure_package(ctx, org, package)
            existing = next((r for r in pkg["resources"] if r["name"] == resource_name), None)
            extras = {"source_files": json.dumps([{"name": Path(c.path).name, "sha256": c.src.sha256} for c in checked],
                                                 ensure_ascii=False)}
            if staged:
                # The version below is the load: a background job must not load the same file again.
                data = {"name": resource_name, "format": fmt, "upload": staged, "khlang_autoload": "false", **extras}
            else:
                data = {"name": resource_name, "format": fmt, "url_type": "datastore", "url": "", **extras}
            res = (resource_patch(ctx, {"id": existing["id"], **data}) if existing
                   else resource_create(ctx, {"package_id": pkg["id"], **data}))
            info = record_version(ctx, res["id"], sha, rows, fields, pk, note, source_identity(checked), report, built)
            if source and source.get("feeds"):
                register_feed(ctx.db, res["id"], source["feeds"], source["name"])
    finally:
        if staged:
            staged.discard()   # kept by the transaction (then there is nothing left to remove), or never to be
    row = get_resource(ctx.db, res["id"])
    return {"dataset": pkg["name"], "resource_id": row["id"], "version": info["version"], "rows": rows,
            "parquet_sha256": sha, "existed": existed}


def _stage(settings, path):
    with open(path, "rb") as f:
        return storage.stage(settings, f)


def _discard(copying):
    # The load failed: the copy made beside it is not wanted (a copy that failed removed its own file).
    if copying is None:
        return
    try:
        copying.result().discard()
    except Exception:  # noqa: BLE001 - the load's own error is the one to report
        pass


def _live_version(db, package_name, resource_name):
    """The live DataStore version of a dataset's resource named so, or None."""
    pkg = get_package(db, package_name)
    res = next((r for r in active_of(db, [pkg["id"]]) if r["name"] == resource_name), None) if pkg else None
    return current_version(db, res["id"]) if res else None


def publish_remote(url, token, ws, checked, org, dataset, resource_name, fmt, indexes=None):
    """Publish through ckanapi to Khlang or CKAN: package, resource upload, then DataStore create + inserts."""
    import ckanapi  # only publishing to another portal needs the client

    sql, fields, pk, _ = loaded_select(ws, checked)
    ck = ckanapi.RemoteCKAN(url.rstrip("/"), apikey=token, user_agent="khlang-ingest")
    try:
        ck.action.organization_show(id=org)
    except ckanapi.NotFound:
        raise schemas.CannotStart(f'organization "{org}" does not exist on {url}') from None
    try:
        pkg = ck.action.package_show(id=dataset)
    except ckanapi.NotFound:
        pkg = ck.action.package_create(name=dataset, title=dataset, owner_org=org)
    existing = next((r for r in pkg.get("resources", []) if r.get("name") == resource_name), None)
    with open(checked[0].path, "rb") as upload:
        # khlang_autoload=false: this client loads the DataStore itself (CKAN ignores the extra key).
        args = {"name": resource_name, "format": fmt, "upload": upload, "khlang_autoload": "false"}
        res = (ck.action.resource_patch(id=existing["id"], **args) if existing
               else ck.action.resource_create(package_id=pkg["id"], **args))
    if res.get("datastore_active") or existing:
        try:
            ck.action.datastore_delete(resource_id=res["id"], force=True)
        except ckanapi.NotFound:
            pass
    create = {"resource_id": res["id"], "force": True, "fields": fields, "records": []}
    if pk:
        create["primary_key"] = pk
    if indexes:
        create["indexes"] = [",".join(cols) for cols in datastore_indexes.parse(indexes, fields)]
    ck.action.datastore_create(**create)
    total = ws.cur.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    result = ws.cur.execute(f"SELECT * EXCLUDE (_id) FROM ({sql}) ORDER BY _id")
    names = [f["id"] for f in fields]
    sent = 0
    with tqdm(total=total, unit="row", desc="datastore", disable=not sys.stderr.isatty()) as bar:
        while True:
            batch = result.fetchmany(REMOTE_CHUNK)
            if not batch:
                break
            records = [{k: tables.jsonable(v) for k, v in zip(names, row)} for row in batch]
            ck.action.datastore_upsert(resource_id=res["id"], records=records, method="insert", force=True)
            sent += len(records)
            bar.update(len(records))
    return {"dataset": pkg["name"], "resource_id": res["id"], "rows": sent, "remote": url}
