"""Whole-table downloads of a 1,000,000-row e-GP-style Thai table from a real `khlang serve`: time to the first
byte, whole time and MB/s for each format, the server's memory during and after, beside two references measured
in the same run: DuckDB's own COPY of the same version file to a CSV file (the floor) and the row-by-row writer
(the path every format took before catalog/datastore/exports.py, and tables with list columns still take), in-process.

Prints figures; asserts nothing.
Usage: python bench/export_bench.py [--rows 1000000]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from khlang.localpg import start_site, stop_site  # noqa: E402

BIN = Path(sys.executable).parent
SETTLE = 2.0
METHODS = ["e-bidding", "เฉพาะเจาะจง", "คัดเลือก", "ตกลงราคา"]
WORKS = ["ก่อสร้างถนนคอนกรีตเสริมเหล็ก", "จัดซื้อครุภัณฑ์คอมพิวเตอร์", "ปรับปรุงอาคารเรียน", "ซ่อมแซมระบบประปา",
         "จ้างเหมาบริการทำความสะอาด", "ขุดลอกคลองส่งน้ำ"]


def write_csv(path, rows, rare_every=None):
    """e-GP-like contracts: Thai names and notes, TINs kept as text, amounts, dates, the budget year (about 500
    bytes a row); with `rare_every`, one project in that many is a suspension bridge (a rare word)."""
    rng = random.Random(2565)
    with open(path, "w", encoding="utf-8") as f:
        f.write("contract_id,project_name,agency,province,supplier,supplier_tin,method,project_money,signed,note,"
                "budget_year\n")
        for i in range(rows):
            work = WORKS[rng.randrange(len(WORKS))]
            if rare_every and i % rare_every == rare_every // 2:
                work = "ก่อสร้างสะพานแขวนข้ามแม่น้ำ"
            f.write(f"C{i:09d},{work} หมู่ที่ {rng.randrange(1, 15)} ตำบลที่ {rng.randrange(900)},"
                    f"องค์การบริหารส่วนตำบลที่ {rng.randrange(7000)},จังหวัดที่ {rng.randrange(77)},"
                    f"ห้างหุ้นส่วนจำกัด ผู้รับจ้างที่ {rng.randrange(50000)},0{rng.randrange(10**11, 10**12)}{rng.randrange(10)},"
                    f"{METHODS[rng.randrange(4)]},{rng.randrange(10_000, 90_000_000)}.{rng.randrange(100):02d},"
                    f"2567-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
                    f"\"ระยะเวลาดำเนินการ {rng.randrange(30, 365)} วัน, ตรวจรับแล้ว\",{2560 + rng.randrange(8)}\n")


def memory_kb(pid):
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def download(url, params):
    t = time.perf_counter()
    first, size = None, 0
    with requests.get(url, params=params, stream=True, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_content(1 << 20):
            if first is None:
                first = time.perf_counter()
            size += len(chunk)
    return (first - t) * 1000, time.perf_counter() - t, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (catalogue, storage, server log)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="khlang-export-") as work:
        work = Path(args.keep or work)
        work.mkdir(parents=True, exist_ok=True)
        env = {"KHLANG_DB": str(work / "khlang.db"), "KHLANG_STORAGE": str(work / "storage")}
        run = lambda *a: subprocess.run([str(BIN / "khlang"), *a], env={**os.environ, **env}, check=True,  # noqa: E731
                                        capture_output=True)
        csv_path = work / "contracts.csv"
        write_csv(csv_path, args.rows)
        print(f"== downloads of {args.rows:,} e-GP-style rows ({csv_path.stat().st_size / 1e6:.0f} MB source CSV) ==")
        run("ingest", str(csv_path), "--org", "egp", "--dataset", "contracts", "--resource", "contracts")
        base, _, procs = start_site(env, work, 1)
        server = procs[0].pid
        try:
            pkg = requests.get(f"{base}/api/3/action/package_show", params={"id": "contracts"}).json()["result"]
            rid = pkg["resources"][0]["id"]
            url = f"{base}/datastore/dump/{rid}"
            print(f"  server RSS after start: {memory_kb(server)[0] / 1024:.0f} MB")
            cases = [("csv", {}), ("csv with BOM", {"bom": "true"}), ("tsv", {"format": "tsv"}),
                     ("csv, one province", {"filters": '{"province": "จังหวัดที่ 7"}'}),
                     ("csv, q ถนน", {"q": "ถนน"}), ("csv, sorted project_money desc", {"sort": "project_money desc"}),
                     ("json", {"format": "json"}), ("xlsx", {"format": "xlsx"}), ("xml", {"format": "xml"})]
            sizes = {}
            for label, params in cases:
                download(url, {**params, "limit": 1000})   # warm: imports, the version file's footer
                # Each download's own peak: Linux starts the peak (VmHWM) again from the current RSS.
                Path(f"/proc/{server}/clear_refs").write_text("5")
                first_ms, seconds, size = download(url, params)
                rss, peak = memory_kb(server)
                time.sleep(SETTLE)   # what the server gives back once the download is over
                print(f"  {label:32s} first byte {first_ms:7.1f} ms  whole {seconds:6.2f} s  {size / 1e6:6.1f} MB  "
                      f"{size / 1e6 / seconds:6.1f} MB/s  server RSS {rss / 1024:4.0f} MB (peak {peak / 1024:.0f}, "
                      f"{memory_kb(server)[0] / 1024:.0f} {SETTLE:.0f} s later)")
                sizes[label] = size
            together(url, server, sizes["csv, sorted project_money desc"])
        finally:
            stop_site(procs)
        floor(env, rid, work)


def together(url, server, whole):
    """Two sorted CSV downloads at once (each sort takes the memory DuckDB allows it): their times, whether each
    arrived whole, and the server's peak."""
    Path(f"/proc/{server}/clear_refs").write_text("5")
    got = {}

    def fetch(i):
        try:
            got[i] = download(url, {"sort": "project_money desc"})
        except requests.RequestException as error:
            got[i] = error

    workers = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    each = [f"{g[1]:.2f} s, {'whole' if g[2] == whole else f'{g[2] / 1e6:.1f} of {whole / 1e6:.1f} MB'}"
            if isinstance(g, tuple) else f"failed: {g}" for g in got.values()]
    print(f"  two sorted CSVs at once: {'; '.join(each)}  server peak {memory_kb(server)[1] / 1024:.0f} MB")


