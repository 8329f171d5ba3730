"""Synthetic spending data for the demo and benchmarks: a national budget with the real Budget Act
totals, monthly disbursement and e-GP contracts (any number, generated in DuckDB SQL).

Everything is published as ordinary catalogue datasets that feed the spending model, labelled synthetic.
"""
import json
import random
from pathlib import Path

from catalog.datastore import tables
from catalog.datastore.loads import record_version
from catalog.packages import ensure_package
from catalog.resources import resource_create
from catalog.store.db import transaction

from . import build, reference, store

SEED = Path(__file__).resolve().parent.parent / "data" / "seed" / "budget.json"
ORG = {"name": "synthetic-spending", "title": "ข้อมูลการคลังสังเคราะห์ (Synthetic spending data)"}
LABEL = "ข้อมูลสังเคราะห์เพื่อการสาธิต ไม่ใช่ข้อมูลจริง (synthetic demo data, not real figures)"


def inputs():
    """The authored seed inputs."""
    return json.loads(SEED.read_text(encoding="utf-8"))


def _spread(rng, total, n, weights=None):
    """Split an integer total into n non-negative integers that add up exactly."""
    weights = weights or [rng.lognormvariate(0, 1) for _ in range(n)]
    s = sum(weights)
    parts = [int(total * w / s) for w in weights]
    parts[-1] += total - sum(parts)
    return parts


