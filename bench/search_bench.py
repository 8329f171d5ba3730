"""package_search latency at 10,000 and 100,000 synthetic datasets, and index build rate, on SQLite and on
PostgreSQL (a throwaway server of its own, khlang/localpg.py) in one run.

Prints figures; asserts nothing.
Usage: python bench/search_bench.py [--sizes 10000,100000] [--backends sqlite,postgresql] [--reuse]
"""
import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.store import db as catalog_db  # noqa: E402
from catalog.context import Context  # noqa: E402
from catalog.demo import seed_inputs, synthetic_datasets  # noqa: E402
from catalog.groups import group_create, organization_create  # noqa: E402
from catalog.search import package_search  # noqa: E402
from catalog.searchindex import rebuild  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.store.searchreplica import replica_stats, warm  # noqa: E402
from catalog.users import create_user  # noqa: E402

THAI = ["โรงเรียน", "งบประมาณ", "กรุงเทพ", "กทม", "ข้อมูล", "น้ำ", "ยา", "งบประมาณ เชียงใหม่", "จัดซื้อจัดจ้าง", "ไฟฟ้า"]
ENGLISH = ["statistics", "open data", "pm2.5", "covid"]
# Queries the exact search finds few datasets for, so they fall back to a forgiving tier (catalog/forgiving.py):
# tone marks dropped, romanised and English place names, English words, one letter off.
FORGIVING = ["จัดซือจัดจาง", "ขอมูลโรงเรียน", "chiang mai", "khon kaen", "krungthep", "hospital", "tourism",
             "โรงเรยน", "งบประมาน", "chaing rai"]
OTHER = [{"q": "", "facet.field": '["organization","tags","res_format","groups"]'},
         {"q": "", "fq": "organization:bb"}, {"q": "โรงเรียน", "facet.field": '["organization","tags"]'},
         {"q": "", "sort": "metadata_modified desc", "rows": 100}]

# Each query set as the bench reports it: (label, package_search parameters of each query).
QUERY_SETS = (("thai", [{"q": q} for q in THAI]), ("english", [{"q": q} for q in ENGLISH]),
              ("forgiving", [{"q": q} for q in FORGIVING]), ("browse/facets/fq", OTHER))


