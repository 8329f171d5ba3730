"""`khlang validate` and `khlang ingest` as users run them, on the real files and on bad input."""
import csv
import gzip
import hashlib
import json
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import khlang_cli, run_cli

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
KAOGEEK = sorted((REAL / "kaogeek-budget-bill-fy2565").glob("*.csv.gz"))
BBGF = sorted((REAL / "govspending-bbgfproject-moi-2559-2562").glob("*.jsonl.gz"))
MOF = REAL / "govspending-bbgfproject-moi-2559-2562" / "ministry_budget_vs_spent_2547-2562.json"
EGP = REAL / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv"
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def env(tmp_path):
    return {"KHLANG_DB": str(tmp_path / "k.db")}


def one(sql):
    """First row of a DuckDB query."""
    return duckdb.connect().execute(sql).fetchone()


def live_table(env, dataset):
    """(fields, parquet path) of the live DataStore version of a dataset's resource."""
    db = sqlite3.connect(env["KHLANG_DB"])
    row = db.execute("SELECT v.parquet_sha256, v.fields FROM datastore_tables t JOIN resource_versions v "
                     "ON v.id = t.current_version_id JOIN resources r ON r.id = t.resource_id "
                     "JOIN packages p ON p.id = r.package_id WHERE p.name = ?", (dataset,)).fetchone()
    path = Path(env["KHLANG_DB"]).parent / "storage" / "parquet" / row[0][:2] / f"{row[0]}.parquet"
    return json.loads(row[1]), str(path)


