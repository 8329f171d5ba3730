"""Red flags: documented rules with thresholds, computed when the spending model is built.

A flag is a reason to look closer, never a finding of wrongdoing; each rule says what it does not prove.
"""
SPECIFIC_THRESHOLD = 500_000      # baht: above this a เฉพาะเจาะจง purchase needs a legal exception
NEAR_REFERENCE = 0.99             # agreed price / reference price
SPLIT_BAND = 0.8                  # "just under" = between 80% and 100% of the threshold
SPLIT_WINDOW_DAYS = 30
SPLIT_MIN_CONTRACTS = 3
YEAR_END_SHARE = 0.4              # share of an agency's specific-method spend signed in Aug–Sep
YEAR_END_MIN_BAHT = 1_000_000
HHI_LIMIT = 0.25                  # Herfindahl index of winners' shares of an agency's spend in a year
TOP1_SHARE = 0.5
CONCENTRATION_MIN_CONTRACTS = 5
DOMINANCE_YEARS = 3

# Contract-level flags are bits of contracts.flags; agency- and contractor-level rules live in their own tables.
CONTRACT_FLAGS = {
    "price_near_reference": 1,
    "reference_above_budget": 2,
    "specific_above_threshold": 4,
    "possible_splitting": 8,
}

RULES = [
    {"id": "price_near_reference", "level": "contract",
     "th": "ราคาที่ตกลงสูงเกือบเท่าราคากลาง", "en": "Agreed price at or near the reference price",
     "rule_th": f"ราคาตกลงซื้อ/จ้าง ≥ {NEAR_REFERENCE:.0%} ของราคากลาง",
     "rule_en": f"agreed price ≥ {NEAR_REFERENCE:.0%} of the reference price (ราคากลาง)",
     "not_th": "ราคากลางที่กำหนดอย่างดีอาจทำให้ราคาเสนอใกล้เคียงได้โดยสุจริต โดยเฉพาะการซื้อขนาดเล็ก",
     "not_en": "A well-set reference price can be met honestly, especially for small routine purchases."},
    {"id": "reference_above_budget", "level": "contract",
     "th": "ราคากลางสูงกว่างบประมาณ", "en": "Reference price above the budget",
     "rule_th": "ราคากลาง > งบประมาณโครงการ", "rule_en": "reference price > project budget",
     "not_th": "อาจเกิดจากการปรับราคากลางภายหลังหรือข้อผิดพลาดในการบันทึกข้อมูล",
     "not_en": "It can come from a later price update or a data-entry error."},
    {"id": "specific_above_threshold", "level": "contract",
     "th": "วิธีเฉพาะเจาะจงเกินวงเงิน", "en": "Specific method above the threshold",
     "rule_th": f"วิธีเฉพาะเจาะจง และงบประมาณ > {SPECIFIC_THRESHOLD:,} บาท",
     "rule_en": f"specific method (เฉพาะเจาะจง) with a budget above {SPECIFIC_THRESHOLD:,} baht",
     "not_th": "กฎหมาย (พ.ร.บ. การจัดซื้อจัดจ้างฯ 2560 มาตรา 56) มีข้อยกเว้น เช่น กรณีฉุกเฉิน หรือมีผู้ประกอบการรายเดียว",
     "not_en": "The 2017 Procurement Act (s. 56) allows exceptions such as emergencies or a sole supplier."},
    {"id": "possible_splitting", "level": "contract",
     "th": "อาจแบ่งซื้อแบ่งจ้าง", "en": "Possible contract splitting",
     "rule_th": (f"หน่วยงานเดียวกันและผู้ชนะรายเดียวกัน มีสัญญาวิธีเฉพาะเจาะจง ≥ {SPLIT_MIN_CONTRACTS} สัญญา "
                 f"มูลค่า {SPLIT_BAND:.0%}–100% ของ {SPECIFIC_THRESHOLD:,} บาท ภายใน {SPLIT_WINDOW_DAYS} วัน"),
     "rule_en": (f"same agency and winner, ≥ {SPLIT_MIN_CONTRACTS} specific-method contracts each between "
                 f"{SPLIT_BAND:.0%} and 100% of {SPECIFIC_THRESHOLD:,} baht within {SPLIT_WINDOW_DAYS} days"),
     "not_th": "งานที่เกิดขึ้นซ้ำตามรอบปกติ เช่น ค่าบำรุงรักษารายเดือน อาจเข้าเงื่อนไขโดยไม่ได้แบ่งซื้อ",
     "not_en": "Genuinely recurring needs (e.g. monthly maintenance) can match without any splitting."},
    {"id": "year_end_rush", "level": "agency",
     "th": "เร่งใช้งบปลายปี", "en": "Year-end rush",
     "rule_th": f"สัดส่วนมูลค่าสัญญาวิธีเฉพาะเจาะจงที่ลงนามในเดือน ส.ค.–ก.ย. ≥ {YEAR_END_SHARE:.0%} (รวม ≥ {YEAR_END_MIN_BAHT:,} บาท)",
     "rule_en": f"share of the year's specific-method value signed in Aug–Sep ≥ {YEAR_END_SHARE:.0%} (total ≥ {YEAR_END_MIN_BAHT:,} baht)",
     "not_th": "งบประมาณที่ได้รับล่าช้า (เช่น พ.ร.บ. งบประมาณประกาศช้า) ทำให้ต้องลงนามปลายปีได้",
     "not_en": "A late budget act or late fund release can push honest signing to the year's end."},
    {"id": "winner_concentration", "level": "agency",
     "th": "ผู้ชนะกระจุกตัว", "en": "Winner concentration",
     "rule_th": f"ดัชนี HHI ของส่วนแบ่งผู้ชนะ ≥ {HHI_LIMIT} หรือผู้ชนะอันดับ 1 ได้ ≥ {TOP1_SHARE:.0%} ของมูลค่า (≥ {CONCENTRATION_MIN_CONTRACTS} สัญญา)",
     "rule_en": f"HHI of winners' shares ≥ {HHI_LIMIT} or the top winner holds ≥ {TOP1_SHARE:.0%} of the value (≥ {CONCENTRATION_MIN_CONTRACTS} contracts)",
     "not_th": "ตลาดในพื้นที่ห่างไกลหรืองานเฉพาะทางอาจมีผู้ประกอบการน้อยรายจริง",
     "not_en": "Remote areas and specialised work can genuinely have few suppliers."},
    {"id": "single_winner_dominance", "level": "contractor",
     "th": "ผู้ชนะรายเดิมครองหน่วยงานหลายปี", "en": "Single-winner dominance across years",
     "rule_th": f"เป็นผู้ชนะอันดับ 1 ของหน่วยงานเดียวกัน ด้วยส่วนแบ่ง ≥ {TOP1_SHARE:.0%} ติดต่อกัน ≥ {DOMINANCE_YEARS} ปีงบประมาณ",
     "rule_en": f"top winner of the same agency with ≥ {TOP1_SHARE:.0%} of its value for ≥ {DOMINANCE_YEARS} fiscal years in a row",
     "not_th": "สัญญาระยะยาวหรือผู้ผลิตรายเดียวอาจทำให้เกิดรูปแบบนี้ได้",
     "not_en": "Long framework deals or a sole manufacturer can produce this pattern."},
]


