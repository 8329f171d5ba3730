"""`make cluster` as a newcomer runs it: scripts/cluster.py starts a throwaway PostgreSQL, two nodes and HAProxy,
seeded with the demo; the site answers through the proxy from both nodes, and stopping it leaves nothing running."""
import re
import signal
import subprocess
import sys
import threading

import ckanapi
import psycopg
import pytest
import requests

from conftest import BACKEND, ROOT, free_port, wait_for

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass of make test")


def test_make_cluster_serves_the_demo_from_two_nodes_behind_the_proxy_and_stops_cleanly(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "cluster.py"), "--port", str(port),
                             "--folder", str(tmp_path / "cluster")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True).start()
    try:
        assert wait_for(lambda: any("Khlang on 2 nodes" in line for line in out) or proc.poll() is not None,
                        timeout=400, step=0.5)
        text = "".join(out)
        assert proc.poll() is None, text
        database = re.search(r"PostgreSQL (postgresql://\S+)", text).group(1)
        nodes = re.findall(r"node \d: (http://\S+)", text)
        site = f"http://127.0.0.1:{port}"
        assert len(nodes) == 2
        assert requests.get(f"{site}/healthz", timeout=10).status_code == 200
        # The demo's real data is there, the same through the proxy and from each node.
        counts = {url: ckanapi.RemoteCKAN(url).action.package_search(q="งบประมาณ", rows=0)["count"]
                  for url in [site, *nodes]}
        assert len(set(counts.values())) == 1 and counts[site] > 0, counts
        # Round robin: requests through the proxy reach both nodes (each logs one line per request).
        for _ in range(6):
            requests.get(f"{site}/api/3/action/status_show", timeout=10).raise_for_status()
        logs = [(tmp_path / "cluster" / f"node{i}.log").read_text(encoding="utf-8") for i in (1, 2)]
        assert all('"path": "/api/3/action/status_show"' in log for log in logs)
        login = requests.Session()
        page = login.get(f"{site}/user/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        login.post(f"{site}/user/login", data={"login": "admin", "password": "admin-pass-1", "csrf_token": csrf},
                   timeout=10)
        assert login.get(f"{site}/dashboard", allow_redirects=False, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(database, connect_timeout=3)
    for url in [site, *nodes]:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/healthz", timeout=3)