def build(db_path, n, storage):
    settings = Settings(db_path=str(db_path), storage_dir=str(storage))
    db = catalog_db.connect(db_path)
    admin_row = create_user(db, "bench-admin", sysadmin=True)
    admin = {"id": admin_row["id"], "name": "bench-admin", "sysadmin": True}
    ctx = Context(db=db, settings=settings, user=admin)
    inputs = seed_inputs()
    for o in inputs["organizations"]:
        organization_create(ctx, {"name": o["name"], "title": o["title"]})
    for g in inputs["groups"]:
        group_create(ctx, {"name": g["name"], "title": g["title"]})
    t0 = time.perf_counter()
    synthetic_datasets(db, settings, sysadmin=admin, count=n,
                       progress=lambda d: print(f"  created {d}/{n}", end="\r", flush=True) if d % 5000 == 0 else None)
    create_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuild(ctx)
    index_s = time.perf_counter() - t0
    if catalog_db.dialect(db) == "postgresql":
        db.execute("ANALYZE")
    else:
        db.execute("PRAGMA optimize")
        db.execute("INSERT INTO search_trigram(search_trigram) VALUES ('optimize')")
        db.execute("INSERT INTO search_words(search_words) VALUES ('optimize')")
        db.execute("INSERT INTO search_loose(search_loose) VALUES ('optimize')")
    db.close()
    return settings, create_s, index_s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def time_calls(fn, params_list, repeat):
    out = []
    for _ in range(repeat):
        for params in params_list:
            t0 = time.perf_counter()
            fn(params)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="reuse bench/out SQLite databases when present")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    catalogues = {}
    for backend in args.backends.split(","):
        for n in sizes:
            catalogues[backend, n] = run_size(backend, n, out_dir, args)
    for n in sizes:
        if ("sqlite", n) in catalogues and ("postgresql", n) in catalogues:
            side_by_side(n, catalogues["sqlite", n], catalogues["postgresql", n], args.repeat,
                         out_dir / f"search-{n}-copies")
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def run_size(backend, n, out_dir, args):
    print(f"\n== {backend}: {n:,} synthetic datasets ==")
    storage = out_dir / f"search-{n}-storage"
    if backend == "postgresql":
        from catalog.store.transfer import copy_catalogue
        from khlang.localpg import cluster

        # The same catalogue as the SQLite run's (built first), copied over: both databases answer the same
        # queries over the same datasets, and the bench does not wait on PostgreSQL's slower one-by-one writes.
        lite = out_dir / f"search-{n}.db"
        if not lite.exists():
            build(lite, n, storage)
        db_path = cluster().new_database(f"search_{n}")
        src, dst = catalog_db.connect(str(lite)), catalog_db.connect(db_path)
        t0 = time.perf_counter()
        rows = sum(copy_catalogue(src, dst).values())
        dst.execute("ANALYZE")
        print(f"  khlang copy-to from SQLite: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        src.close()
        dst.close()
        settings = Settings(db_path=db_path, storage_dir=str(storage))
        size = query_one(db_path, "SELECT pg_database_size(current_database())")
        print(f"  database size: {size / 1e6:.0f} MB")
    else:
        db_path = out_dir / f"search-{n}.db"
        if db_path.exists() and args.reuse:
            settings = Settings(db_path=str(db_path), storage_dir=str(storage))
            print("  (reused existing database)")
        else:
            for p in out_dir.glob(f"search-{n}.db*"):
                p.unlink()
            settings, create_s, index_s = build(db_path, n, storage)
            _print_build(n, create_s, index_s)
        print(f"  database size: {sum(p.stat().st_size for p in out_dir.glob(f'search-{n}.db*')) / 1e6:.0f} MB")
    db = catalog_db.connect(str(db_path))
    anon = Context(db=db, settings=settings, user=None, site_url="http://bench")
    if backend == "postgresql":
        t0 = time.perf_counter()
        warm(settings.db_path)
        while not replica_stats()[settings.db_path][1]:
            time.sleep(0.05)
        print(f"  the node's copy of the search index: {replica_stats()[settings.db_path][0]:,} entries built in "
              f"{time.perf_counter() - t0:.1f} s")
    tiers = {q: package_search(anon, {"q": q}) for q in THAI + ENGLISH + FORGIVING}
    print("  tier shown: " + ", ".join(f"{q} → {r['khlang_match']} ({r['count']:,})" for q, r in tiers.items()))
    # On PostgreSQL, also without the node's copy of the index: the search PostgreSQL itself runs.
    modes = [(0, True), (512, True)] + ([(0, False)] if backend == "postgresql" else [])
    for cache, copy in modes:
        settings.search_cache_size, settings.search_replica = cache, copy
        ctx = Context(db=db, settings=settings, user=None, site_url="http://bench")
        label0 = ("cached" if cache else "uncached") + ("" if copy else ", on PostgreSQL itself")
        for label, params in QUERY_SETS:
            time_calls(lambda p: package_search(ctx, dict(p)), params, 1)  # warm pages, fill cache
            ms = time_calls(lambda p: package_search(ctx, dict(p)), params, args.repeat)
            print(f"  server-side {label0:8s} {label:17s} p50 {statistics.median(ms):6.1f} ms"
                  f"  p95 {pct(ms, 95):6.1f} ms  (n={len(ms)})")
    settings.search_replica = True
    # On PostgreSQL the node keeps its copy of the index in a local folder: the second node process started here
    # catches it up instead of building it again.
    copies = out_dir / f"search-{n}-copies"
    shutil.rmtree(copies, ignore_errors=True)
    for cache in (0, 512):
        http_bench(db_path, storage, cache, args.repeat, copies)
    return db_path, storage


def _print_build(n, create_s, index_s):
    print(f"  package_create (validate+write+index+activity): {n / create_s:,.0f} datasets/s ({create_s:.1f} s)")
    print(f"  index rebuild: {n / index_s:,.0f} datasets/s ({index_s:.1f} s)")


def query_one(database, sql):
    conn = catalog_db.connect(database, migrate=False)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def http_bench(db_path, storage, cache, repeat, copies):
    """The same queries through a real `khlang serve` and requests, keep-alive."""
    with serving(db_path, storage, cache, copies) as url:
        s = session()
        for label, params in QUERY_SETS:
            time_calls(lambda p: s.get(url, params=p).raise_for_status(), params, 1)
            ms = time_calls(lambda p: s.get(url, params=p).raise_for_status(), params, repeat)
            print(f"  over HTTP   {'cached' if cache else 'uncached':8s} {label:17s} p50 {statistics.median(ms):6.1f} ms"
                  f"  p95 {pct(ms, 95):6.1f} ms  (n={len(ms)})")


def side_by_side(n, lite, pg, repeat, copies):
    """Uncached searches over HTTP on a SQLite server and a PostgreSQL node at once, each query sent to one and then
    the other (which first alternates): the two backends compared in the same moments of a machine whose speed
    drifts by up to twice between runs."""
    print(f"\n== SQLite beside a PostgreSQL node, {n:,} datasets, uncached, over HTTP, interleaved ==")
    with serving(*lite, 0, copies) as lite_url, serving(*pg, 0, copies) as pg_url:
        sessions = {lite_url: session(), pg_url: session()}
        for label, params in QUERY_SETS:
            times = {lite_url: [], pg_url: []}
            for round_ in range(repeat + 1):
                for i, p in enumerate(params):
                    for url in ((lite_url, pg_url) if (round_ + i) % 2 else (pg_url, lite_url)):
                        t0 = time.perf_counter()
                        sessions[url].get(url, params=p).raise_for_status()
                        if round_:   # the first round warms both
                            times[url].append((time.perf_counter() - t0) * 1000)
            a, b = times[lite_url], times[pg_url]
            print(f"  {label:17s} SQLite p50 {statistics.median(a):6.1f} p95 {pct(a, 95):6.1f} ms   PostgreSQL node "
                  f"p50 {statistics.median(b):6.1f} p95 {pct(b, 95):6.1f} ms   node / SQLite p50 "
                  f"{statistics.median(b) / statistics.median(a):.2f}  (n={len(a)} each)")


def session():
    s = requests.Session()
    # Loopback: without this, requests reads the environment's proxy settings on every call (about 0.6 ms of
    # the client's own time per search).
    s.trust_env = False
    return s


@contextmanager
def serving(db_path, storage, cache, copies):
    """A real `khlang serve` on the catalogue, for the `with` block: its package_search URL once it answers (a
    PostgreSQL node's once its copy of the search index is in use)."""
    port = free_port()
    kept = copies.is_dir()
    env = {**os.environ, "KHLANG_DB": str(db_path), "KHLANG_STORAGE": str(storage), "KHLANG_SEARCH_CACHE": str(cache),
           "KHLANG_SEARCH_COPY_DIR": str(copies)}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("khlang")), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.perf_counter()
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        if catalog_db.is_postgresql(str(db_path)):
            # The node builds its copy of the search index as it starts; searches before that run on PostgreSQL.
            while 'khlang_search_copy{state="in_use"} 1.0' not in requests.get(f"http://127.0.0.1:{port}/metrics").text:
                time.sleep(0.1)
            how = "caught up the copy of the search index its last process kept" if kept else \
                "built its copy of the search index"
            print(f"  node started and {how} in {time.perf_counter() - t0:.1f} s")
        yield f"http://127.0.0.1:{port}/api/3/action/package_search"
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