def test_validate_exit_codes_table_and_json_report():
    bad = khlang_cli("validate", str(CORPUS / "type-errors.csv"), "--schema", str(CORPUS / "type-errors.schema.json"),
                     check=False)
    assert bad.returncode == 1
    assert "type-error" in bad.stdout and "totals:" in bad.stdout and "row" in bad.stdout
    as_json = run_cli("validate", str(CORPUS / "type-errors.csv"), "--schema",
                         str(CORPUS / "type-errors.schema.json"), "--format", "json", check=False)
    report = json.loads(as_json.stdout)
    assert report["valid"] is False and report["tasks"][0]["errors"][0]["rowNumber"] == 3
    good = run_cli("validate", str(EGP), "--schema", "egp-contract")
    assert good.returncode == 0 and "rows 57, 143" in good.stdout  # budget < reference price: flagged, not rejected
    missing = run_cli("validate", "/nonexistent.csv", "--schema", "egp-contract", check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_schema_that_does_not_parse_cannot_start(tmp_path):
    (tmp_path / "s.json").write_text('{"fields": [{"name": "a", "type": "nosuch"}]}')
    out = run_cli("validate", str(CORPUS / "type-errors.csv"), "--schema", str(tmp_path / "s.json"), check=False)
    assert out.returncode == 2 and "does not parse" in out.stderr
    (tmp_path / "t.json").write_text("{not json")
    out = run_cli("validate", str(CORPUS / "type-errors.csv"), "--schema", str(tmp_path / "t.json"), check=False)
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_budget_bill_ingest_keeps_obligation_rows_out_of_the_bill_year(env):
    run_cli("ingest", *map(str, KAOGEEK), "--org", "bb", "--dataset", "budget-bill-2565", "--source",
               "kaogeek-budget", env=env)
    expected_bill, expected_all, rows = Decimal(0), Decimal(0), 0
    for path in KAOGEEK:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for rec in csv.DictReader(f):
                amount = Decimal(rec["AMOUNT"].replace(",", ""))
                expected_all += amount
                rows += 1
                if rec["FISCAL_YEAR"] == "2022":
                    expected_bill += amount
    fields, path = live_table(env, "budget-bill-2565")
    got_rows, got_bill, got_all, be = one(
        f"SELECT count(*), sum(AMOUNT) FILTER (WHERE IN_BILL_YEAR), sum(AMOUNT), min(BILL_YEAR_BE) "
        f"FROM read_parquet('{path}')")
    satang = Decimal("0.01")  # a few OCR'd amounts carry more than 9 decimals; equal to the satang
    assert (got_rows, got_bill.quantize(satang), got_all.quantize(satang), be) == (
        rows, expected_bill.quantize(satang), expected_all.quantize(satang), 2565)
    assert expected_bill < expected_all  # the multi-year rows are really there and really excluded


def test_bbgfproject_mof_and_egp_ingest_match_the_raw_files(env):
    run_cli("ingest", *map(str, BBGF), "--org", "gs", "--dataset", "moi", "--source", "bbgfproject", env=env)
    raw = [json.loads(line) for p in BBGF for line in gzip.open(p, "rt", encoding="utf-8")]
    _, path = live_table(env, "moi")
    assert one(f"SELECT count(*), sum(amount) FROM read_parquet('{path}')") == (
        len(raw), sum(r["amount"] for r in raw))

    run_cli("ingest", str(MOF), "--org", "mof", "--dataset", "ministry", "--source", "mof-ministry", env=env)
    doc = json.loads(MOF.read_text(encoding="utf-8"))
    total = next(g for g in doc["TransGovernment"]["MinistryGroup"] if g["MinistryName"] == "รวม")
    val = next(d["MinistryDetail"]["Value"] for d in total["MinistryGroupDetail"]
               if d["MinistryDetail"]["DataDate"] == "2561budget")
    _, path = live_table(env, "ministry")
    got = one(f"SELECT amount_baht FROM read_parquet('{path}') WHERE ministry = 'รวม' AND fiscal_year = 2561 "
                     f"AND phase = 'appropriated'")[0]
    assert got == Decimal(val.replace(",", "")) * 1_000_000  # million baht in the source
    recorded = sqlite3.connect(env["KHLANG_DB"]).execute(
        "SELECT v.source_sha256 FROM resource_versions v JOIN resources r ON r.id = v.resource_id "
        "JOIN packages p ON p.id = r.package_id WHERE p.name = 'ministry'").fetchone()[0]
    assert recorded == hashlib.sha256(MOF.read_bytes()).hexdigest()  # the file given, not our CSV of it

    out = run_cli("ingest", str(EGP), "--org", "cgd", "--dataset", "egp", "--source", "egp-csv", env=env)
    assert "feeds spending table procurement" in out.stdout
    fields, path = live_table(env, "egp")
    method, group, day, year = one(f"SELECT method, method_group, transaction_date, budget_year "
                                          f"FROM read_parquet('{path}') WHERE _id = 1")
    assert (method, str(day), year) == ("เฉพาะเจาะจง", "2024-11-29", 2568)  # swapped columns repaired, 2-digit BE date
    assert group.startswith("วิธีการจัดหา")
    assert {f["id"]: f["type"] for f in fields}["transaction_date"] == "date"
    # written in file order without a sort: _id is the row's position in the Parquet file
    assert one(f"SELECT count(*) FROM read_parquet('{path}', file_row_number=true) WHERE _id <> file_row_number + 1")[0] == 0


def test_egp_header_without_district_columns_is_repaired(tmp_path, env):
    from ingest.readers import EGP_LABELS

    header = [x for x in EGP_LABELS if x not in ("เขต/อำเภอ", "แขวง/ตำบล")]
    row = ["1", "67119524001", "ซื้อวัสดุ", "ซื้อ", "กรม ก", "กรม ก", "วิธีการจัดหา ประกาศเชิญชวนทั่วไป คัดเลือก เฉพาะเจาะจง",
           "เฉพาะเจาะจง", "-", "1480", "1480", "1480", "2568", "29 พ.ย. 67", "เชียงใหม่", "เมือง", "ศรีภูมิ", "เสร็จ",
           "-", "18.7", "98.9", "0105536092641", "บริษัท ก จำกัด", "1/2568", "1 ธ.ค. 67", "31 ธ.ค. 67", "1480", "ปกติ"]
    p = tmp_path / "egp.csv"
    p.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    out = run_cli("validate", str(p), "--schema", "egp-contract")
    assert "restored the header's missing" in out.stdout
    run_cli("ingest", str(p), "--org", "cgd", "--dataset", "egp-shift", "--source", "egp-csv", env=env)
    _, path = live_table(env, "egp-shift")
    assert one(f"SELECT district, winner_tin, winner FROM read_parquet('{path}')") == (
        "เมือง", "0105536092641", "บริษัท ก จำกัด")


def test_bad_tin_and_ce_year_are_reported_with_row_and_field(tmp_path):
    from ingest.readers import EGP_LABELS

    rows = [["1", "67119524001", "ก", "ซื้อ", "กรม", "กรม", "x", "เฉพาะเจาะจง", "-", "100", "100", "100", "2025", "1 ม.ค. 68",
             "ตาก", "", "", "", "", "", "", "0105536092642", "", "", "32 ม.ค. 68", "", "100", ""]]
    p = tmp_path / "egp.csv"
    p.write_text(",".join(EGP_LABELS) + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    report = json.loads(run_cli("validate", str(p), "--schema", "egp-contract", "--format", "json", check=False).stdout)
    got = {(e["rowNumber"], e["fieldName"], e["type"]) for e in report["tasks"][0]["errors"]}
    assert got == {(2, "ปีงบประมาณ", "be-year"), (2, "เลขนิติบุคคล", "thai-tin"), (2, "วันที่ลงนามสัญญา", "thai-date")}


def test_cp874_and_bom_files_read_the_same(tmp_path):
    text = "ชื่อ,จำนวน\nกรุงเทพมหานคร,1\nเชียงใหม่,2\n"
    (tmp_path / "tis.csv").write_bytes(text.encode("cp874"))
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    a = json.loads(run_cli("validate", str(tmp_path / "tis.csv"), "--format", "json", check=False).stdout)
    b = json.loads(run_cli("validate", str(tmp_path / "bom.csv"), "--format", "json", check=False).stdout)
    assert a["valid"] and b["valid"]
    assert a["tasks"][0]["labels"] == b["tasks"][0]["labels"] == ["ชื่อ", "จำนวน"]
    undecodable = tmp_path / "bin.csv"
    undecodable.write_bytes(b"a,b\n\xff\xfe\xfa,1\n")
    out = run_cli("validate", str(undecodable), check=False)
    assert out.returncode == 2 and "TIS-620" in out.stderr


@pytest.mark.parametrize("tail", ["plain", "unterminated quote"])
def test_tis620_bytes_after_a_utf8_first_megabyte_are_read_as_tis620(tmp_path, env, tail):
    # The first megabyte decides the fast path (UTF-8, checked by DuckDB as it reads); the rest is TIS-620, and a
    # parse error DuckDB meets first must not hide that.
    head = "".join(f"road number {i:06d} in the province,{i}\n" for i in range(40000)).encode("ascii")
    assert len(head) > 1 << 20
    last = "สะพานแขวน,7\n" if tail == "plain" else '"สะพานแขวน,7\n'
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"name,amount\n" + head + last.encode("cp874"))
    if tail == "plain":
        run_cli("ingest", str(path), "--org", "org1", "--dataset", "ds1", "--resource", "r", env=env)
        _, parquet = live_table(env, "ds1")
        assert one(f"SELECT count(*), max(_id) FROM read_parquet('{parquet}')") == (40001, 40001)
        assert one(f"SELECT name, amount FROM read_parquet('{parquet}') WHERE _id = 40001") == ("สะพานแขวน", 7)
    else:
        report = json.loads(run_cli("validate", str(path), "--format", "json", check=False).stdout)
        task = report["tasks"][0]
        assert task["stats"]["rows"] == 40001
        assert [e["message"] for e in task["errors"]] == [
            'Row at position "40002" has a missing cell in field "amount" at position "2"']


def test_empty_file_and_xlsx_bomb_get_clear_errors(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    out = run_cli("validate", str(tmp_path / "empty.csv"), check=False)
    assert out.returncode == 1 and "empty" in out.stdout
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (300 << 20))
    out = run_cli("validate", str(bomb), check=False)
    assert out.returncode == 2 and "zip bomb" in out.stderr


def test_xlsx_ingest(tmp_path, env):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["จังหวัด", "งบประมาณ"])
    ws.append(["ตาก", 1500])
    ws.append(["น่าน", 2500.5])
    wb.save(tmp_path / "b.xlsx")
    run_cli("ingest", str(tmp_path / "b.xlsx"), "--org", "org1", "--dataset", "xl", env=env)
    _, path = live_table(env, "xl")
    assert one(f"SELECT sum(งบประมาณ) FROM read_parquet('{path}')")[0] == Decimal("4000.5")


