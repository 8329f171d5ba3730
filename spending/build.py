"""Build the spending model from the live versions of every feed resource, then flip one pointer.

A build is a folder of Parquet files named by the hash of its inputs (feed resources and their
version files): integer-keyed dimensions, facts, rollups and red flags. It is written beside the
old one and made live by one catalogue write, so a failed build leaves the explorer as it was.
"""
import functools
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from catalog import sourceformats
from catalog.datastore import tables
from catalog.store import datastore as datastore_store
from catalog.store import sitemeta
from catalog.store.db import exclusive, transaction

from . import feeds, flags, reconcile, store
from .reconcile import NOT_ITEMISED, NOT_ITEMISED_EN, NOT_ITEMISED_TH
from .scratch import Scratch

FORMAT = 12
POINTER = "spending_build"
METHOD_GROUP = """CASE WHEN m LIKE '%เฉพาะเจาะจง%' OR m LIKE '%ตกลงราคา%' OR m LIKE '%กรณีพิเศษ%' THEN 'เฉพาะเจาะจง'
  WHEN m LIKE '%คัดเลือก%' OR m LIKE '%วิธีพิเศษ%' THEN 'คัดเลือก'
  WHEN m LIKE '%ประกวดราคา%' OR m LIKE '%e-bidding%' OR m LIKE '%e-market%' OR m LIKE '%ตลาดอิเล็กทรอนิกส์%'
    OR m LIKE '%สอบราคา%' OR m LIKE '%ประกาศเชิญชวน%' THEN 'ประกาศเชิญชวนทั่วไป'
  ELSE 'อื่น ๆ' END"""
MEASURES = ("sum(price_agree) AS amount, sum(project_money) AS budget, sum(price_build) AS reference_price, "
            "count(*) AS _count, count(*) FILTER (WHERE flags <> 0) AS flagged")
ROLLUPS = {   # in the order a query tries them (the first that holds every column it needs)
    "r_proc_time": ("fiscal_year", "month", "method_id", "type_id", "province_id", "source_id"),
    "r_proc_agency": ("fiscal_year", "agency_id", "method_id", "source_id"),
    "r_proc_contractor": ("contractor_id", "fiscal_year", "source_id"),
    # Agencies by province, sorted by province for the province pages.
    "r_proc_place": ("province_id", "agency_id", "fiscal_year", "source_id"),
    # An agency's contractors, sorted by agency.
    "r_proc_agency_pair": ("agency_id", "contractor_id", "source_id"),
    # Sorted by contractor first so a contractor's page reads a few row groups.
    "r_proc_pair": ("contractor_id", "agency_id", "method_id", "fiscal_year", "source_id"),
}
# Rollups as large as the facts' share they serve: read only with a cut on the column they are sorted by.
CUT_ONLY = {"r_proc_pair": "contractor_id", "r_proc_agency_pair": "agency_id"}
# e-GP project id -> agency, sorted by project id: a project's page then reads only its agency's row groups.
PROJECT_INDEX = "project_agency"
# The fact file again, in the procurement search's default order: its first matching rows are the top ones.
BY_VALUE = "contracts_by_value"


def builds_dir(settings):
    """Where build folders live (inside the Parquet folder the locked-down reader may open)."""
    return tables.parquet_dir(settings) / "spending"


def feed_rows(db):
    """Every live feed resource of an active dataset, with its source declaration and version file."""
    registered = store.feeds(db)
    rows = []
    for r in datastore_store.live_tables(db, list(registered)):
        feed, source = registered[r["resource_id"]]
        rows.append({"resource_id": r["resource_id"], "feed": feed, "source": source,
                     **{k: r[k] for k in r.keys() if k != "resource_id"}})
    decl = sourceformats.declared()
    return [{**{k: v for k, v in r.items() if k != "package_extras"}, "coverage": _coverage(r["package_extras"]),
             "package_title_en": _extra(r["package_extras"], "title_en"),
             **{k: decl.get(r["source"], {}).get(k) for k in ("precedence", "granularity", "constants")}}
            for r in rows]


def _extra(extras, key):
    """One extra of a dataset's stored extras, or None."""
    try:
        items = json.loads(extras or "[]")
        items = items.items() if isinstance(items, dict) else [(e.get("key"), e.get("value")) for e in items]
        return next((v for k, v in items if k == key), None)
    except (ValueError, TypeError, AttributeError):
        return None


