"""How each source format's loaded DataStore table becomes rows of the spending model.

Budget-side feeds become rows of one staging table (fiscal year, phase, names, province, amount in
baht); procurement feeds are read as the normalised e-GP table the `egp-csv` reader loads.
"""
STAGE_BUDGET = """CREATE TABLE stage_budget (fiscal_year INTEGER, phase VARCHAR, month INTEGER, ministry VARCHAR,
  agency VARCHAR, plan VARCHAR, project VARCHAR, category VARCHAR, item VARCHAR, province VARCHAR,
  amount DECIMAL(38,2), source_id INTEGER, source_row BIGINT, split_ok BOOLEAN, level VARCHAR)"""
# level: 'national' (a year's official total), 'ministry' (a ministry's official total) or 'detail' (lines, months).
BUDGET_FEEDS = ("budget_lines", "ministry_totals", "disbursement_monthly")
# One source's staged rows with their names cleaned once (the cleaning macros are the costly part of a build):
# cached per source version, so a build after a small ingest re-stages only that source.
CLEAN_COLUMNS = """fiscal_year, phase, month, khl_clean(ministry) AS ministry, khl_clean(agency) AS agency,
  khl_agency_key(agency) AS agency_key, khl_clean(plan) AS plan, khl_clean(project) AS project,
  khl_clean(category) AS category, item, khl_province_key(province) AS province_key, amount, source_row, split_ok, level"""

# The columns a procurement table must have (the egp-csv reader's normalised names).
CONTRACT_COLUMNS = ("project_id", "project_name", "project_type", "dept_name", "dept_sub_name", "method",
                    "announce_date", "project_money", "price_build", "sum_price_agree", "budget_year",
                    "transaction_date", "province", "district", "project_status", "winner_tin", "winner",
                    "contract_no", "contract_date", "contract_finish_date", "price_agree", "contract_status")
COMPARE_TYPE = ('[{"bb_amount": "DECIMAL(38,2)", "bb_province": "VARCHAR", '
                '"gf_amount": "DECIMAL(38,2)", "gf_province": "VARCHAR"}]')
# Category texts carry OCR'd amounts in some kaogeek rows ("งบรายจ่ายอื่น 405,074,800").
CATEGORY = r"nullif(trim(regexp_replace({}, '[\s0-9,\.]+$', '')), '')"


def _lit(value):
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def _kaogeek(scan, sid, _cols, _consts):
    # Only rows of the bill's own year: multi-year obligation rows belong to later years' bills.
    return f"""SELECT BILL_YEAR_BE, 'appropriated', 0, MINISTRY, BUDGETARY_UNIT, BUDGET_PLAN,
      coalesce(PROJECT, OUTPUT), {CATEGORY.format('CATEGORY_LV1')}, ITEM_DESCRIPTION, NULL, AMOUNT, {sid}, _id, NULL,
      'detail' FROM {scan} WHERE IN_BILL_YEAR AND AMOUNT IS NOT NULL"""


def _split(scan, sid, phase, part, place, total):
    """One line becomes one row per province of its split; what the split misses stays unspecified."""
    return f"""WITH l AS (SELECT _id, bb_year, {total} AS total, "min", agc, plan_name, name, objc_level1_name,
        from_json(CAST(compare AS VARCHAR), '{COMPARE_TYPE}') AS cmp FROM {scan}),
      s AS (SELECT _id, unnest(cmp, recursive := true) FROM l),
      p AS (SELECT _id, {place} AS province, sum({part}) AS amount FROM s WHERE {part} IS NOT NULL GROUP BY ALL),
      t AS (SELECT _id, sum(amount) AS split_total FROM p GROUP BY _id)
    SELECT bb_year, '{phase}', 0, "min", agc, plan_name, name, objc_level1_name, name, p.province, p.amount, {sid},
      l._id, t.split_total = l.total, 'detail'
      FROM l JOIN p USING (_id) JOIN t USING (_id) WHERE l.total IS NOT NULL
    UNION ALL
    SELECT bb_year, '{phase}', 0, "min", agc, plan_name, name, objc_level1_name, name, NULL,
      l.total - coalesce(t.split_total, 0), {sid}, l._id, CASE WHEN t.split_total IS NULL THEN NULL ELSE false END,
      'detail' FROM l LEFT JOIN t USING (_id) WHERE l.total IS NOT NULL AND l.total <> coalesce(t.split_total, 0)"""