def test_a_failed_ingest_leaves_the_previous_version_live(tmp_path, env):
    schema = CORPUS / "type-errors.schema.json"
    good = tmp_path / "good.csv"
    good.write_text("id,name,amount\n1,a,10\n2,b,20\n")
    run_cli("ingest", str(good), "--org", "org1", "--dataset", "ds1", "--schema", str(schema), "--resource", "r", env=env)
    before = live_table(env, "ds1")
    out = run_cli("ingest", str(CORPUS / "type-errors.csv"), "--org", "org1", "--dataset", "ds1", "--schema", str(schema),
                     "--resource", "r", env=env, check=False)
    assert out.returncode == 1 and "nothing was loaded" in out.stderr
    assert live_table(env, "ds1") == before
    assert one(f"SELECT sum(amount) FROM read_parquet('{before[1]}')")[0] == 30
    run_cli("ingest", str(good), "--org", "org1", "--dataset", "ds1", "--schema", str(schema), "--resource", "r", env=env)
    db = sqlite3.connect(env["KHLANG_DB"])
    assert [r[0] for r in db.execute("SELECT version FROM resource_versions ORDER BY version")] == [1, 2]


def test_ingest_names_a_bad_slug_argument_and_takes_thai_metadata(env, tmp_path):
    thai_org = run_cli("ingest", str(EGP), "--source", "egp-csv", "--org", "กรมบัญชีกลาง", "--dataset", "egp",
                          env=env, check=False)
    assert thai_org.returncode == 2
    assert "--org: must be 2–100 characters of a–z, 0–9, - or _" in thai_org.stderr and "{" not in thai_org.stderr
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"geo_coverage": "จังหวัด", "data_category": "ข้อมูลสาธารณะ"}, ensure_ascii=False),
                    encoding="utf-8")
    run_cli("ingest", str(EGP), "--source", "egp-csv", "--org", "cgd", "--dataset", "egp-sample",
               "--org-title", "กรมบัญชีกลาง", "--title", "จัดซื้อจัดจ้าง ตัวอย่าง", "--tag", "e-GP", "--tag", "จัดซื้อ",
               "--license", "cc-by", "--meta", str(meta), env=env)
    db = sqlite3.connect(env["KHLANG_DB"])
    title, license_id, extras = db.execute("SELECT title, license_id, extras FROM packages WHERE name = 'egp-sample'").fetchone()
    org = db.execute("SELECT title FROM groups WHERE name = 'cgd'").fetchone()[0]
    tags = {r[0] for r in db.execute("SELECT name FROM package_tags")}
    assert (title, license_id, org) == ("จัดซื้อจัดจ้าง ตัวอย่าง", "cc-by", "กรมบัญชีกลาง") and tags == {"e-GP", "จัดซื้อ"}
    # Without --title a spending source's Thai title makes the dataset findable in Thai.
    run_cli("ingest", str(MOF), "--source", "mof-ministry", "--org", "mof", "--dataset", "mof-totals", env=env)
    assert db.execute("SELECT title FROM packages WHERE name = 'mof-totals'").fetchone()[0].startswith("งบประมาณรายจ่าย")


def test_serve_refuses_bad_and_busy_ports_in_one_line(tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    for port in ("99999", "-1", "http"):
        out = khlang_cli("serve", "--port", port, env=env, check=False)
        assert out.returncode == 2 and "--port: must be a port number from 1 to 65535" in out.stderr
        assert "Traceback" not in out.stderr
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = khlang_cli("serve", "--port", str(busy.getsockname()[1]), env=env, check=False)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "cannot listen" in out.stderr


def test_an_empty_file_and_a_header_only_file_say_what_they_are(tmp_path):
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text("a,b\n")
    out = run_cli("validate", str(empty), check=False)
    assert out.returncode == 1 and "the file is empty (no header row)" in out.stdout
    assert "has not supported" not in out.stdout
    out = run_cli("validate", str(header))
    assert out.returncode == 0 and "warning: the file has a header row but no data rows" in out.stdout
    out = run_cli("ingest", str(header), "--org", "org", "--dataset", "ds", env={"KHLANG_DB": str(tmp_path / "k.db")})
    assert "header row but no data rows" in out.stderr