def floor(env, rid, work):
    """DuckDB's own COPY of the live version to a CSV file, and the row writer in-process, on the same table."""
    # The references read the catalogue in-process, after the server stopped.
    import duckdb

    from catalog.datastore import dumps as datastore_dumps, exports, search as datastore
    from catalog.context import Context
    from catalog.settings import Settings
    from catalog.store import db as catalog_db

    settings = Settings(db_path=env["KHLANG_DB"], storage_dir=env["KHLANG_STORAGE"])
    ctx = Context(db=catalog_db.connect(env["KHLANG_DB"]), settings=settings,
                  user={"id": None, "name": None, "sysadmin": True}, site_url="http://bench")
    sha = datastore.current_version(ctx.db, rid)["parquet_sha256"]
    from catalog.datastore.tables import parquet_path

    out = work / "floor.csv"
    t = time.perf_counter()
    duckdb.connect().execute(f"COPY (SELECT * FROM read_parquet('{parquet_path(settings, sha)}')) TO '{out}' (HEADER)")
    seconds = time.perf_counter() - t
    print(f"  floor: DuckDB COPY to a file        whole {seconds:6.2f} s  {out.stat().st_size / 1e6:6.1f} MB  "
          f"{out.stat().st_size / 1e6 / seconds:6.1f} MB/s")
    exports.supports = lambda types: False
    t = time.perf_counter()
    size = sum(len(c) for c in datastore_dumps.dump(ctx, rid, {})[2])
    seconds = time.perf_counter() - t
    print(f"  before: row-by-row CSV, in-process  whole {seconds:6.2f} s  {size / 1e6:6.1f} MB  "
          f"{size / 1e6 / seconds:6.1f} MB/s")


if __name__ == "__main__":
    main()
