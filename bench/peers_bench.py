"""Khlang's DataStore beside Datasette on the same 1,000,000 e-GP-style Thai contract rows, in one interleaved
run on this machine: filter, common and rare Thai substring, whole-table pages, sorted page, group-by, full CSV
download; then each server's peak memory through the run. The first per-column q on the names is timed alone
(it starts the column's postings, which every later q reads), as is the writing of those postings.

Datasette (from PyPI) goes into a venv of its own under bench/out/ and serves a SQLite copy of the same rows with
the index a user would add on (province, budget_year); Khlang's table declares the same index (`--index`). Each iteration asks both servers the same question, one
after the other, the whole body received; p50 of each is printed with their ratio.

Prints figures; asserts nothing.
Usage: python bench/peers_bench.py [--rows 1000000] [--iterations 30]
"""
import argparse
import csv
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export_bench import memory_kb, write_csv  # noqa: E402
from khlang.localpg import start_site, stop_site  # noqa: E402

BIN = Path(sys.executable).parent
PEERS = ROOT / "bench" / "out" / "peers-venv"


def datasette():
    """The datasette program of the bench's own venv, installed on first use."""
    program = PEERS / "bin" / "datasette"
    if not program.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "datasette"], check=True)
    return program


def sqlite_copy(csv_path, db_path):
    """The CSV in SQLite as a Datasette user loads it: typed columns, an index on (province, budget_year)."""
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE contracts (contract_id TEXT, project_name TEXT, agency TEXT, province TEXT, "
                "supplier TEXT, supplier_tin TEXT, method TEXT, project_money REAL, signed TEXT, note TEXT, "
                "budget_year INTEGER)")
    with open(csv_path, encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        con.executemany("INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE INDEX contracts_province_year ON contracts (province, budget_year)")
    con.commit()
    con.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(session, url, params=None):
    t = time.perf_counter()
    with session.get(url, params=params, stream=True, timeout=600) as r:
        r.raise_for_status()
        size = sum(len(c) for c in r.iter_content(1 << 20))
    return (time.perf_counter() - t) * 1000, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--export-iterations", type=int, default=3)
    args = ap.parse_args()
    program = datasette()
    with tempfile.TemporaryDirectory(prefix="khlang-peers-") as work:
        work = Path(work)
        csv_path = work / "contracts.csv"
        write_csv(csv_path, args.rows, rare_every=12_000)
        env = {"KHLANG_DB": str(work / "khlang.db"), "KHLANG_STORAGE": str(work / "storage")}
        # The index each side's user would declare: CKAN's `indexes` for Khlang, CREATE INDEX for Datasette.
        subprocess.run([str(BIN / "khlang"), "ingest", str(csv_path), "--org", "egp", "--dataset", "contracts",
                        "--resource", "contracts", "--index", "province,budget_year"],
                       env={**os.environ, **env}, check=True, capture_output=True)
        sqlite_copy(csv_path, work / "egp.db")
        port = free_port()
        peer = subprocess.Popen([str(program), "serve", str(work / "egp.db"), "--port", str(port),
                                 "--setting", "sql_time_limit_ms", "20000", "--setting", "max_returned_rows", "1000",
                                 "--setting", "suggest_facets", "off"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        base, _, procs = start_site(env, work, 1)
        try:
            peer_base = f"http://127.0.0.1:{port}/egp"
            for _ in range(300):
                try:
                    if requests.get(f"{peer_base}.json", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
            rid = requests.get(f"{base}/api/3/action/package_show", params={"id": "contracts"}).json()["result"][
                "resources"][0]["id"]
            run(base, peer_base, rid, args, (work / "storage", procs[0].pid))
            # Issue 16 goal 5: the server within 300 MB through every read and download above.
            print(f"  {'server peak RSS through the run':42s} {memory_kb(procs[0].pid)[1] / 1024:9.0f} MB "
                  f"{memory_kb(peer.pid)[1] / 1024:12.0f} MB")
        finally:
            stop_site(procs)
            peer.terminate()
            peer.wait(10)


def run(base, peer, rid, args, server):
    search = f"{base}/api/3/action/datastore_search"
    table = f"{peer}/contracts.json"
    province = {"province": "จังหวัดที่ 7", "budget_year": 2566}
    cases = [
        ("filter province + year, 100 rows + total",
         (search, {"resource_id": rid, "filters": json.dumps(province, ensure_ascii=False), "limit": 100}),
         (table, {**province, "_size": 100})),
        ("Thai substring ถนน, 100 rows + total",
         (search, {"resource_id": rid, "q": json.dumps({"project_name": "ถนน"}, ensure_ascii=False), "limit": 100}),
         (table, {"project_name__contains": "ถนน", "_size": 100})),
        ("rare Thai substring สะพานแขวน",
         (search, {"resource_id": rid, "q": json.dumps({"project_name": "สะพานแขวน"}, ensure_ascii=False),
                   "limit": 100}),
         (table, {"project_name__contains": "สะพานแขวน", "_size": 100})),
        ("whole table, first page of 100",
         (search, {"resource_id": rid, "limit": 100}),
         (table, {"_size": 100})),
        # Datasette pages a table by rowid (its `_next` links); Khlang by offset, as CKAN's clients do.
        ("whole table, page at row 500,000",
         (search, {"resource_id": rid, "offset": 500_000, "limit": 100}),
         (table, {"_next": 500_000, "_size": 100})),
        ("sorted page project_money desc",
         (search, {"resource_id": rid, "sort": "project_money desc", "limit": 100}),
         (table, {"_sort_desc": "project_money", "_size": 100})),
        ("group-by sum by province (SQL)",
         (f"{base}/api/3/action/datastore_search_sql",
          {"sql": f'SELECT province, sum(project_money) AS total FROM "{rid}" GROUP BY province ORDER BY province'}),
         (f"{peer}.json", {"sql": "SELECT province, sum(project_money) AS total FROM contracts GROUP BY province "
                                  "ORDER BY province"})),
    ]
    khlang_s, peer_s = requests.Session(), requests.Session()
    postings(khlang_s, cases[1][1], *server)
    print(f"== Khlang beside Datasette, {args.rows:,} rows, {args.iterations} interleaved iterations ==")
    print(f"  {'operation':42s} {'Khlang p50':>11s} {'Datasette p50':>14s} {'Khlang / Datasette':>19s}")
    for label, mine, theirs in cases:
        timed(khlang_s, *mine)
        timed(peer_s, *theirs)
        a, b = [], []
        for _ in range(args.iterations):
            a.append(timed(khlang_s, *mine)[0])
            b.append(timed(peer_s, *theirs)[0])
        _line(label, statistics.median(a), statistics.median(b))
    a, b, sizes = [], [], []
    for _ in range(args.export_iterations):
        ms, size = timed(khlang_s, f"{base}/datastore/dump/{rid}")
        a.append(ms)
        sizes.append(size)
        ms, size = timed(peer_s, f"{peer}/contracts.csv", {"_stream": "on", "_size": "max"})
        b.append(ms)
        sizes.append(size)
    _line(f"full CSV download ({max(sizes) / 1e6:.0f} MB)", statistics.median(a), statistics.median(b))


def postings(session, first_q, storage, server_pid):
    """The first per-column `q` on project_name tests every name and starts writing the column's postings
    (catalog/datastore/grams.py) in a child process of the server; the iterations read them once written."""
    ms, _ = timed(session, *first_q)
    started, peak = time.perf_counter(), 0
    while not list((storage / "parquet" / "grams").glob("*/*.parquet")):
        # A thread of the server starts the child: it is listed under that thread's task.
        for child in (c for task in Path(f"/proc/{server_pid}/task").iterdir()
                      for c in _read(task / "children").split()):
            peak = max(peak, _peak_kb(child))
        if time.perf_counter() - started > 600:
            raise SystemExit("the postings of project_name were not written in 10 minutes")
        time.sleep(0.2)
    print(f"== The first q on project_name (by testing every name): {ms:.0f} ms; the column's postings then written "
          f"in {time.perf_counter() - started:.1f} s by a child process (its peak RSS {peak / 1024:.0f} MB) ==")


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:   # the thread ended
        return ""


def _peak_kb(pid):
    try:
        return memory_kb(int(pid))[1]
    except (FileNotFoundError, KeyError):   # the process ended between the two reads
        return 0


def _line(label, mine, theirs):
    ratio = mine / theirs
    verdict = f"{1 / ratio:.1f}x faster" if ratio < 1 else f"{ratio:.1f}x slower"
    print(f"  {label:42s} {mine:9.1f} ms {theirs:12.1f} ms   {ratio:6.2f} ({verdict})", flush=True)


if __name__ == "__main__":
    main()