def _coverage(extras):
    """The dataset's declared coverage notes (extra `coverage_notes`: a JSON list of {fiscal_years, th, en})."""
    raw = _extra(extras, "coverage_notes")
    try:
        notes = json.loads(raw) if isinstance(raw, str) else raw
        return [n for n in notes or [] if isinstance(n, dict)]
    except (ValueError, TypeError):
        return []


def build_id(rows):
    """Content address of a build: its format and the exact version files it reads."""
    key = json.dumps([FORMAT] + [[r["resource_id"], r["source"], r["parquet_sha256"]] for r in rows])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def current(settings, db):
    """(build folder, manifest) of the live build, or (None, None)."""
    bid = sitemeta.get(db, POINTER)
    if not bid:
        return None, None
    folder = builds_dir(settings) / bid
    try:
        return folder, _manifest(str(folder))
    except FileNotFoundError:
        return None, None


@functools.lru_cache(maxsize=8)
def _manifest(folder):
    # A build folder never changes once live (its name is the hash of its inputs), so each process reads it once.
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


def rebuild(settings, db, force=False):
    """Build (unless this exact build exists) and make it live; returns its manifest.

    One node builds at a time; another asking meanwhile waits, then finds the build made (the old one is
    served until the pointer flips)."""
    with exclusive(db, "spending-build"):
        return _rebuild(settings, db, force)


def _rebuild(settings, db, force):
    rows = feed_rows(db)
    bid = build_id(rows)
    final = builds_dir(settings) / bid
    built = force or not (final / "manifest.json").exists()
    if built:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".build-{bid}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            with Scratch(str(Path(settings.storage_dir) / "tmp")) as scratch:
                manifest = _build(settings, scratch.cur, rows, tmp, bid)
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    previous = sitemeta.get(db, POINTER)
    with transaction(db):
        sitemeta.put(db, POINTER, bid)
    _prune(settings, keep={bid, previous}, stages={_stage_key(r) + ".parquet" for r in rows})
    return {**current(settings, db)[1], "built_now": built}


def _prune(settings, keep, stages):
    # The previous build stays for processes still reading it; older ones go, and so do the staging
    # files of source versions that no longer feed the model.
    for d in builds_dir(settings).iterdir():
        if d.name not in keep and not d.name.startswith(".") and d.name != STAGE_CACHE:
            shutil.rmtree(d, ignore_errors=True)
    for f in (builds_dir(settings) / STAGE_CACHE).glob("*.parquet"):
        if f.name not in stages:
            f.unlink(missing_ok=True)


def _copy(cur, sql, path):
    cur.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")


