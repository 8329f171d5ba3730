"""Ingest benchmark: a generated e-GP-shaped CSV (28 Thai columns, 0.1% bad rows) through
`khlang validate`, `khlang ingest`, frictionless-py and a bare DuckDB read_csv; then datastore_search; then
`khlang validate`, frictionless-py and the bare read again on a narrow file (10 columns).

Each measured step runs in its own process so its peak RSS is its own (os.wait4 rusage).
Usage: python bench/ingest_bench.py [--rows 1000000] [--frictionless-rows 100000] [--out bench/out]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.readers import EGP_LABELS  # noqa: E402
from catalog.thaiformats import MONTHS_ABBR  # noqa: E402


def generate(path, rows, bad_every=1000):
    """Write the CSV in a child process (DuckDB's memory would otherwise count in later RSS figures)."""
    subprocess.run([sys.executable, __file__, "--generate", str(path), str(rows), str(bad_every)], check=True)


def _generate(path, rows, bad_every):
    """Write the CSV with DuckDB (fast); every `bad_every`-th row has one kind of defect."""
    months = "[" + ", ".join(f"'{m}'" for m in MONTHS_ABBR) + "]"
    provinces = "['กรุงเทพมหานคร', 'เชียงใหม่', 'ขอนแก่น', 'ชลบุรี', 'สงขลา', 'นครราชสีมา', 'ตาก', 'น่าน']"
    depts = "['กรมบัญชีกลาง', 'กรมการปกครอง', 'โรงพยาบาลสรรคบุรี', 'เทศบาลตำบลแม่ริม', 'สำนักงานปลัดกระทรวงสาธารณสุข']"
    tin12 = "lpad(CAST((i * 7919) % 1000000000000 AS VARCHAR), 12, '0')"
    tin = (f"{tin12} || CAST((11 - list_sum(list_transform(range(12), lambda k: CAST({tin12}[k + 1] AS INT) * (13 - k))) % 11) "
           f"% 10 AS VARCHAR)")
    date = lambda off: (f"CAST((i + {off}) % 28 + 1 AS VARCHAR) || ' ' || {months}[(i + {off}) % 12 + 1] || ' ' || "
                        f"CAST(67 + (i % 2) AS VARCHAR)")
    kind = f"CASE WHEN i % {bad_every} = 7 THEN (i // {bad_every}) % 5 ELSE -1 END" if bad_every else "-1"
    cols = [
        "CAST(4528582 + i AS VARCHAR)",
        "CAST(67000000000 + i AS VARCHAR)",
        "'ซื้อวัสดุสำนักงาน จำนวน ' || CAST(i % 9 + 1 AS VARCHAR) || ' รายการ โดยวิธีเฉพาะเจาะจง'",
        "CASE WHEN i % 3 = 0 THEN 'ซื้อ' ELSE 'จ้างทำของ/จ้างเหมาบริการ' END",
        f"{depts}[i % 5 + 1]", f"{depts}[i % 5 + 1]",
        "'วิธีการจัดหา ประกาศเชิญชวนทั่วไป คัดเลือก เฉพาะเจาะจง'", "'เฉพาะเจาะจง'", "'-'",
        "CASE WHEN k = 0 THEN '1,2x' ELSE CAST(1000 + i % 499000 AS VARCHAR) END",
        "CAST(1000 + i % 499000 AS VARCHAR)",
        "CAST(990 + i % 499000 AS VARCHAR)",
        "CASE WHEN k = 1 THEN '2025' ELSE '2568' END",
        f"CASE WHEN k = 2 THEN '31 ก.พ. 67' ELSE {date(0)} END",
        f"{provinces}[i % 8 + 1]", "'เมือง'", "'ในเมือง'", "'ดำเนินการแล้วเสร็จตามสัญญา'", "'-'", "'-'", "'-'",
        f"CASE WHEN k = 3 THEN '0105536092642' ELSE {tin} END",
        "'บริษัท ตัวอย่าง ' || CAST(i % 5000 AS VARCHAR) || ' จำกัด'",
        "CAST(i AS VARCHAR) || '/2568'", date(3), date(40),
        "CAST(990 + i % 499000 AS VARCHAR)",
        "CASE WHEN k = 4 THEN NULL ELSE 'สิ้นสุดสัญญา' END",
    ]
    select = ", ".join(f"{c} AS c{n}" for n, c in enumerate(cols))
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    tmp = str(path) + ".body"
    con.execute(f"COPY (SELECT {select} FROM (SELECT i, {kind} AS k FROM range({rows}) t(i)) ORDER BY i) "
                f"TO '{tmp}' (HEADER false, DELIMITER ',', QUOTE '\"')")
    with open(path, "wb") as out:
        out.write((",".join(EGP_LABELS) + "\n").encode("utf-8"))
        with open(tmp, "rb") as body:
            while chunk := body.read(1 << 24):
                out.write(chunk)
    os.unlink(tmp)
    return path


LAUNCHER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  p.returncode, p.stdout, p.stderr]))
"""


def measure(cmd, env=None):
    """(seconds, peak RSS MB, exit code, stdout, stderr) of a command, forked from a small launcher so that the
    peak RSS is the command's own, not inherited from this (large) process."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    return tuple(json.loads(out.stdout))


