"""`make cluster`: Khlang as a portal runs it, on one machine. A throwaway PostgreSQL, one shared storage
folder, two `khlang serve` nodes and HAProxy in front of them on loopback ports, seeded with the demo.

    python scripts/cluster.py [--port 8080] [--nodes 2] [--folder data/cluster]

Ctrl-C stops everything; the PostgreSQL data goes with it (the storage folder stays in --folder).
docs/deploy.md says how the same pieces are set up on real machines."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from khlang.localpg import Cluster, start_site, stop_site  # noqa: E402


def khlang(env, *args):
    subprocess.run([str(Path(sys.executable).with_name("khlang")), *args], env={**os.environ, **env}, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080, help="the proxy's port (the site's address)")
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--folder", default=str(ROOT / "data" / "cluster"), help="the shared storage folder's parent")
    args = ap.parse_args()
    folder = Path(args.folder).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    procs = []
    pg = Cluster()
    try:
        url = pg.new_database("khlang")
        env = {"KHLANG_DB": url, "KHLANG_STORAGE": str(folder / "storage"), "KHLANG_TRUSTED_PROXIES": "1",
               "KHLANG_SITE_URL": f"http://127.0.0.1:{args.port}"}
        print(f"PostgreSQL {pg.url}/khlang (throwaway), storage {folder / 'storage'}", flush=True)
        khlang(env, "seed-demo")
        khlang(env, "user", "add", "admin", "--sysadmin", "--email", "admin@example.go.th", "--password",
               "admin-pass-1")
        site, nodes, procs = start_site(env, folder, args.nodes, args.port)
        for i, node in enumerate(nodes):
            print(f"node {i + 1}: {node} (log {folder / f'node{i + 1}.log'})", flush=True)
        print(f"\nKhlang on {args.nodes} nodes: {site}/  (admin / admin-pass-1; Ctrl-C stops)", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        stop_site(procs)
        pg.stop()


if __name__ == "__main__":
    main()
