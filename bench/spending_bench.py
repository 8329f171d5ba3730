"""Spending explorer benchmark: synthetic budget + N e-GP contracts, then server time of cube
aggregates and explorer pages (Flask test client, warm). Prints p50/p95 and peak RSS.

    python bench/spending_bench.py [N ...]     (default: 1000000 10000000)
"""
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.store import db as catalog_db  # noqa: E402
from catalog.context import Context  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.users import create_user  # noqa: E402
from spending.synthetic import seed_spending  # noqa: E402
from web import create_app  # noqa: E402

AGGREGATES = [
    "/api/3/cubes/procurement/aggregate?drilldown=fiscal_year",
    "/api/3/cubes/procurement/aggregate?drilldown=agency&cut=fiscal_year:2566&pagesize=50",
    "/api/3/cubes/procurement/aggregate?drilldown=contractor&pagesize=20&fiscal_year=all",
    "/api/3/cubes/procurement/aggregate?drilldown=method_group&cut=province:เชียงใหม่|fiscal_year:2566",
    "/api/3/cubes/procurement/aggregate?drilldown=ministry|fiscal_year",
    "/api/3/cubes/procurement/aggregate?drilldown=fiscal_year&cut=agency.id:3",
    "/api/3/cubes/budget/aggregate?drilldown=ministry&cut=fiscal_year:2567",
    "/api/3/cubes/disbursement/aggregate?drilldown=month&cut=fiscal_year:2567|source.granularity:month",
]
PAGES = ["/spending", "/spending/budget?year=2566", "/spending/procurement?q=ถนน",
         "/spending/procurement?method_group=เฉพาะเจาะจง&fiscal_year=2566", "/spending/agency/3",
         "/spending/contractor/5", "/spending/province/50", "/spending/map"]


def timed(client, url, runs):
    client.get(url)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return times


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(client, kind, urls, runs):
    """Print p50/p95 of each URL and of all of them together."""
    every = []
    for url in urls:
        times = timed(client, url, runs)
        every += times
        print(f"  {kind:9} p50 {statistics.median(times):7.1f} ms  p95 {pct(times, 95):7.1f} ms  {url}", flush=True)
    print(f"  ALL {kind}s: p50 {statistics.median(every):.1f} ms, p95 {pct(every, 95):.1f} ms", flush=True)


def run(n):
    with tempfile.TemporaryDirectory(dir=str(Path(__file__).resolve().parent.parent / "data")) as tmp:
        settings = Settings(db_path=str(Path(tmp) / "khlang.db"))
        db = catalog_db.connect(settings.db_path)
        admin = create_user(db, "bench", email="b@example.go.th", password="bench-pass-1", sysadmin=True)
        ctx = Context(db=db, settings=settings, user={"id": admin["id"], "name": "bench", "sysadmin": True}, site_url="")
        t = time.perf_counter()
        out = seed_spending(ctx, contracts=n)
        seeded = time.perf_counter() - t
        print(f"\n== {n:,} contracts, {out['budget_lines']:,} budget lines: generate + publish + build {seeded:.1f} s "
              f"(model build {out['build_seconds']} s)", flush=True)
        client = create_app({"SETTINGS": settings, "TESTING": True}).test_client()
        report(client, "aggregate", AGGREGATES, 15)
        report(client, "page", PAGES, 7)
        print(f"  peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        db.close()


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000]:
        run(size)
