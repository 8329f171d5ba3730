"""Every real spending file loads through `khlang ingest`, and the cube API's totals equal sums
computed here independently from the raw files (to the baht)."""
import csv
import gzip
import io
import json
from collections import defaultdict
from decimal import Decimal

import pytest
import requests

from conftest import REAL_DATA, LiveServer, khlang_cli

BILL = REAL_DATA / "kaogeek-budget-bill-fy2565"
MOI = REAL_DATA / "govspending-bbgfproject-moi-2559-2562"
EGP = REAL_DATA / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("spending-real"))
    env = srv.env
    khlang_cli("ingest", *sorted(str(p) for p in BILL.glob("*.csv.gz")), "--source", "kaogeek-budget",
               "--org", "bb", "--dataset", "budget-bill-2565", env=env)
    khlang_cli("ingest", *sorted(str(p) for p in MOI.glob("bbgfproject_moi_*.jsonl.gz")), "--source", "bbgfproject",
               "--org", "moi", "--dataset", "moi-budget-lines", env=env)
    khlang_cli("ingest", str(MOI / "ministry_budget_vs_spent_2547-2562.json"), "--source", "mof-ministry",
               "--org", "mof", "--dataset", "mof-ministry-totals", env=env)
    khlang_cli("ingest", str(MOI / "moi_monthly_disbursement_fy2548-2562.csv"), "--source", "mof-monthly-moi",
               "--org", "mof", "--dataset", "moi-monthly", env=env)
    khlang_cli("ingest", str(EGP), "--source", "egp-csv", "--org", "cgd", "--dataset", "egp-2568-sample", env=env)
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
    got = agg(loaded, "budget", drilldown="ministry", cut="fiscal_year:2565", aggregates="amount.sum")
    by_name = {c["ministry"]: Decimal(str(c["amount.sum"])) for c in got["cells"]}
    assert by_name == dict(expected)
    assert Decimal(str(got["summary"]["amount.sum"])) == sum(expected.values()) == Decimal("2381791231243")
    # A CE year means the same fiscal year.
    assert agg(loaded, "budget", cut="fiscal_year:2022", aggregates="amount.sum")["summary"] == got["summary"]


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


def test_without_a_source_cut_each_year_and_ministry_counts_one_dataset(loaded):
    # MOI FY2560 comes from the line-level dataset and the MOF totals; only the most detailed one counts.
    both = agg(loaded, "budget", drilldown="source", cut="fiscal_year:2560|ministry:กระทรวงมหาดไทย")
    assert [c["source"] for c in both["cells"]] == ["moi-budget-lines"]
    mof = agg(loaded, "budget", cut="fiscal_year:2560|ministry:กระทรวงมหาดไทย|source:mof-ministry-totals")
    assert Decimal(str(mof["summary"]["amount.sum"])) == _mof()[("กระทรวงมหาดไทย", 2560, "appropriated")]


def test_egp_sample_contracts_load_with_thai_dates_and_flags(loaded):
    with open(EGP, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    got = agg(loaded, "procurement", drilldown="fiscal_year", aggregates="budget.sum|_count")
    assert got["summary"]["_count"] == len(rows)
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