FRICTIONLESS = """
import sys, json, frictionless
import ingest.checks  # registers the khlang/* checks
schema = json.load(open(sys.argv[2])); checklist = json.load(open(sys.argv[3]))
checklist["checks"] = [c for c in checklist["checks"] if c.get("severity") != "warning"]
r = frictionless.Resource(path=sys.argv[1].rsplit("/", 1)[1], basepath=sys.argv[1].rsplit("/", 1)[0],
                          schema=frictionless.Schema.from_descriptor(schema))
rep = frictionless.validate(r, checklist=frictionless.Checklist.from_descriptor(checklist), limit_errors=100000)
keys = sorted({(e.row_number, getattr(e, "field_name", None), e.type) for e in rep.tasks[0].errors}, key=str)
json.dump(keys, open(sys.argv[4], "w"))
print(rep.tasks[0].stats["rows"], "rows,", len(rep.tasks[0].errors), "errors")
"""

BARE = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("SET memory_limit = '512MB'")
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{sys.argv[1]}', all_varchar=true)")
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


NARROW_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True}},
        {"name": "province", "type": "string", "constraints": {"required": True}},
        {"name": "budget_year", "type": "integer"},
        {"name": "amount", "type": "number"},
        {"name": "signed", "type": "date"},
        {"name": "agency", "type": "string"},
        {"name": "method", "type": "string"},
        {"name": "winner_tin", "type": "string"},
        {"name": "items", "type": "integer"},
        {"name": "status", "type": "string"},
    ],
    "primaryKey": ["id"],
}