def contract_flags_sql(method_group, price_agreed, reference, budget):
    """SQL bitmask of the row-level rules (splitting is added by window_flags)."""
    return (f"(CASE WHEN {reference} > 0 AND {price_agreed} >= {NEAR_REFERENCE} * {reference} THEN 1 ELSE 0 END"
            f" | CASE WHEN {reference} > 0 AND {budget} > 0 AND {reference} > {budget} THEN 2 ELSE 0 END"
            f" | CASE WHEN {method_group} = 'เฉพาะเจาะจง' AND {budget} > {SPECIFIC_THRESHOLD} THEN 4 ELSE 0 END)")


def splitting_sql(table):
    """Contract keys of likely splitting: ≥N near-threshold specific contracts, same agency+winner, within a window."""
    lo = SPLIT_BAND * SPECIFIC_THRESHOLD
    return f"""WITH c AS (SELECT contract_key, agency_id, contractor_id, contract_date FROM {table}
        WHERE method_group = 'เฉพาะเจาะจง' AND contractor_id > 0 AND contract_date IS NOT NULL
          AND price_agree >= {lo} AND price_agree < {SPECIFIC_THRESHOLD}),
      w AS (SELECT contract_key, agency_id, contractor_id, contract_date,
        count(*) OVER (PARTITION BY agency_id, contractor_id ORDER BY contract_date
          RANGE BETWEEN INTERVAL {SPLIT_WINDOW_DAYS} DAYS PRECEDING AND CURRENT ROW) AS n FROM c),
      hit AS (SELECT agency_id, contractor_id, contract_date AS until FROM w WHERE n >= {SPLIT_MIN_CONTRACTS})
    SELECT DISTINCT c.contract_key FROM c JOIN hit ON c.agency_id = hit.agency_id AND c.contractor_id = hit.contractor_id
      AND c.contract_date BETWEEN hit.until - INTERVAL {SPLIT_WINDOW_DAYS} DAYS AND hit.until"""