def _build(settings, cur, rows, out, bid):
    started = time.perf_counter()
    cur.execute(feeds.STAGE_BUDGET)
    stage_parts = []
    contract_parts = []
    cur.execute("CREATE TABLE src (source_id INTEGER, resource_id VARCHAR, package_id VARCHAR, package_name VARCHAR, "
                "package_title VARCHAR, resource_name VARCHAR, source VARCHAR, feed VARCHAR, granularity VARCHAR, "
                "precedence INTEGER, dataset_rank INTEGER)")
    ranks = {}
    for sid, r in enumerate(rows, start=1):
        ranks.setdefault(r["package_id"], len(ranks) + 1)
        cur.execute("INSERT INTO src VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [sid, r["resource_id"], r["package_id"], r["package_name"], r["package_title"], r["resource_name"],
                     r["source"], r["feed"], r["granularity"], r["precedence"] or 50, ranks[r["package_id"]]])
        scan = tables.scan(settings, r["parquet_sha256"])
        cols = [c[0] for c in cur.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        if r["feed"] in feeds.BUDGET_FEEDS:
            cached = _staged(settings, cur, r, scan, cols)
            if cached:
                # Read in place (not copied into a table): each step reads only the columns it needs.
                stage_parts.append(f"SELECT {sid} AS source_id, * FROM read_parquet('{cached}')")
        elif r["feed"] == "procurement":
            contract_parts.append(feeds.contract_select(scan, sid, cols))
    cur.execute("CREATE VIEW stage AS " + (" UNION ALL ".join(stage_parts) if stage_parts
                                           else f"SELECT 0 AS source_id, {feeds.CLEAN_COLUMNS} FROM stage_budget"))
    cur.execute("CREATE VIEW craw AS " + (" UNION ALL ".join(contract_parts) if contract_parts
                                          else feeds.contract_select("(SELECT 0 AS _id) t", 0, []) + " WHERE false"))
    _dimensions(cur)
    _copy(cur, reconcile.budget_facts(cur), out / "budget.parquet")
    counts = {"budget_facts": cur.execute("SELECT count(*) FROM f_budget").fetchone()[0], **_contracts(cur, out)}
    totals = reconcile.official_totals(cur)
    cube_years = {cube: sorted(int(y) for y in totals.get(phase, {})) for cube, phase in
                  (("budget", "appropriated"), ("disbursement", "disbursed"))}
    # The default year of a page is the latest one the sources break down, not one that is only a total.
    itemised = {cube: reconcile.itemised_years(cur, phase)
                for cube, phase in (("budget", "appropriated"), ("disbursement", "disbursed"))}
    cube_years["procurement"] = [y for (y,) in cur.execute(
        "SELECT DISTINCT fiscal_year FROM read_parquet(?) WHERE fiscal_year IS NOT NULL ORDER BY 1",
        [str(out / "contracts.parquet")]).fetchall()]
    for name in ("ref_province", "d_ministry", "d_agency", "d_plan", "d_bproject", "d_category", "d_method",
                 "d_type", "d_contractor", "src"):
        _copy(cur, f"SELECT * FROM {name}", out / f"{name}.parquet")
        counts[name] = cur.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    years = [y for (y,) in cur.execute(
        "SELECT DISTINCT fiscal_year FROM read_parquet(?) UNION SELECT DISTINCT fiscal_year FROM read_parquet(?) "
        "ORDER BY 1", [str(out / "budget.parquet"), str(out / "contracts.parquet")]).fetchall() if y]
    return {"build": bid, "format": FORMAT, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "seconds": round(time.perf_counter() - started, 2), "rows": counts, "fiscal_years": years,
            "rollups": {k: list(v) for k, v in ROLLUPS.items()}, "totals": totals, "cube_years": cube_years,
            "itemised_years": {**itemised, "procurement": cube_years["procurement"]},
            "sources": [{"source_id": i, "resource_id": r["resource_id"], "package_name": r["package_name"],
                         "package_id": r["package_id"], "package_title": r["package_title"],
                         "package_title_en": r.get("package_title_en"), "source": r["source"],
                         "resource_name": r["resource_name"], "version": r["version"],
                         "feed": r["feed"], "granularity": r["granularity"], "coverage": r.get("coverage") or []}
                        for i, r in enumerate(rows, start=1)]}


STAGE_CACHE = "stage"


def _stage_key(r):
    return hashlib.sha256(json.dumps([FORMAT, r["source"], r["parquet_sha256"], r["constants"]],
                                     sort_keys=True).encode()).hexdigest()[:32]


def _staged(settings, cur, r, scan, cols):
    """The cached, cleaned staging file of one budget source version (written on first use), or None."""
    key = _stage_key(r)
    folder = builds_dir(settings) / STAGE_CACHE
    path = folder / f"{key}.parquet"
    if path.exists():
        return path
    sql = feeds.budget_select(r["source"], scan, 0, cols, r["constants"])
    if not sql:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}-{os.getpid()}.parquet"
    try:
        cur.execute("DELETE FROM stage_budget")
        cur.execute(f"INSERT INTO stage_budget {sql}")
        _copy(cur, f"SELECT {feeds.CLEAN_COLUMNS} FROM stage_budget", tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _name_dimension(cur, table, expr, where="true"):
    """A dimension of distinct cleaned names: id 0 means not specified."""
    cur.execute(f"""CREATE TABLE {table} AS SELECT 0 AS id, '(ไม่ระบุ)' AS name UNION ALL
      SELECT row_number() OVER (ORDER BY name) AS id, name FROM
        (SELECT DISTINCT {expr} AS name FROM stage WHERE {where}) t WHERE name IS NOT NULL""")


def _dimensions(cur):
    cur.execute(f"""CREATE TABLE d_ministry AS
      WITH raw AS (SELECT DISTINCT ministry AS raw FROM stage WHERE ministry IS NOT NULL),
        m AS (SELECT raw, coalesce(a.name, raw) AS name FROM raw LEFT JOIN ref_ministry_alias a ON a.alias = raw)
      SELECT 0 AS id, '(ไม่ระบุกระทรวง)' AS name, '(ministry not specified)' AS name_en, []::VARCHAR[] AS names
      UNION ALL SELECT {NOT_ITEMISED}, '{NOT_ITEMISED_TH}', '{NOT_ITEMISED_EN}', []::VARCHAR[]
      UNION ALL
      SELECT row_number() OVER (ORDER BY coalesce(r.ord, 1000), m.name) AS id, m.name, coalesce(r.name_en, m.name),
        list(DISTINCT raw ORDER BY raw) FROM m LEFT JOIN ref_ministry r USING (name) GROUP BY m.name, r.name_en, r.ord""")
    cur.execute("""CREATE TABLE ministry_map AS SELECT DISTINCT s.ministry AS raw, d.id AS ministry_id
      FROM (SELECT DISTINCT ministry FROM stage) s JOIN d_ministry d ON list_contains(d.names, s.ministry)""")
    cur.execute(f"""CREATE TABLE d_agency AS
      WITH raw AS (
        SELECT agency_key AS key, agency AS raw, mm.ministry_id, count(*) AS n
          FROM stage s LEFT JOIN ministry_map mm ON mm.raw = s.ministry
          WHERE agency_key IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT khl_agency_key(dept_name), khl_clean(dept_name), NULL, count(*) FROM craw
          WHERE khl_agency_key(dept_name) IS NOT NULL GROUP BY ALL)
      SELECT 0 AS id, '(ไม่ระบุหน่วยงาน)' AS name, 0 AS ministry_id, []::VARCHAR[] AS names, '' AS key
      UNION ALL SELECT {NOT_ITEMISED}, '{NOT_ITEMISED_TH}', 0, []::VARCHAR[], '~not-itemised'
      UNION ALL
      SELECT row_number() OVER (ORDER BY key) AS id, arg_max(raw, n) AS name,
        coalesce(arg_max(ministry_id, n) FILTER (WHERE ministry_id IS NOT NULL), 0),
        list(DISTINCT raw ORDER BY raw), key FROM raw GROUP BY key""")
    _name_dimension(cur, "d_plan", "plan")
    _name_dimension(cur, "d_bproject", "project")
    _name_dimension(cur, "d_category", "category")
    cur.execute(f"""CREATE TABLE d_method AS
      WITH raw AS (SELECT DISTINCT khl_clean(method) AS m FROM craw WHERE khl_clean(method) IS NOT NULL)
      SELECT 0 AS id, '(ไม่ระบุวิธี)' AS name, 'อื่น ๆ' AS "group" UNION ALL
      SELECT row_number() OVER (ORDER BY m), m, {METHOD_GROUP} FROM raw""")
    cur.execute("""CREATE TABLE d_type AS SELECT 0 AS id, '(ไม่ระบุประเภท)' AS name UNION ALL
      SELECT row_number() OVER (ORDER BY t), t FROM (SELECT DISTINCT khl_clean(project_type) AS t FROM craw) x
      WHERE t IS NOT NULL""")
    # Contractors are keyed by tax id; masked or missing ids fall back to the cleaned name.
    cur.execute("""CREATE TABLE d_contractor AS
      WITH raw AS (SELECT khl_tin_clean(winner_tin) AS tin, khl_clean(winner) AS name, count(*) AS n FROM craw
          WHERE khl_clean(winner) IS NOT NULL OR khl_tin_clean(winner_tin) <> '' GROUP BY ALL),
        keyed AS (SELECT CASE WHEN regexp_full_match(tin, '[0-9]{13}') THEN tin ELSE 'name:' || name END AS key, *
          FROM raw)
      SELECT 0 AS id, '' AS key, NULL AS tin, '(ไม่ระบุผู้ชนะ)' AS name, []::VARCHAR[] AS names, 'blank' AS tin_status,
        'unknown' AS kind UNION ALL
      SELECT row_number() OVER (ORDER BY key), key, CASE WHEN key LIKE 'name:%' THEN NULL ELSE key END,
        arg_max(name, n), list(DISTINCT name ORDER BY name) FILTER (WHERE name IS NOT NULL),
        khl_tin_status(arg_max(tin, n)),
        CASE WHEN key LIKE 'name:%' THEN 'unknown' WHEN key LIKE '0%' THEN 'juristic' ELSE 'person' END
      FROM keyed GROUP BY key""")


def _contracts(cur, out):
    month = "month(coalesce(c.contract_date, c.transaction_date, c.announce_date))"
    fy_from_date = ("year(coalesce(c.contract_date, c.transaction_date)) + 543 + "
                    "CASE WHEN month(coalesce(c.contract_date, c.transaction_date)) >= 10 THEN 1 ELSE 0 END")
    cur.execute(f"""CREATE TABLE c0 AS SELECT (c.source_id::BIGINT << 40) | c.source_row AS contract_key,
        coalesce(c.budget_year, {fy_from_date})::SMALLINT AS fiscal_year, coalesce({month}, 0)::TINYINT AS month,
        coalesce(a.id, 0) AS agency_id, coalesce(m.id, 0)::SMALLINT AS method_id, coalesce(m."group", 'อื่น ๆ') AS method_group,
        coalesce(t.id, 0)::SMALLINT AS type_id, coalesce(pa.province_id, 99)::SMALLINT AS province_id,
        coalesce(k.id, 0) AS contractor_id, c.source_id::SMALLINT AS source_id, c.source_row,
        c.project_id, c.project_name, c.dept_sub_name, c.district, c.project_status, c.contract_no, c.contract_status,
        c.announce_date, c.contract_date, c.contract_finish_date,
        c.project_money::DECIMAL(18,2) AS project_money, c.price_build::DECIMAL(18,2) AS price_build,
        coalesce(c.price_agree, c.sum_price_agree)::DECIMAL(18,2) AS price_agree,
        c.sum_price_agree::DECIMAL(18,2) AS sum_price_agree
      FROM craw c
      LEFT JOIN d_agency a ON a.key = khl_agency_key(c.dept_name) AND a.id > 0
      LEFT JOIN d_method m ON m.name = khl_clean(c.method) AND m.id > 0
      LEFT JOIN d_type t ON t.name = khl_clean(c.project_type) AND t.id > 0
      LEFT JOIN ref_province_alias pa ON pa.alias = khl_province_key(c.province)
      LEFT JOIN d_contractor k ON k.id > 0 AND k.key = CASE WHEN regexp_full_match(khl_tin_clean(c.winner_tin), '[0-9]{{13}}')
        THEN khl_tin_clean(c.winner_tin) ELSE 'name:' || khl_clean(c.winner) END""")
    cur.execute(f"CREATE TABLE split AS {flags.splitting_sql('c0')}")
    row_flags = flags.contract_flags_sql("method_group", "coalesce(sum_price_agree, price_agree)", "price_build",
                                         "project_money")
    path = out / "contracts.parquet"
    _copy(cur, f"""SELECT c0.* EXCLUDE (method_group), ({row_flags}
        | CASE WHEN split.contract_key IS NULL THEN 0 ELSE {flags.CONTRACT_FLAGS['possible_splitting']} END)::INTEGER AS flags
      FROM c0 LEFT JOIN split USING (contract_key) ORDER BY agency_id, fiscal_year, contract_key""", path)
    counts = {"contracts": cur.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]}
    _copy(cur, f"SELECT * FROM read_parquet('{path}') ORDER BY price_agree DESC NULLS LAST, contract_key",
          out / f"{BY_VALUE}.parquet")
    _copy(cur, f"SELECT DISTINCT project_id, agency_id FROM read_parquet('{path}') WHERE project_id IS NOT NULL "
               "ORDER BY ALL", out / f"{PROJECT_INDEX}.parquet")
    for name, keys in ROLLUPS.items():
        _copy(cur, f"SELECT {', '.join(keys)}, {MEASURES} FROM read_parquet('{path}') GROUP BY ALL ORDER BY ALL",
              out / f"{name}.parquet")
    cur.execute(f"CREATE VIEW c1 AS SELECT c.*, m.\"group\" AS method_group FROM read_parquet('{path}') c "
                "JOIN d_method m ON m.id = c.method_id")
    cur.execute(f"CREATE TABLE agency_flags AS {flags.agency_flags_sql('c1')}")
    _copy(cur, "SELECT * FROM agency_flags ORDER BY agency_id, fiscal_year", out / "agency_flags.parquet")
    _copy(cur, flags.dominance_sql("agency_flags") + " ORDER BY contractor_id, agency_id",
          out / "contractor_flags.parquet")
    return counts
