"""Reconciling budget sources: official totals (Budget Acts, MOF) above, the most detailed source below, and
one visible "not itemised in the source" row wherever the detail does not add up to the total."""

NOT_ITEMISED = 999999   # the ministry/agency member of remainder rows
NOT_ITEMISED_TH, NOT_ITEMISED_EN = "ไม่ได้แจกแจงในแหล่งข้อมูล", "not itemised in the source"
RANK = "precedence * 100000 + dataset_rank"


def budget_facts(cur):
    """Facts whose counted rows add up to the official totals.

    For each fiscal year x ministry x phase the TOTAL comes from the most authoritative total source
    (a Budget Act or MOF figure) and the DETAIL from the most detailed source; where the detail does not
    add up to the total, one counted remainder row ("not itemised in the source") carries the difference.
    The same holds one level up: the ministries of a year add up to the year's official total. Returns the
    SELECT of the fact rows to write (other sources' rows stay readable with an explicit source cut)."""
    # One pass over the staged rows; the best source of each level is marked, per year x ministry x phase.
    cur.execute(f"""CREATE TABLE f_budget AS SELECT s.fiscal_year::SMALLINT AS fiscal_year, s.phase, s.month::TINYINT AS month,
        coalesce(mm.ministry_id, 0) AS ministry_id, coalesce(a.id, 0) AS agency_id, coalesce(p.id, 0) AS plan_id,
        coalesce(j.id, 0) AS bproject_id, coalesce(c.id, 0) AS category_id,
        coalesce(pa.province_id, 99)::SMALLINT AS province_id,
        s.source_id::SMALLINT AS source_id, s.source_row, s.item, s.amount, s.split_ok, s.level,
        {RANK.replace("precedence", "src.precedence").replace("dataset_rank", "src.dataset_rank")} = min({RANK}) OVER (
          PARTITION BY s.fiscal_year, s.phase, coalesce(mm.ministry_id, 0), s.level) AS is_best
      FROM stage s JOIN src USING (source_id)
      LEFT JOIN ministry_map mm ON mm.raw = s.ministry
      LEFT JOIN d_agency a ON a.key = s.agency_key AND a.id > 0
      LEFT JOIN d_plan p ON p.name = s.plan AND p.id > 0
      LEFT JOIN d_bproject j ON j.name = s.project AND j.id > 0
      LEFT JOIN d_category c ON c.name = s.category AND c.id > 0
      LEFT JOIN ref_province_alias pa ON pa.alias = s.province_key""")
    cur.execute("""CREATE TABLE level_totals AS SELECT fiscal_year, phase, ministry_id, level, sum(amount) AS amount,
        min(source_id) AS source_id FROM f_budget WHERE is_best GROUP BY ALL""")
    # Counted: the best detail; a ministry's total where it has no detail; remainders where they disagree.
    counted = """(f.is_best AND (f.level = 'detail' OR (f.level = 'ministry' AND d.amount IS NULL)))"""
    detail = "LEFT JOIN level_totals d ON d.level = 'detail' AND (d.fiscal_year, d.phase, d.ministry_id) = " \
             "(f.fiscal_year, f.phase, f.ministry_id)"
    cur.execute(f"""CREATE TABLE remainders AS
      SELECT m.fiscal_year, m.phase, 0::TINYINT AS month, m.ministry_id, {NOT_ITEMISED} AS agency_id, 0 AS plan_id,
        0 AS bproject_id, 0 AS category_id, 99::SMALLINT AS province_id, m.source_id::SMALLINT AS source_id,
        NULL::BIGINT AS source_row, '{NOT_ITEMISED_TH}' AS item, m.amount - d.amount AS amount, NULL::BOOLEAN AS split_ok
      FROM level_totals m JOIN level_totals d USING (fiscal_year, phase, ministry_id)
      WHERE m.level = 'ministry' AND d.level = 'detail' AND m.amount <> d.amount""")
    cur.execute(f"""CREATE TABLE counted_sums AS SELECT f.fiscal_year, f.phase, false AS remainder,
        sum(f.amount) AS amount FROM f_budget f {detail} WHERE {counted} GROUP BY ALL
      UNION ALL SELECT fiscal_year, phase, true, sum(amount) FROM remainders GROUP BY ALL""")
    cur.execute("""CREATE TABLE national AS SELECT fiscal_year, phase, amount, source_id FROM level_totals
      WHERE level = 'national'""")
    cur.execute(f"""INSERT INTO remainders SELECT n.fiscal_year, n.phase, 0, {NOT_ITEMISED}, {NOT_ITEMISED}, 0, 0, 0,
        99, n.source_id, NULL, '{NOT_ITEMISED_TH}', n.amount - coalesce(s.amount, 0), NULL
      FROM national n LEFT JOIN (SELECT fiscal_year, phase, sum(amount) AS amount FROM counted_sums GROUP BY ALL) s
        USING (fiscal_year, phase) WHERE n.amount <> coalesce(s.amount, 0)""")
    cur.execute(f"""INSERT INTO counted_sums SELECT fiscal_year, phase, true, amount_sum FROM (
      SELECT fiscal_year, phase, sum(amount) AS amount_sum FROM remainders WHERE ministry_id = {NOT_ITEMISED}
      GROUP BY ALL)""")
    # National totals are not facts: they are reached through the remainder rows that reconcile them.
    return f"""SELECT f.* EXCLUDE (level, is_best), {counted} AS counted, false AS remainder FROM f_budget f {detail}
        WHERE f.level <> 'national'
      UNION ALL SELECT *, true, true FROM remainders
      ORDER BY fiscal_year, ministry_id, agency_id"""


def official_totals(cur):
    """{phase: {BE year: {amount, source_id, official}}}: what each year's counted rows add up to, and
    whether that is an official (national) total and from which source."""
    national = {(y, p): s for y, p, _, s in cur.execute("SELECT * FROM national").fetchall()}
    out = {}
    for year, phase, amount in cur.execute("SELECT fiscal_year, phase, sum(amount) FROM counted_sums GROUP BY ALL "
                                           "ORDER BY ALL").fetchall():
        sid = national.get((year, phase))
        out.setdefault(phase, {})[str(year)] = {"amount": str(amount), "source_id": sid, "official": sid is not None}
    return out


def itemised_years(cur, phase):
    """The years whose counted rows are not all remainder: the ones the sources break down."""
    return [y for (y,) in cur.execute("SELECT DISTINCT fiscal_year FROM counted_sums WHERE phase = ? AND NOT remainder "
                                      "ORDER BY 1", [phase]).fetchall()]
