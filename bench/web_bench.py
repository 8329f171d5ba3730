"""Website pages on the 100,000-dataset catalogue: server time p50/p95 of home, search, dataset and
resource pages (Flask test client, warm), and bytes a first visit transfers for each page.

    python bench/web_bench.py [--size 100000]
Reuses bench/out/search-<size>.db from bench/search_bench.py (building it when missing) and adds one
50,000-row DataStore table for the resource page. Then the time from starting `khlang serve` to its first
answer, beside Datasette's (bench/peers_bench.py's venv) on an empty database. Prints figures; asserts nothing.
"""
import argparse
import os
import random
import re
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

from catalog import actions  # noqa: E402
from catalog.store import db as catalog_db  # noqa: E402
from catalog.context import Context  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from web import create_app  # noqa: E402

QUERIES = ["โรงเรียน", "งบประมาณ", "กรุงเทพ", "น้ำ", "จัดซื้อจัดจ้าง", "ไฟฟ้า", "statistics", "งบประมาณ เชียงใหม่"]
TABLE = "bench-web-table"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ensure_table(settings):
    """One public dataset with a 50,000-row DataStore table (made once per database)."""
    db = catalog_db.connect(settings.db_path)
    row = db.execute("SELECT id FROM users WHERE sysadmin = 1 LIMIT 1").fetchone()
    ctx = Context(db=db, settings=settings, user={"id": row[0], "name": "bench-admin", "sysadmin": True}, site_url="")
    try:
        pkg = actions.call(ctx, "package_show", {"id": TABLE})
    except Exception:  # noqa: BLE001 - first run on this database
        org = db.execute("SELECT name FROM groups WHERE is_organization = 1 LIMIT 1").fetchone()[0]
        pkg = actions.call(ctx, "package_create", {"name": TABLE, "title": "ตารางทดสอบความเร็ว", "owner_org": org})
        rng = random.Random(3)
        provinces = ["กรุงเทพมหานคร", "เชียงใหม่", "ขอนแก่น", "ภูเก็ต", "สงขลา", "นครราชสีมา"]
        records = [{"province": rng.choice(provinces), "year": 2560 + i % 8, "amount": rng.randint(1, 10**7),
                    "note": f"รายการที่ {i} งบประมาณ"} for i in range(50_000)]
        actions.call(ctx, "datastore_create", {"resource": {"package_id": pkg["id"], "name": "rows"},
                                               "records": records})
        pkg = actions.call(ctx, "package_show", {"id": TABLE})
    names = [r[0] for r in db.execute("SELECT name FROM packages WHERE private = 0 AND state = 'active' "
                                      "ORDER BY random() LIMIT 40")]
    db.close()
    return pkg, names


def transferred(client, html):
    """Bytes of the page and of the stylesheets and scripts it loads up front."""
    total = len(html)
    for ref in set(re.findall(r'<(?:link rel="stylesheet" href|script src)="(/[^"]+)"', html.decode())):
        total += len(client.get(ref).data)
    return total


def run(client, label, urls, repeat):
    times, sizes = [], []
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        sizes.append(transferred(client, r.data))
        for _ in range(repeat):
            t = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t) * 1000)
    print(f"  {label:28s} p50 {statistics.median(times):6.1f} ms  p95 {pct(times, 95):6.1f} ms  "
          f"largest first visit {max(sizes) / 1024:6.1f} KB  (n={len(times)})", flush=True)


def first_answer(command, url, env=None):
    """Seconds from starting a server process to its first 200 answer to `url`."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(10)


def start_times(starts=5):
    """`khlang serve`'s first answer after it starts, beside Datasette's, each on a new empty database."""
    from peers_bench import datasette
    from search_bench import free_port

    print("\n== server start: time to the first answer (an empty catalogue; Datasette on an empty database) ==")
    # As `make` does before serving: our modules' bytecode, which pip compiled for Datasette at its install.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "khlang", "catalog", "spending", "ingest",
                    "web"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "k.db")
        khlang = str(Path(sys.executable).with_name("khlang"))
        subprocess.run([khlang, "migrate", "--db", db], check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", f"import sqlite3; sqlite3.connect({str(Path(tmp) / 'd.db')!r})"
                                              ".execute('CREATE TABLE t (a)')"], check=True)
        ours, theirs = [], []
        for _ in range(starts):   # interleaved, so both see the same machine
            port = free_port()
            ours.append(first_answer([khlang, "serve", "--port", str(port)],
                                     f"http://127.0.0.1:{port}/api/3/action/status_show",
                                     {"KHLANG_DB": db, "KHLANG_STORAGE": str(Path(tmp) / "storage")}))
            port = free_port()
            theirs.append(first_answer([str(datasette()), "serve", str(Path(tmp) / "d.db"), "--port", str(port)],
                                       f"http://127.0.0.1:{port}/-/versions.json"))
    print(f"  khlang serve   first answer p50 {statistics.median(ours):5.2f} s  (each: "
          f"{', '.join(f'{t:.2f}' for t in ours)})")
    print(f"  datasette      first answer p50 {statistics.median(theirs):5.2f} s  (each: "
          f"{', '.join(f'{t:.2f}' for t in theirs)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    db_path = ROOT / "bench" / "out" / f"search-{args.size}.db"
    if not db_path.exists():
        import search_bench

        db_path.parent.mkdir(parents=True, exist_ok=True)
        search_bench.build(db_path, args.size)
    settings = Settings(db_path=str(db_path))
    pkg, names = ensure_table(settings)
    rid = pkg["resources"][0]["id"]
    print(f"\n== website pages, {args.size:,} datasets (server time, Flask test client, search cache on) ==")
    client = create_app({"SETTINGS": settings, "TESTING": True}).test_client()
    run(client, "home", ["/", "/?lang=en"], args.repeat)
    run(client, "search (Thai/English q)", [f"/dataset?q={q}" for q in QUERIES], args.repeat)
    run(client, "search (browse, facet, page 5)", ["/dataset", "/dataset?res_format=CSV", "/dataset?page=5",
                                                  "/dataset?sort=title_string+asc"], args.repeat)
    run(client, "dataset page", [f"/dataset/{n}" for n in names], args.repeat)
    run(client, "resource page (50k-row preview)", [f"/dataset/{TABLE}/resource/{rid}",
                                                    f"/dataset/{TABLE}/resource/{rid}?sort=amount+desc&page=3",
                                                    f"/dataset/{TABLE}/resource/{rid}?q.province=เชียง"], args.repeat)
    settings.search_cache_size = 0
    client = create_app({"SETTINGS": settings, "TESTING": True}).test_client()
    run(client, "search, result cache off", [f"/dataset?q={q}" for q in QUERIES], 3)
    start_times()


if __name__ == "__main__":
    main()
