"""Every real spending file loads through `khlang ingest`, and the cube API's totals equal sums
computed here independently from the raw files (to the baht)."""
import csv
import gzip
import io
import json
import re
from collections import defaultdict
from decimal import Decimal

import pytest
import requests

from conftest import REAL_DATA, LiveServer, khlang_cli

BILL = REAL_DATA / "kaogeek-budget-bill-fy2565"
MOI = REAL_DATA / "govspending-bbgfproject-moi-2559-2562"
EGP = REAL_DATA / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv"


ACT = REAL_DATA / "budget-act-totals" / "budget_act_totals.csv"
NOT_ITEMISED = "ไม่ได้แจกแจงในแหล่งข้อมูล"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The default demo: every real file of data/real/ through seed-demo, on a real server."""
    srv = LiveServer(tmp_path_factory.mktemp("spending-real"))
    srv.seeded = khlang_cli("seed-demo", "--force", env=srv.env).stdout
    yield srv
    srv.stop()


def agg(srv, cube, **params):
    r = requests.get(f"{srv.url}/api/3/cubes/{cube}/aggregate", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _amount(text):
    return Decimal(text.replace(",", "")) if text and text.strip() not in ("", "-") else None


def test_fy2565_appropriation_per_ministry_is_the_sum_of_that_years_rows(loaded):
    expected = defaultdict(Decimal)
    obligations = Decimal(0)
    for path in BILL.glob("*.csv.gz"):
        with gzip.open(path, "rt", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                amount = _amount(row["AMOUNT"])
                if amount is None:
                    continue
                bill_year = int(row["REF_DOC"].split(".")[0])
                if int(row["FISCAL_YEAR"]) != bill_year:
                    obligations += amount
                    continue
                # The extraction splits one ministry over volumes as "(1)".."(5)".
                ministry = " ".join(row["MINISTRY"].split())
                ministry = ministry.rsplit(" (", 1)[0] if ministry.endswith(")") and ministry[-2].isdigit() else ministry
                expected[ministry] += amount
    assert obligations > 0
    # The bill's own rows, by ministry, as the one source that itemises FY2565.
    got = agg(loaded, "budget", drilldown="ministry", cut="fiscal_year:2565|source:budget-bill-fy2565",
              aggregates="amount.sum")
    by_name = {c["ministry"]: Decimal(str(c["amount.sum"])) for c in got["cells"]}
    assert by_name == dict(expected)
    assert Decimal(str(got["summary"]["amount.sum"])) == sum(expected.values()) == Decimal("2381791231243")
    # Without a source cut: the ministries are the bill's lines plus one remainder row up to the Act's total.
    act = _act()[2565]
    official = agg(loaded, "budget", drilldown="ministry", cut="fiscal_year:2565", aggregates="amount.sum")
    cells = {c["ministry"]: Decimal(str(c["amount.sum"])) for c in official["cells"]}
    assert cells.pop(NOT_ITEMISED) == act - sum(expected.values())
    assert cells == dict(expected)
    assert Decimal(str(official["summary"]["amount.sum"])) == act == Decimal("3100000000000")
    # A CE year means the same fiscal year.
    assert agg(loaded, "budget", cut="fiscal_year:2022", aggregates="amount.sum")["summary"] == official["summary"]


def _act():
    with open(ACT, encoding="utf-8") as f:
        return {int(r["fiscal_year"]): Decimal(r["amount_million_baht"]) * 1000000 for r in csv.DictReader(f)}


def _mof():
    doc = json.loads((MOI / "ministry_budget_vs_spent_2547-2562.json").read_text(encoding="utf-8"))
    out = {}
    for g in doc["TransGovernment"]["MinistryGroup"]:
        for d in g["MinistryGroupDetail"]:
            key = d["MinistryDetail"]["DataDate"]
            phase = "appropriated" if key.endswith("budget") else "disbursed"
            out[(g["MinistryName"], int(key.replace("budget", "")), phase)] = Decimal(d["MinistryDetail"]["Value"].replace(",", "")) * 1000000
    return out


def test_mof_figures_are_million_baht_and_the_total_row_is_not_a_ministry(loaded):
    mof = _mof()
    got = agg(loaded, "disbursement", drilldown="ministry", cut="source.format:mof-ministry|fiscal_year:2560",
              aggregates="amount.sum")
    by_name = {c["ministry"]: Decimal(str(c["amount.sum"])) for c in got["cells"]}
    assert by_name["กระทรวงการคลัง"] == mof[("กระทรวงการคลัง", 2560, "disbursed")]
    assert "รวม" not in by_name
    # Renamed ministries line up under today's name; the old spelling is kept as an alias.
    assert by_name["กระทรวงการอุดมศึกษา วิทยาศาสตร์ วิจัยและนวัตกรรม"] == mof[("กระทรวงวิทยาศาสตร์และเทคโนโลยี", 2560, "disbursed")]
    total = sum(v for (name, year, phase), v in mof.items() if year == 2560 and phase == "disbursed" and name != "รวม")
    assert Decimal(str(got["summary"]["amount.sum"])) == total


def test_monthly_disbursement_adds_up_to_the_mof_annual_figure(loaded):
    got = agg(loaded, "disbursement", drilldown="month", cut="source.granularity:month|fiscal_year:2548",
              aggregates="amount.sum")
    assert len(got["cells"]) == 12
    months = {c["month"]: Decimal(str(c["amount.sum"])) for c in got["cells"]}
    with open(MOI / "moi_monthly_disbursement_fy2548-2562.csv", encoding="utf-8") as f:
        raw = {r["Month"]: Decimal(r["Use"]) * 1000000 for r in csv.DictReader(f)}
    assert months[10] == raw["2004-10"] and months[9] == raw["2005-09"]
    assert sum(months.values()) == _mof()[("กระทรวงมหาดไทย", 2548, "disbursed")]


def test_bbgf_lines_and_their_province_split_add_up(loaded):
    lines = defaultdict(Decimal)
    gf = defaultdict(Decimal)
    bangkok = Decimal(0)
    for path in sorted(MOI.glob("bbgfproject_moi_*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                lines[int(r["bb_year"])] += Decimal(str(r["amount"]))
                gf[int(r["bb_year"])] += Decimal(str(r["gf_amount_sum"] or 0))
                bangkok += sum(Decimal(str(c["bb_amount"])) for c in r["compare"] if c.get("bb_amount") is not None
                               and c.get("bb_province") == "กรุงเทพมหานคร" and r["bb_year"] == "2561")
    got = agg(loaded, "budget", drilldown="fiscal_year", cut="source.format:bbgfproject", aggregates="amount.sum|split_mismatch.sum")
    assert {c["fiscal_year"]: Decimal(str(c["amount.sum"])) for c in got["cells"]} == dict(lines)
    assert got["summary"]["split_mismatch.sum"] == 0
    prov = agg(loaded, "budget", drilldown="province", cut="source.format:bbgfproject|fiscal_year:2561|province:กรุงเทพมหานคร")
    assert Decimal(str(prov["summary"]["amount.sum"])) == bangkok
    disb = agg(loaded, "disbursement", drilldown="fiscal_year", cut="source.format:bbgfproject", aggregates="amount.sum")
    assert {c["fiscal_year"]: Decimal(str(c["amount.sum"])) for c in disb["cells"]} == dict(gf)


def test_moi_total_is_mofs_figure_its_lines_plus_one_visible_remainder(loaded):
    mof = _mof()
    lines = defaultdict(Decimal)
    for path in sorted(MOI.glob("bbgfproject_moi_*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                lines[int(r["bb_year"])] += Decimal(str(r["amount"]))
    for year in (2559, 2560, 2561, 2562):
        got = agg(loaded, "budget", drilldown="agency", cut=f"fiscal_year:{year}|ministry:กระทรวงมหาดไทย")
        agencies = {c["agency"]: Decimal(str(c["amount.sum"])) for c in got["cells"]}
        assert Decimal(str(got["summary"]["amount.sum"])) == mof[("กระทรวงมหาดไทย", year, "appropriated")]
        assert agencies.pop(NOT_ITEMISED) == mof[("กระทรวงมหาดไทย", year, "appropriated")] - lines[year]
        assert sum(agencies.values()) == lines[year]
        # The detail comes from the lines, the total from MOF: both sources are named.
        sources = {c["source"] for c in agg(loaded, "budget", drilldown="source",
                                               cut=f"fiscal_year:{year}|ministry:กระทรวงมหาดไทย")["cells"]}
        assert sources == {"moi-budget-lines-fy2559-2562", "mof-ministry-expenditure-fy2547-2562"}
    # FY2559 is MOF's national figure, not MOF's with MOI's lines swapped in.
    assert Decimal(str(agg(loaded, "budget", cut="fiscal_year:2559")["summary"]["amount.sum"])) == mof[("รวม", 2559, "appropriated")]


def _mof_ministries(year, phase):
    """MOF's ministries of one year (renamed ones under today's name), from the raw file."""
    aliases = {"กระทรวงวิทยาศาสตร์และเทคโนโลยี": "กระทรวงการอุดมศึกษา วิทยาศาสตร์ วิจัยและนวัตกรรม"}
    out = defaultdict(Decimal)
    for (name, y, p), v in _mof().items():
        if y == year and p == phase and name != "รวม":
            out[aliases.get(name, name)] += v
    return out


@pytest.mark.parametrize("phase,cube,years", [("appropriated", "budget", range(2548, 2563)),
                                              ("disbursed", "disbursement", range(2548, 2562))])
def test_every_mof_year_totals_mofs_own_total_row(loaded, phase, cube, years):
    mof = _mof()
    by_year = agg(loaded, cube, drilldown="fiscal_year", order="fiscal_year:asc")
    got = {c["fiscal_year"]: Decimal(str(c["amount.sum"])) for c in by_year["cells"]}
    for year in years:
        assert got[year] == mof[("รวม", year, phase)], year
    # By ministry: MOF's figure wherever MOF has one; the ministries add up to MOF's total.
    for year in (2548, 2555, 2561):
        cells = agg(loaded, cube, drilldown="ministry", cut=f"fiscal_year:{year}")["cells"]
        by_name = {c["ministry"]: Decimal(str(c["amount.sum"])) for c in cells}
        expected = _mof_ministries(year, phase)
        remainder = by_name.pop(NOT_ITEMISED, Decimal(0))
        known = {k: v for k, v in by_name.items() if k in expected}
        assert known == {k: v for k, v in expected.items() if k in by_name}
        assert sum(by_name.values()) + remainder == mof[("รวม", year, phase)]


def test_egp_sample_contracts_load_with_thai_dates_and_flags(loaded):
    with open(EGP, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    got = agg(loaded, "procurement", drilldown="fiscal_year", aggregates="budget.sum|_count")
    assert got["summary"]["_count"] == len(rows) and [c["fiscal_year"] for c in got["cells"]] == [2568]
    assert Decimal(str(got["summary"]["budget.sum"])) == sum(_amount(r["งบประมาณ(บาท)"]) for r in rows)
    near = sum(1 for r in rows if _amount(r["ราคากลาง(บาท)"]) and _amount(r["ราคาตกลงซื้อ/จ้าง"]) >= Decimal("0.99") * _amount(r["ราคากลาง(บาท)"]))
    flagged = agg(loaded, "procurement", cut="flag:price_near_reference", aggregates="_count")
    assert flagged["summary"]["_count"] == near


def test_aggregate_csv_opens_in_excel_with_thai_text(loaded):
    r = requests.get(f"{loaded.url}/api/3/cubes/budget/aggregate.csv",
                     params={"drilldown": "ministry", "cut": "fiscal_year:2565"}, timeout=30)
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    shown = agg(loaded, "budget", drilldown="ministry", cut="fiscal_year:2565")
    assert [t["ministry.name"] for t in table] == [c["ministry"] for c in shown["cells"]]
    assert "กระทรวงศึกษาธิการ" in {t["ministry.name"] for t in table}
    same = requests.get(f"{loaded.url}/api/3/cubes/budget/aggregate",
                        params={"drilldown": "ministry", "cut": "fiscal_year:2565", "format": "csv"}, timeout=30)
    assert same.content == r.content


def test_tax_receipt_items_are_the_official_shares_and_add_up_to_the_tax(loaded):
    r = requests.get(f"{loaded.url}/api/3/spending/tax-receipt", params={"income": "600000", "fiscal_year": "2565"},
                     timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    # 600,000 - 100,000 expenses - 60,000 allowance = 440,000; 5% of 150k + 10% of 140k.
    assert (body["income"], body["taxable_income"], body["tax"], body["fiscal_year"]) == (600000, 440000, 21500, 2565)
    items = {i["ministry"]: Decimal(str(i["amount"])) for i in body["items"]}
    assert sum(items.values()) == Decimal("21500")
    act = _act()[2565]
    education = agg(loaded, "budget", cut="fiscal_year:2565|ministry:กระทรวงศึกษาธิการ")["summary"]["amount.sum"]
    assert abs(items["กระทรวงศึกษาธิการ"] - Decimal("21500") * Decimal(str(education)) / act) <= Decimal("0.01")
    assert abs(items[NOT_ITEMISED] - Decimal("21500") * (act - Decimal("2381791231243")) / act) <= Decimal("0.01")
    # tax= skips the computation; a CE year is the same fiscal year.
    same = requests.get(f"{loaded.url}/api/3/spending/tax-receipt", params={"tax": "21500", "fiscal_year": "2022"},
                        timeout=30).json()
    assert same["items"] == body["items"] and same["income"] is None


@pytest.mark.parametrize("params,needle", [({"income": "1", "tax": "2"}, "either"), ({"income": "abc"}, "amount"),
                                           ({"income": "-5"}, "between"), ({"income": "1", "salary": "2"}, "salary"),
                                           ({"income": "600000", "fiscal_year": "1999"}, "no data")])
def test_tax_receipt_refuses_bad_input_with_a_clear_400(loaded, params, needle):
    r = requests.get(f"{loaded.url}/api/3/spending/tax-receipt", params=params, timeout=30)
    assert r.status_code == 400 and needle in r.json()["message"]


def test_pages_show_one_fiscal_year_with_a_year_control_and_say_what_they_ignore(loaded):
    page = requests.get(f"{loaded.url}/spending", timeout=30).text
    assert '<select id="year-select" name="year">' in page
    assert '<option value="2565" selected>' in page            # the latest year the sources itemise
    assert "3,100,000.00" in page and NOT_ITEMISED in page      # the Act's total, its remainder named
    assert "ขาดเอกสารงบประมาณเล่ม 3.5 และ 3.8" in page           # the coverage note of the bill
    older = requests.get(f"{loaded.url}/spending", params={"fiscal_year": "2016", "cut": "x"}, timeout=30).text
    assert '<option value="2559" selected>' in older and "cut" in older.split("role=\"status\"")[1][:300]
    for path in ("/spending/budget", "/spending/map", "/spending/procurement"):
        r = requests.get(f"{loaded.url}{path}", params={"year": "2560"}, timeout=30)
        assert r.status_code == 200 and "2560" in r.text
    api = requests.get(f"{loaded.url}/api/3/cubes/budget/aggregate", params={"year": "2560"}, timeout=30)
    assert api.status_code == 400 and "fiscal_year" in api.json()["allowed"]
    default = agg(loaded, "budget", drilldown="ministry")
    assert default["fiscal_year"] == 2565 and default["fiscal_year_default"] is True


def test_a_budget_drill_down_adds_up_and_links_its_source_dataset_and_version(loaded):
    page = requests.get(f"{loaded.url}/spending/budget", params={"year": "2565", "ministry": "กระทรวงมหาดไทย"},
                        timeout=30).text
    assert 'href="/dataset/budget-bill-fy2565"' in page and "รุ่น 1" in page


def test_real_datasets_are_findable_in_thai_with_their_metadata(loaded):
    ck = loaded.ckan()
    for q, name in (("งบประมาณ", "budget-bill-fy2565"), ("มหาดไทย", "moi-budget-lines-fy2559-2562"),
                    ("จัดซื้อจัดจ้าง", "egp-contracts-fy2568-sample"), ("พระราชบัญญัติงบประมาณ", "budget-act-totals")):
        names = [d["name"] for d in ck.action.package_search(q=q, rows=50)["results"]]
        assert name in names, (q, names[:10])
    pkg = ck.action.package_show(id="budget-bill-fy2565")
    assert pkg["organization"]["name"] == "bb" and pkg["organization"]["title"] == "สำนักงบประมาณ"
    assert pkg["metadata_quality"]["score"] >= 80 and pkg["title"].startswith("รายการงบประมาณรายจ่าย")
    mirrored = ck.action.package_show(id="bec_school")
    assert mirrored["organization"]["title"] == "กรุงเทพมหานคร" and mirrored["url"] == "https://data.go.th/dataset/bec_school"
    assert {"key": "mirrored_from", "value": "data.go.th"} in mirrored["extras"]


def test_the_default_demo_is_all_real_and_its_counts_match_the_home_page(loaded):
    ck = loaded.ckan()
    count = ck.action.package_search(rows=0)["count"]
    assert count == 1236 + 8 and f"the site shows {count:,} public datasets" in loaded.seeded
    assert f"of {len(ck.action.organization_list())} organizations" in loaded.seeded
    for path in ("/", "/dataset", "/spending", "/spending/budget", "/spending/procurement", "/spending/map"):
        text = requests.get(f"{loaded.url}{path}", timeout=30).text
        assert "synthetic" not in text.lower() and "สังเคราะห์" not in text, path


def test_the_validation_badge_of_a_multi_file_resource_counts_every_file(loaded):
    pkg = loaded.ckan().action.package_show(id="budget-bill-fy2565")
    res = pkg["resources"][0]
    page = requests.get(f"{loaded.url}/dataset/{pkg['name']}/resource/{res['id']}", timeout=30).text
    assert "37,635" in page.split('class="validation"')[1][:2000]


def test_the_budget_page_shows_mofs_total_for_a_year_and_its_ministries_add_up(loaded):
    mof = _mof()
    page = requests.get(f"{loaded.url}/spending/budget", params={"year": "2559"}, timeout=30).text
    moi = mof[("กระทรวงมหาดไทย", 2559, "appropriated")] / 1000000
    assert f"{moi:,.2f}" in page                                   # MOI: MOF's figure, not its lines' sum
    overview = requests.get(f"{loaded.url}/spending", params={"year": "2559"}, timeout=30).text
    assert f"{mof[('รวม', 2559, 'appropriated')] / 1000000:,.2f}" in overview


def test_english_pages_name_the_sources_by_their_english_titles(loaded):
    en = requests.get(f"{loaded.url}/spending", params={"lang": "en", "year": "2565"}, timeout=30).text
    th = requests.get(f"{loaded.url}/spending", params={"lang": "th", "year": "2565"}, timeout=30).text
    assert "FY2565 (2022) budget bill line items" in en and "Budget Act totals" in en
    assert "รายการงบประมาณรายจ่ายตามร่างพระราชบัญญัติงบประมาณ" in th and "FY2565 (2022) budget bill" not in th


def test_the_procurement_search_form_speaks_the_pages_language_only(loaded):
    def form(lang):
        page = requests.get(f"{loaded.url}/spending/procurement", params={"lang": lang}, timeout=30).text
        return page.split('<form class="search"')[1].split("</form>")[0]

    th, en = form("th"), form("en")
    labels = lambda html: re.findall(r'aria-label="([^"]*)"', html)  # noqa: E731
    assert all(re.search(r"[\u0e00-\u0e7f]", label) for label in labels(th)), labels(th)   # Thai names, no codes
    assert not any(re.search(r"[\u0e00-\u0e7f]", label) for label in labels(en)), labels(en)
    method = lambda html: re.findall(r"<option value=\"[^\"]+\"[^>]*>([^<]*)</option>",  # noqa: E731
                                     html.split('name="method_group"')[1].split("</select>")[0])
    assert method(th) == ["เฉพาะเจาะจง", "ประกาศเชิญชวนทั่วไป", "คัดเลือก"]
    assert "Open invitation (e-bidding)" in method(en) and not any(re.search(r"[\u0e00-\u0e7f]", m) for m in method(en))


def test_every_amount_chart_says_million_baht_on_its_axis_and_in_its_tooltip(loaded):
    import html as html_lib   # the figures sit HTML-escaped in data-figure attributes

    for lang, unit in (("th", "ล้านบาท"), ("en", "million baht")):
        seen = 0
        for path in ("/spending", "/spending/budget", "/spending/procurement", "/spending/province"):
            page = requests.get(f"{loaded.url}{path}", params={"lang": lang, "year": "2565"}, timeout=30).text
            figures = [json.loads(html_lib.unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', page)]
            bars = [(fig, t) for fig in figures for t in fig["data"] if t["type"] == "bar"]
            seen += len(bars)
            for fig, trace in bars:
                assert unit in trace["hovertemplate"] and ":,.2f" in trace["hovertemplate"], (path, trace["hovertemplate"])
                axis = fig["layout"]["xaxis" if trace.get("orientation") == "h" else "yaxis"]
                assert unit in axis["title"]["text"], (path, lang, axis)
        assert seen >= 3, seen