def _generate_narrow(path, rows):
    """A narrow file (10 columns, about 170 bytes a row) for the same comparison: Thai text, integers, amounts,
    ISO dates, a primary key."""
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT i AS id, ['กรุงเทพมหานคร', 'เชียงใหม่', 'ขอนแก่น', 'ตาก'][i % 4 + 1] AS province,
        2560 + i % 8 AS budget_year, round((i * 7919) % 1000000 / 100.0, 2) AS amount,
        DATE '2020-01-01' + CAST(i % 1500 AS INT) AS signed, 'กรมบัญชีกลาง ' || (i % 50) AS agency,
        CASE WHEN i % 3 = 0 THEN 'เฉพาะเจาะจง' ELSE 'e-bidding' END AS method,
        lpad(CAST(i AS VARCHAR), 13, '0') AS winner_tin, i % 100 AS items, 'สิ้นสุดสัญญา' AS status
        FROM range({rows}) t(i) ORDER BY i) TO '{path}' (HEADER)""")


def narrow(out, rows, frictionless_rows):
    """`khlang validate` against frictionless-py and the bare read on a narrow file (the wide one is main's)."""
    schema = out / "narrow.schema.json"
    schema.write_text(json.dumps(NARROW_SCHEMA))
    files = {}
    for n in (rows, frictionless_rows):
        files[n] = out / f"narrow-{n}.csv"
        if not files[n].exists():
            subprocess.run([sys.executable, __file__, "--generate-narrow", str(files[n]), str(n)], check=True)
    khlang = str(Path(sys.executable).with_name("khlang"))
    ours, rss, code, stdout, _ = measure([khlang, "validate", str(files[rows]), "--schema", str(schema)])
    print(f"{'khlang validate, narrow file':<42} {rows:>10,} rows {ours:8.2f} s {rows / ours:>12,.0f} rows/s  "
          f"peak RSS {rss:6.0f} MB  exit {code}; {stdout.strip().splitlines()[-1]}")
    bare, rss, _, _, _ = measure([sys.executable, "-c", BARE, str(files[rows]), str(out / "bare.duckdb")])
    (out / "bare.duckdb").unlink(missing_ok=True)
    print(f"{'bare DuckDB read_csv, narrow file':<42} {rows:>10,} rows {bare:8.2f} s {rows / bare:>12,.0f} rows/s  "
          f"peak RSS {rss:6.0f} MB")
    theirs, rss, _, stdout, _ = measure([sys.executable, "-c", FRICTIONLESS_PLAIN, str(files[frictionless_rows]),
                                         str(schema)])
    print(f"{'frictionless-py validate, narrow file':<42} {frictionless_rows:>10,} rows {theirs:8.2f} s "
          f"{frictionless_rows / theirs:>12,.0f} rows/s  peak RSS {rss:6.0f} MB  {stdout.strip()}")
    print(f"\nnarrow file: khlang validate is {rows / ours / (frictionless_rows / theirs):.0f}x frictionless-py and "
          f"{ours / bare:.2f}x the time of a bare read_csv")


FRICTIONLESS_PLAIN = """
import sys, json, frictionless
r = frictionless.Resource(path=sys.argv[1].rsplit("/", 1)[1], basepath=sys.argv[1].rsplit("/", 1)[0],
                          schema=frictionless.Schema.from_descriptor(json.load(open(sys.argv[2]))))
rep = frictionless.validate(r, limit_errors=100000)
print(rep.tasks[0].stats["rows"], "rows,", len(rep.tasks[0].errors), "errors")
"""


def search_p50(db_path, dataset):
    from catalog.store import db as catalog_db
    from catalog.context import Context
    from catalog.datastore.search import datastore_search
    from catalog.settings import Settings

    settings = Settings(db_path=str(db_path))
    db = catalog_db.connect(settings.db_path)
    rid = db.execute("SELECT r.id FROM resources r JOIN packages p ON p.id = r.package_id WHERE p.name = ?",
                     (dataset,)).fetchone()[0]
    ctx = Context(db=db, settings=settings, user={"id": None, "name": "bench", "sysadmin": True})
    out = {}
    for label, params in (("filter", {"filters": {"province": "ตาก", "budget_year": 2568}, "limit": 100}),
                          ("q", {"q": "สรรคบุรี", "limit": 100}),
                          ("filter+sort", {"filters": {"province": "น่าน"}, "sort": "price_build desc", "limit": 100})):
        times = []
        for _ in range(15):
            t = time.perf_counter()
            res = datastore_search(ctx, {"resource_id": rid, **params})
            times.append((time.perf_counter() - t) * 1000)
        out[label] = (statistics.median(times), res["total"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--frictionless-rows", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    big = out / f"egp-{args.rows}.csv"
    if not big.exists():
        t = time.perf_counter()
        generate(big, args.rows)
        print(f"generated {big.name}: {big.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
    small = out / f"egp-{args.frictionless_rows}.csv"
    if not small.exists():
        generate(small, args.frictionless_rows)
    khlang = str(Path(sys.executable).with_name("khlang"))
    schema = ROOT / "validators" / "egp-contract.schema.json"
    checklist = ROOT / "validators" / "egp-contract.checklist.json"
    results = []

    def row(label, rows, secs, rss, note=""):
        results.append((label, rows, secs, rss, note))
        print(f"{label:<42} {rows:>10,} rows {secs:8.2f} s {rows / secs:>12,.0f} rows/s  peak RSS {rss:6.0f} MB  {note}")

    secs, rss, code, stdout, stderr = measure([khlang, "validate", str(big), "--schema", "egp-contract"])
    row("khlang validate (DuckDB engine)", args.rows, secs, rss, f"exit {code}; " + stdout.strip().splitlines()[-1])
    db_path = out / "bench.db"
    for p in out.glob("bench.db*"):
        p.unlink()
    import shutil
    shutil.rmtree(out / "storage", ignore_errors=True)
    # The generated file has 0.1% bad rows, so ingest refuses it; load a clean copy of the same shape.
    clean = out / f"egp-{args.rows}-clean.csv"
    if not clean.exists():
        generate(clean, args.rows, bad_every=0)
    secs, rss, code, stdout, stderr = measure([khlang, "ingest", str(clean), "--org", "bench-org", "--dataset", "egp-bench",
                                       "--source", "egp-csv"], env={"KHLANG_DB": str(db_path)})
    row("khlang ingest (validate + load Parquet)", args.rows, secs, rss, f"exit {code}")
    # --source egp-csv feeds the spending explorer: the command then rebuilds its model too, and says how long.
    rebuilt = re.search(r"spending model rebuilt in ([0-9.]+) s", stderr)
    rebuild = float(rebuilt.group(1)) if rebuilt else 0.0
    row("  of which the spending model's rebuild", args.rows, rebuild, rss)
    row("  ingest without the rebuild", args.rows, secs - rebuild, rss)
    secs, rss, code, stdout, stderr = measure([sys.executable, "-c", BARE, str(big), str(out / "bare.duckdb")])
    (out / "bare.duckdb").unlink(missing_ok=True)
    row("bare DuckDB read_csv into a table", args.rows, secs, rss)
    bare = secs
    keys_file = out / "frictionless-keys.json"
    secs, rss, code, stdout, stderr = measure([sys.executable, "-c", FRICTIONLESS, str(small), str(schema), str(checklist),
                                       str(keys_file)], env={"PYTHONPATH": str(ROOT)})
    row("frictionless-py validate (same schema+checks)", args.frictionless_rows, secs, rss, stdout.strip())
    fl_rate = args.frictionless_rows / secs
    _, _, _, ours_json, _ = measure([khlang, "validate", str(small), "--schema", "egp-contract", "--format", "json",
                                  "--limit-errors", "100000"])
    mine = sorted({(e.get("rowNumber"), e.get("fieldName"), e["type"]) for e in json.loads(ours_json)["tasks"][0]["errors"]},
                  key=str)
    theirs = [tuple(k) for k in json.loads(keys_file.read_text())]
    print(f"parity on the {args.frictionless_rows:,}-row file: {len(mine)} (row, field, type) errors from khlang, "
          f"{len(theirs)} from frictionless-py, identical: {mine == theirs}")
    ours = results[0]
    ingest, loaded = results[1], results[3]
    print(f"\nkhlang validate is {ours[1] / ours[2] / fl_rate:.0f}x frictionless-py and {ours[2] / bare:.2f}x the time of "
          f"a bare read_csv; validate+load is {ingest[1] / ingest[2] / fl_rate:.0f}x frictionless-py, "
          f"{ingest[2] / bare:.2f}x read_csv ({loaded[2] / bare:.2f}x without the spending model's rebuild)")
    for label, (p50, total) in search_p50(db_path, "egp-bench").items():
        print(f"datastore_search p50 {label:<12} {p50:7.1f} ms  (total {total:,})")
    print()
    narrow(out, args.rows, args.frictionless_rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        _generate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1:2] == ["--generate-narrow"]:
        _generate_narrow(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