def budget_lines(rng, years, lines_per_year):
    """bbgfproject-shaped rows: amount, province split (compare) and GFMIS disbursement, in baht."""
    doc = inputs()
    provs = [p["name_th"] for p in reference.provinces_doc()["provinces"]]
    ministries = doc["ministries"]
    share_sum = sum(v[0] for v in ministries.values())
    cats, cat_w = zip(*doc["categories"])
    rows = []
    for year in years:
        total = doc["act_totals_million"][str(year)] * 1_000_000
        m_amounts = _spread(rng, total, len(ministries), [v[0] / share_sum for v in ministries.values()])
        for (ministry, (share, agencies)), m_total in zip(ministries.items(), m_amounts):
            n_lines = max(len(agencies), int(lines_per_year * share / share_sum))
            a_amounts = _spread(rng, m_total, len(agencies))
            for agency, a_total in zip(agencies, a_amounts):
                k = max(1, n_lines // len(agencies))
                # Round lines to 100 baht like the bill; the last line takes the remainder so totals stay exact.
                amounts = [a // 100 * 100 for a in _spread(rng, a_total, k)]
                amounts[-1] += a_total - sum(amounts)
                for amount in amounts:
                    topic = rng.choice(doc["topics"])
                    output = rng.choice(doc["outputs"]).format(agency=agency, topic=topic, infra=rng.choice(doc["infra"]))
                    ratio = rng.uniform(0.82, 0.995)
                    gf = int(amount * ratio)
                    if rng.random() < 0.35:
                        places = rng.sample(provs, rng.randint(3, 12))
                        bb = _spread(rng, amount, len(places))
                        gfs = _spread(rng, gf, len(places))
                        compare = [{"bb_amount": b, "bb_province": p, "gf_amount": g, "gf_province": p}
                                   for b, g, p in zip(bb, gfs, places)]
                    else:
                        compare = [{"bb_amount": amount, "bb_province": "กรุงเทพมหานคร", "gf_amount": gf,
                                    "gf_province": "ส่วนกลาง"}]
                    rows.append({"bb_code": f"{year}{len(rows):012d}", "bb_year": year, "amount": amount,
                                 "min": ministry, "agc": agency, "name": f"{output} ({year})",
                                 "plan_name": rng.choice(doc["plans"]), "stg_name": None,
                                 "objc_level1_name": rng.choices(cats, cat_w)[0],
                                 "compare": json.dumps(compare, ensure_ascii=False), "gf_amount_sum": gf})
    return rows


def monthly(rng, lines):
    """Disbursement per ministry per month (million baht) adding up to the lines' disbursement exactly."""
    totals = {}
    for r in lines:
        key = (r["min"], r["bb_year"])
        totals[key] = totals.get(key, 0) + r["gf_amount_sum"]
    # October starts slow; the year's end fills up.
    shape = [0.05, 0.07, 0.08, 0.08, 0.08, 0.09, 0.08, 0.08, 0.09, 0.09, 0.1, 0.11]
    out = []
    for (ministry, year), total in sorted(totals.items()):
        parts = _spread(rng, total, 12, [w * rng.uniform(0.8, 1.2) for w in shape])
        for i, baht in enumerate(parts):
            month = (10 + i - 1) % 12 + 1
            ce = year - 543 - (1 if month >= 10 else 0)
            out.append({"ministry": ministry, "Month": f"{ce}-{month:02d}", "Use": baht / 1_000_000})
    return out


def _sql_list(values):
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def contracts_sql(n, years, seed=7):
    """A SELECT of n e-GP project-contract rows in the normalised egp-csv shape, with `_id` first."""
    doc = inputs()
    s1, s2, s3 = doc["syllables"]
    central = [a for _, (_, ags) in doc["ministries"].items() for a in ags][:60]
    n_agencies = min(len(central) + len(doc["local_kinds"]) * len(s1) * len(s2) * len(s3), max(200, n // 400))
    n_contractors = min(len(s1) * len(s2) * len(s3) * len(doc["company_forms"]) * 4, max(300, n // 60))
    provs = reference.provinces_doc()["provinces"]
    forms = doc["company_forms"]
    tpl = doc["project_templates"]
    types = list(tpl)
    y0, ny = min(years), len(years)
    return f"""
WITH c AS (SELECT i, khl_hh(i, {seed}) AS h1, khl_hh(i, {seed + 1}) AS h2, khl_hh(i, {seed + 2}) AS h3, khl_hh(i, {seed + 3}) AS h4,
    khl_hh(i, {seed + 4}) AS h5, (i % 997) < 4 AS splitter, i // 997 AS cluster FROM range({n}) t(i)),
  p AS (SELECT *,
    CASE WHEN splitter THEN khl_hh(cluster, 11) % {n_agencies}
         ELSE CAST(floor({n_agencies} * pow((h2 % 1000003) / 1000003.0, 2.2)) AS BIGINT) END AS ag,
    CASE WHEN splitter THEN khl_hh(cluster, 12) % {n_contractors}
         ELSE CAST(floor({n_contractors} * pow((h3 % 1000003) / 1000003.0, 2.5)) AS BIGINT) END AS ct,
    CASE WHEN splitter THEN 0 WHEN h4 % 100 < 80 THEN 0 WHEN h4 % 100 < 95 THEN 1 WHEN h4 % 100 < 98 THEN 2 ELSE 3 END AS mk,
    {y0} + (CASE WHEN splitter THEN khl_hh(cluster, 13) ELSE h1 END) % {ny} AS fy,
    (h5 % 1000) / 1000.0 AS u, ((h5 // 1000) % 1000) / 1000.0 AS v, ((h5 // 1000000) % 1000) / 1000.0 AS w FROM c),
  q AS (SELECT *,
    CASE WHEN ag < {len(central)} THEN {_sql_list(central)}[ag + 1]
      ELSE {_sql_list(doc['local_kinds'])}[(ag % {len(doc['local_kinds'])}) + 1]
        || {_sql_list(s1)}[((ag // 3) % {len(s1)}) + 1] || {_sql_list(s2)}[((ag // {3 * len(s1)}) % {len(s2)}) + 1]
        || {_sql_list(s3)}[((ag // {3 * len(s1) * len(s2)}) % {len(s3)}) + 1] END AS dept,
    khl_hh(ag, 5) % {len(provs)} AS home,
    CASE WHEN splitter THEN 'จ้างก่อสร้าง' ELSE {_sql_list(types)}[(h1 // 7) % {len(types)} + 1] END AS ptype,
    CASE mk WHEN 0 THEN 'เฉพาะเจาะจง' WHEN 1 THEN 'ประกวดราคาอิเล็กทรอนิกส์ (e-bidding)'
      WHEN 2 THEN 'ตลาดอิเล็กทรอนิกส์ (e-market)' ELSE 'คัดเลือก' END AS method,
    CASE WHEN splitter THEN 450000 + floor(u * 49000)
      WHEN mk = 0 AND h1 % 1000 < 3 THEN 500000 + floor(u * 1500000)
      WHEN mk = 0 THEN floor(exp(ln(3000) + u * (ln(499000) - ln(3000))) / 10) * 10
      ELSE floor(exp(ln(500000) + u * (ln(60000000) - ln(500000))) / 100) * 100 END AS budget,
    CASE WHEN splitter THEN khl_hh(cluster, 14) % 330 + (i % 997) * 6
      WHEN mk = 0 AND h2 % 100 < 22 THEN 304 + (h3 % 60) ELSE h3 % 365 END AS day
    FROM p),
  r AS (SELECT *,
    CASE WHEN h4 % 1000 < 5 THEN budget * 1.05 ELSE floor(budget * (0.9 + v * 0.1)) END AS ref,
    DATE '{y0 - 544}-10-01' + INTERVAL ((fy - {y0}) * 365 + day) DAY AS cdate,
    CAST(10550000000 + (ct * 7919) % 899999999 AS VARCHAR) AS tin11 FROM q),
  s AS (SELECT *,
    CASE WHEN splitter THEN budget WHEN mk = 0 AND w < 0.25 THEN ref ELSE floor(ref * (0.82 + w * 0.18)) END AS agreed,
    (CASE WHEN ct % 20 = 0 THEN '3' ELSE '0' END) || tin11 AS tin12 FROM r)
SELECT i + 1 AS _id, i + 1 AS row_no,
  lpad(CAST((fy % 100) * 100 + month(cdate) AS VARCHAR), 4, '0') || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') AS project_id,
  replace(replace({_sql_list([t for ts in tpl.values() for t in ts])}[
      (CASE ptype {' '.join(f"WHEN '{t}' THEN {sum(len(tpl[x]) for x in types[:k])}" for k, t in enumerate(types))} END)
      + (h2 // 13) % (CASE ptype {' '.join(f"WHEN '{t}' THEN {len(tpl[t])}" for t in types)} END) + 1],
    '{{n}}', CAST(1 + h5 % 12 AS VARCHAR)), '{{place}}', {_sql_list(s2)}[(h1 // 11) % {len(s2)} + 1])
    || ' โดยวิธี' || method AS project_name,
  ptype AS project_type, dept AS dept_name, dept AS dept_sub_name, 'วิธีการจัดหา' AS method_group, method,
  CASE WHEN mk > 0 THEN CAST(cdate - INTERVAL (20 + h3 % 20) DAY AS DATE) END AS announce_date,
  CAST(budget AS DECIMAL(38,2)) AS project_money, CAST(ref AS DECIMAL(38,2)) AS price_build,
  CAST(agreed AS DECIMAL(38,2)) AS sum_price_agree, fy AS budget_year, CAST(cdate AS DATE) AS transaction_date,
  CASE WHEN h1 % 10 = 0 THEN {_sql_list([p['name_th'] for p in provs])}[(h2 % {len(provs)}) + 1]
    ELSE {_sql_list([p['name_th'] for p in provs])}[home + 1] END AS province,
  NULL::VARCHAR AS district, NULL::VARCHAR AS subdistrict, 'แล้วเสร็จตามสัญญา' AS project_status,
  NULL::VARCHAR AS geom, NULL::VARCHAR AS lat, NULL::VARCHAR AS lon,
  tin12 || CAST((11 - list_sum(list_transform(range(1, 13), lambda k: CAST(substr(tin12, k, 1) AS INTEGER) * (14 - k))) % 11) % 10 AS VARCHAR) AS winner_tin,
  {_sql_list([f[0] for f in forms])}[(ct % {len(forms)}) + 1] || {_sql_list(s1)}[((ct // {len(forms)}) % {len(s1)}) + 1]
    || {_sql_list(s2)}[((ct // {len(forms) * len(s1)}) % {len(s2)}) + 1]
    || {_sql_list(s3)}[((ct // {len(forms) * len(s1) * len(s2)}) % {len(s3)}) + 1]
    || {_sql_list([f[1] for f in forms])}[(ct % {len(forms)}) + 1] AS winner,
  CAST(1 + i % 500 AS VARCHAR) || '/' || CAST(fy AS VARCHAR) AS contract_no, CAST(cdate AS DATE) AS contract_date,
  CAST(cdate + INTERVAL (30 + h4 % 300) DAY AS DATE) AS contract_finish_date,
  CAST(agreed AS DECIMAL(38,2)) AS price_agree, 'สิ้นสุดสัญญา' AS contract_status
FROM s"""


def _publish(ctx, cur, dataset, title, resource, select_sql, feed, source, notes):
    """Write one Parquet version and create its dataset/resource, registered as a spending feed."""
    # Generated rows come out in _id order already; sorting 10M wide rows would need ~15 GB of memory.
    sha, rows = tables.write_version(ctx.settings, cur, select_sql, ordered=True)
    described = cur.execute(f"DESCRIBE SELECT * FROM ({select_sql}) LIMIT 0").fetchall()
    fields = [{"id": name, "type": tables.ckan_type(kind)} for name, kind, *_ in described if name != "_id"]
    with transaction(ctx.db):
        pkg = ensure_package(ctx, {**ORG, "description": LABEL},
                             {"name": dataset, "title": title, "notes": notes,
                              "tags": [{"name": "synthetic"}, {"name": "งบประมาณ"}]})
        res = resource_create(ctx, {"package_id": pkg["id"], "name": resource, "format": "Parquet",
                                    "url_type": "datastore", "url": ""})
        record_version(ctx, res["id"], sha, rows, fields, [], "khlang seed-demo (synthetic)")
        store.register_feed(ctx.db, res["id"], feed, source)
    return rows


_TYPES = {bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", str: "VARCHAR"}


def _columns(rows):
    """Generated rows (dicts of one shape) by column, each typed by its first value; a column of only None is
    text (stg_name, as in the bill)."""
    columns = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        kind = next((_TYPES[type(v)] for v in values if v is not None), "VARCHAR")
        columns[name] = (values, kind)
    return columns


def seed_spending(ctx, contracts=20000, years=range(2563, 2569), lines_per_year=8000, seed=2565):
    """Publish the synthetic budget, disbursement and contracts datasets, then build the spending model."""
    rng = random.Random(seed)
    years = list(years)
    lines = budget_lines(rng, years, lines_per_year)
    cur = tables.writer(ctx.settings)
    cur.execute("CREATE OR REPLACE MACRO khl_hh(a, b) AS CAST(hash(a, b) >> 1 AS BIGINT)")
    try:
        tables.columns_table(cur, "gen_lines", _columns(lines))
        n_lines = _publish(ctx, cur, "synthetic-budget-lines", "รายการงบประมาณรายจ่าย (สังเคราะห์)",
                           "budget-lines", "SELECT row_number() OVER () AS _id, * REPLACE (CAST(compare AS JSON) AS compare) "
                           "FROM gen_lines", "budget_lines", "bbgfproject", LABEL)
        tables.columns_table(cur, "gen_monthly", _columns(monthly(rng, lines)))
        _publish(ctx, cur, "synthetic-disbursement-monthly", "ผลการเบิกจ่ายรายเดือนรายกระทรวง (สังเคราะห์)",
                 "disbursement-monthly", "SELECT row_number() OVER () AS _id, ministry, \"Month\", "
                 "CAST(\"Use\" AS DECIMAL(38,9)) AS \"Use\" FROM gen_monthly", "disbursement_monthly", "mof-monthly", LABEL)
        n_contracts = _publish(ctx, cur, "synthetic-egp-contracts", "สัญญาจัดซื้อจัดจ้างภาครัฐ e-GP (สังเคราะห์)",
                               "egp-contracts", contracts_sql(contracts, years), "procurement", "egp-csv", LABEL)
    finally:
        cur.close()
    manifest = build.rebuild(ctx.settings, ctx.db)
    return {"budget_lines": n_lines, "contracts": n_contracts, "build_seconds": manifest["seconds"]}