def agency_flags_sql(table):
    """Per agency and fiscal year: year-end share, HHI, top-1 winner and its share, and the flags they raise."""
    return f"""WITH spec AS (SELECT agency_id, fiscal_year, sum(price_agree) AS specific_total,
          sum(price_agree) FILTER (WHERE month IN (8, 9)) AS yearend_total
        FROM {table} WHERE method_group = 'เฉพาะเจาะจง' GROUP BY ALL),
      win AS (SELECT agency_id, fiscal_year, contractor_id, sum(price_agree) AS v, count(*) AS n
        FROM {table} WHERE contractor_id > 0 AND price_agree > 0 GROUP BY ALL),
      tot AS (SELECT agency_id, fiscal_year, sum(v) AS total, sum(n) AS contracts, count(*) AS winners,
          arg_max(contractor_id, v) AS top1_contractor_id, max(v) AS top1_value FROM win GROUP BY ALL),
      hhi AS (SELECT w.agency_id, w.fiscal_year, sum((w.v / t.total) ^ 2) AS hhi
        FROM win w JOIN tot t USING (agency_id, fiscal_year) GROUP BY ALL)
    SELECT t.agency_id, t.fiscal_year, t.contracts, t.winners, t.total, t.top1_contractor_id,
      t.top1_value / t.total AS top1_share, h.hhi, s.specific_total,
      coalesce(s.yearend_total, 0) / nullif(s.specific_total, 0) AS yearend_share,
      coalesce(s.specific_total >= {YEAR_END_MIN_BAHT}
        AND coalesce(s.yearend_total, 0) / nullif(s.specific_total, 0) >= {YEAR_END_SHARE}, false) AS year_end_rush,
      (t.contracts >= {CONCENTRATION_MIN_CONTRACTS} AND (h.hhi >= {HHI_LIMIT} OR t.top1_value / t.total >= {TOP1_SHARE}))
        AS winner_concentration
    FROM tot t JOIN hhi h USING (agency_id, fiscal_year) LEFT JOIN spec s USING (agency_id, fiscal_year)"""


def dominance_sql(agency_flags):
    """Contractor × agency runs of ≥N consecutive fiscal years as the agency's top winner with a majority share."""
    return f"""WITH top AS (SELECT agency_id, fiscal_year, top1_contractor_id AS contractor_id FROM {agency_flags}
        WHERE top1_share >= {TOP1_SHARE} AND contracts >= {CONCENTRATION_MIN_CONTRACTS}),
      runs AS (SELECT *, fiscal_year - row_number() OVER (PARTITION BY agency_id, contractor_id ORDER BY fiscal_year) AS grp
        FROM top)
    SELECT contractor_id, agency_id, min(fiscal_year) AS first_year, max(fiscal_year) AS last_year, count(*) AS years
    FROM runs GROUP BY contractor_id, agency_id, grp HAVING count(*) >= {DOMINANCE_YEARS}"""


def contract_reasons(bits, lang="th"):
    """Human-readable reasons for a contract's flag bits."""
    return [r[lang] for r in RULES if r["level"] == "contract" and bits & CONTRACT_FLAGS[r["id"]]]