def _bbgf(scan, sid, _cols, _consts):
    return (f"SELECT * FROM ({_split(scan, sid, 'appropriated', 'bb_amount', 'bb_province', 'amount')}) UNION ALL "
            f"SELECT * FROM ({_split(scan, sid, 'disbursed', 'gf_amount', 'gf_province', 'gf_amount_sum')})")


def _mof(scan, sid, _cols, _consts):
    # Million baht in the file; the reader's amount_baht is the exact baht figure. The `รวม` row is the year's total.
    return f"""SELECT fiscal_year, phase, 0, CASE WHEN is_total THEN NULL ELSE ministry END, NULL, NULL, NULL, NULL, NULL,
      NULL, amount_baht, {sid}, _id, NULL, CASE WHEN is_total THEN 'national' ELSE 'ministry' END
      FROM (SELECT *, khl_clean(ministry) IN (SELECT label FROM ref_total_label) AS is_total FROM {scan})
      WHERE amount_baht IS NOT NULL"""


def _act(scan, sid, _cols, _consts):
    # One row per Budget Act: the year's appropriation as enacted, million baht.
    return f"""SELECT fiscal_year, 'appropriated', 0, NULL, NULL, NULL, NULL, NULL, act, NULL,
      CAST(amount_million_baht AS DECIMAL(38,6)) * 1000000, {sid}, _id, NULL, 'national'
      FROM {scan} WHERE amount_million_baht IS NOT NULL"""


def _monthly(scan, sid, cols, consts):
    ministry = '"ministry"' if "ministry" in cols else _lit(consts.get("ministry"))
    agency = '"agency"' if "agency" in cols else _lit(consts.get("agency"))
    month = "TRY_CAST(split_part(\"Month\", '-', 2) AS INTEGER)"
    year = "TRY_CAST(split_part(\"Month\", '-', 1) AS INTEGER)"
    # Fiscal year runs Oct–Sep and is named by the BE year it ends in.
    return f"""SELECT {year} + 543 + CASE WHEN {month} >= 10 THEN 1 ELSE 0 END, 'disbursed', {month}, {ministry},
      {agency}, NULL, NULL, NULL, NULL, NULL, "Use" * 1000000, {sid}, _id, NULL, 'detail' FROM {scan}
      WHERE "Use" IS NOT NULL"""


BUDGET_SQL = {"kaogeek-budget": _kaogeek, "bbgfproject": _bbgf, "mof-ministry": _mof, "mof-monthly-moi": _monthly,
              "mof-monthly": _monthly, "budget-act": _act}


def budget_select(source, scan, sid, columns, constants):
    """SELECT producing stage_budget rows from one loaded table, or None for an unknown source."""
    fn = BUDGET_SQL.get(source)
    return fn(scan, sid, set(columns), constants or {}) if fn else None


def contract_select(scan, sid, columns):
    """SELECT of one procurement table in the normalised e-GP shape (missing columns as NULL)."""
    have = set(columns)
    cols = []
    for name in CONTRACT_COLUMNS:
        if name in have:
            cols.append(f'"{name}"')
        else:
            kind = ("DECIMAL(38,2)" if name in ("project_money", "price_build", "sum_price_agree", "price_agree")
                    else "DATE" if name.endswith("_date") else "INTEGER" if name == "budget_year" else "VARCHAR")
            cols.append(f"CAST(NULL AS {kind}) AS {name}")
    return f"SELECT {sid} AS source_id, _id AS source_row, {', '.join(cols)} FROM {scan}"
