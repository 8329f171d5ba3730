"""`make cluster`: Khlang as a portal runs it, on one machine. A throwaway PostgreSQL, one shared storage
folder, two `khlang serve` nodes and HAProxy in front of them on loopback ports, seeded with the demo.

    python scripts/cluster.py [--port 8080] [--nodes 2] [--folder data/cluster]

Ctrl-C stops everything; the PostgreSQL data goes with it (the storage folder stays in --folder).
docs/deploy.md says how the same pieces are set up on real machines."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from khlang.localpg import Cluster, start_proxy  # noqa: E402

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url, proc, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} stopped at start (exit {proc.returncode})")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer at {url}")


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
        ports = []
        for i in range(args.nodes):
            port = free_port()
            log = open(folder / f"node{i + 1}.log", "w")
            proc = subprocess.Popen([str(Path(sys.executable).with_name("khlang")), "serve", "--port", str(port)],
                                    env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
            procs.append(proc)
            wait_up(f"http://127.0.0.1:{port}/healthz", proc, f"node {i + 1}")
            ports.append(port)
            print(f"node {i + 1}: http://127.0.0.1:{port} (log {log.name})", flush=True)
        proxy = start_proxy(ports, args.port, folder)
        procs.append(proxy)
        wait_up(f"http://127.0.0.1:{args.port}/healthz", proxy, "haproxy")
        print(f"\nKhlang on {args.nodes} nodes: http://127.0.0.1:{args.port}/  (admin / admin-pass-1; Ctrl-C stops)",
              flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()


if __name__ == "__main__":
    main()
