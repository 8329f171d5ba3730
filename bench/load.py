"""Bounded loopback load test: a realistic read mix against a real `khlang serve` while `khlang ingest`
loads a large file into the same store. Prints throughput, p50/p95/p99 and errors (and --json for tests).

    python bench/load.py                 # long form: 1,000,000-row ingest (make soak)
    python bench/load.py --rows 100000 --clients 3 --json    # short form, run by the test suite
    python bench/load.py --rows 200000 --cluster             # two nodes on PostgreSQL behind HAProxy
"""
import argparse
import json
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

from catalog.store import db as catalog_db  # noqa: E402
from khlang.localpg import start_site, stop_site  # noqa: E402

BIN = Path(sys.executable).parent


def khlang(env, *args):
    out = subprocess.run([str(BIN / "khlang"), *args], env={**os.environ, **env}, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"khlang {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def write_csv(path, rows):
    rng = random.Random(2565)
    with open(path, "w", encoding="utf-8") as f:
        f.write("contract_id,province,agency,amount,signed\n")
        for i in range(rows):
            f.write(f"C{i:08d},จังหวัดที่ {rng.randrange(77)},หน่วยงาน {rng.randrange(900)},"
                    f"{rng.randrange(10_000, 90_000_000)}.{rng.randrange(100):02d},2567-{rng.randrange(1, 13):02d}-15\n")


def wait_idle(db_path, timeout=300):
    """Until the server's background loads of the demo uploads are done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        con = catalog_db.connect(db_path, migrate=False)
        busy = con.execute("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')").fetchone()[0]
        con.close()
        if not busy:
            return
        time.sleep(0.2)


def targets(base):
    """The read mix: (kind, weight, url factory), from what the seeded site holds."""
    s = requests.Session()
    pkgs = s.get(f"{base}/api/3/action/package_search", params={"rows": 100}).json()["result"]["results"]
    names = [p["name"] for p in pkgs]
    tables = [r["id"] for p in pkgs for r in p["resources"] if r.get("datastore_active")]
    words = ["งบประมาณ", "โรงเรียน", "สถิติ", "กรุงเทพ", "น้ำ", "ถนน", "budget", "ข้อมูล"]
    cubes = ["/api/3/cubes/budget/aggregate?drilldown=ministry&cut=fiscal_year:2566",
             "/api/3/cubes/procurement/aggregate?drilldown=province",
             "/api/3/cubes/procurement/aggregate?drilldown=method&cut=fiscal_year:2567",
             "/api/3/cubes/budget/aggregate?drilldown=fiscal_year"]
    return [
        ("search", 30, lambda r: f"{base}/api/3/action/package_search?q={r.choice(words)}&rows=10"),
        ("search page", 10, lambda r: f"{base}/dataset?q={r.choice(words)}"),
        ("dataset page", 20, lambda r: f"{base}/dataset/{r.choice(names)}"),
        ("datastore_search", 20, lambda r: f"{base}/api/3/action/datastore_search?resource_id={r.choice(tables)}"
                                           f"&limit=20&offset={r.randrange(0, 50)}"),
        ("cube aggregate", 15, lambda r: base + r.choice(cubes)),
        ("csv dump", 5, lambda r: f"{base}/datastore/dump/{r.choice(tables)}?bom=true"),
    ]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def client(mix, stop, results, seed):
    rng = random.Random(seed)
    kinds, weights = [m[0] for m in mix], [m[1] for m in mix]
    make = {m[0]: m[2] for m in mix}
    s = requests.Session()
    while not stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        url = make[kind](rng)
        t = time.perf_counter()
        first, size = None, 0
        try:
            # Latency is the time to the first byte; a download's whole time is counted apart, with its size.
            with s.get(url, timeout=60, stream=True) as r:
                for chunk in r.iter_content(1 << 16):
                    if first is None:
                        first = time.perf_counter()
                    size += len(chunk)
            err = None if r.status_code == 200 else f"{r.status_code} {url}"
        except requests.RequestException as exc:
            err = f"{type(exc).__name__} {url}"
        done = time.perf_counter()
        results.append((kind, ((first or done) - t) * 1000, err, (done - t) * 1000, size))


def summary(results, seconds):
    ms = [r[1] for r in results]
    out = {"requests": len(results), "seconds": round(seconds, 1), "throughput_rps": round(len(results) / seconds, 1),
           "errors": sum(1 for r in results if r[2]), "error_samples": [r[2] for r in results if r[2]][:5],
           "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
           "p99_ms": round(percentile(ms, 99), 1), "by_kind": {}}
    for kind in sorted({r[0] for r in results}):
        k = [r[1] for r in results if r[0] == kind]
        whole = [r[3] for r in results if r[0] == kind]
        out["by_kind"][kind] = {"n": len(k), "p50_ms": round(percentile(k, 50), 1), "p95_ms": round(percentile(k, 95), 1),
                                "p99_ms": round(percentile(k, 99), 1), "whole_p95_ms": round(percentile(whole, 95), 1),
                                "mb": round(sum(r[4] for r in results if r[0] == kind) / 1e6, 1)}
    return out


def run(rows, clients, contracts, workdir, rounds=1, cluster=False):
    env = {"KHLANG_DB": str(Path(workdir) / "khlang.db"), "KHLANG_STORAGE": str(Path(workdir) / "storage")}
    if cluster:
        from khlang.localpg import cluster as pg_cluster

        env.update(KHLANG_DB=pg_cluster().new_database("load"), KHLANG_TRUSTED_PROXIES="1")
    khlang(env, "user", "add", "admin", "--sysadmin", "--email", "admin@example.go.th", "--password", "load-pass-1")
    khlang(env, "seed-demo", "--synthetic", "--contracts", str(contracts))
    base, _, procs = start_site(env, workdir, 2 if cluster else 1)
    try:
        wait_idle(env["KHLANG_DB"])
        mix = targets(base)
        warm = random.Random(0)
        for _, _, make in mix:   # first hits of each kind (caches, lazy imports) are not what users wait on
            requests.get(make(warm), timeout=60)
        csv_path = Path(workdir) / "contracts.csv"
        write_csv(csv_path, rows)
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=client, args=(mix, stop, results, i)) for i in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(1.0)   # the mix runs alone for a moment, then the ingest joins it
        ingest_s = []
        for _ in range(rounds):   # each round loads the file again as a new version of the same table
            ingest_started = time.perf_counter()
            ingest = subprocess.run([str(BIN / "khlang"), "ingest", str(csv_path), "--org", "load-test",
                                     "--dataset", "contracts-under-load", "--resource", "contracts"],
                                    env={**os.environ, **env}, capture_output=True, text=True)
            ingest_s.append(round(time.perf_counter() - ingest_started, 1))
            if ingest.returncode:
                break
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(60)
        seconds = time.perf_counter() - started
        loaded = requests.get(f"{base}/api/3/action/package_show", params={"id": "contracts-under-load"}).json()
        rid = loaded["result"]["resources"][0]["id"] if loaded.get("success") else None
        total = requests.get(f"{base}/api/3/action/datastore_search", params={"resource_id": rid, "limit": 0}) \
            .json()["result"]["total"] if rid else None
        out = summary(results, seconds)
        out.update({"clients": clients, "ingest_rows": rows, "ingest_rounds": len(ingest_s),
                    "ingest_seconds": ingest_s[0] if len(ingest_s) == 1 else ingest_s,
                    "ingest_exit": ingest.returncode, "ingest_error": ingest.stderr[-500:] if ingest.returncode else "",
                    "rows_loaded": total, "server_alive": all(p.poll() is None for p in procs),
                    "site": "2 nodes on PostgreSQL behind HAProxy" if cluster else "1 node on SQLite"})
        return out
    finally:
        stop_site(procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--contracts", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=1, help="ingest the file this many times, one after another")
    ap.add_argument("--cluster", action="store_true", help="two nodes on a throwaway PostgreSQL behind HAProxy")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="khlang-load-") as tmp:
        out = run(args.rows, args.clients, args.contracts, tmp, args.rounds, args.cluster)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"load test: {out['clients']} clients on loopback while ingesting {out['ingest_rows']:,} rows "
          f"{out['ingest_rounds']}× (ingest {out['ingest_seconds']} s, exit {out['ingest_exit']}, "
          f"rows live {out['rows_loaded']:,})")
    print(f"  {out['requests']:,} requests in {out['seconds']} s = {out['throughput_rps']} req/s; errors {out['errors']}; "
          f"time to first byte p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, p99 {out['p99_ms']} ms")
    for kind, k in out["by_kind"].items():
        print(f"  {kind:<18} n={k['n']:<6} p50 {k['p50_ms']:>7} ms  p95 {k['p95_ms']:>7} ms  p99 {k['p99_ms']:>7} ms"
              f"  (whole response p95 {k['whole_p95_ms']} ms, {k['mb']} MB)")
    for e in out["error_samples"]:
        print(f"  error: {e}")


if __name__ == "__main__":
    main()
