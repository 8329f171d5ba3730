"""A throwaway PostgreSQL server of Khlang's own: initdb into a temporary folder, started on a loopback port,
databases made from a migrated template, removed when the process that started it ends.

The tests use one per test process (a new database per test); `make cluster` uses one for its nodes.
Nothing needs to be running beforehand; PostgreSQL's programs come from Debian's package
(scripts/install-test-deps.sh installs it where missing)."""
import atexit
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TEMPLATE = "khlang_template"
_lock = threading.Lock()
_cluster = None


def bindir():
    """The folder of initdb and pg_ctl: pg_config's, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and Path(out, "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-test-deps.sh (Debian's postgresql)")
    return Path(candidates[-1]).parent


class Cluster:
    """One PostgreSQL server of our own, as the `postgres` user when we are root (initdb refuses root)."""

    def __init__(self, port=None):
        self.bin = bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="khlang-pg-"))
        self.data = self.dir / "data"
        self.port = port or _free_port()
        self.user = "postgres"
        self._as = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        # C.UTF-8: Thai letters, vowels and tone marks are word characters for pg_trgm; collation stays bytewise.
        self._run("initdb", "-D", str(self.data), "-E", "UTF8", "--locale=C.UTF-8", "--lc-collate=C",
                  "-A", "trust", "-U", self.user)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300", "start")
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}"
        self._names = itertools.count()
        self._admin(f"CREATE DATABASE {TEMPLATE}")
        # Loaded only once a server is started (the CLI imports nothing of the catalogue at start).
        import spending  # noqa: F401  (its migrations join the catalogue's)
        from catalog.store import db as catalog_db

        catalog_db.connect(f"{self.url}/{TEMPLATE}").close()

    def _run(self, program, *args):
        out = subprocess.run([*self._as, str(self.bin / program), *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{program} failed: {out.stdout}{out.stderr}")

    def _admin(self, sql):
        import psycopg   # only once a server is running

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self, name=None, empty=False):
        """The URL of a new catalogue database, already migrated (a copy of the template), or `empty`."""
        name = name or f"t{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {'template1' if empty else TEMPLATE} STRATEGY FILE_COPY")
        return f"{self.url}/{name}"

    def restart(self):
        """Stop the server (every connection dropped, nothing committed lost) and start it again on its port."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-m", "fast", "-w", "restart")

    def stop(self):
        subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


HAPROXY = """global
  maxconn 2000
defaults
  mode http
  option forwardfor
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend khlang
  bind 127.0.0.1:{port}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
{servers}
"""


def start_proxy(ports, port, folder):
    """HAProxy on 127.0.0.1:`port`, round robin over nodes on `ports`, checking each one's /healthz."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        raise RuntimeError("haproxy is not installed: run scripts/install-test-deps.sh --cluster")
    servers = "\n".join(f"  server node{i + 1} 127.0.0.1:{p} check inter 2s" for i, p in enumerate(ports))
    cfg = Path(folder) / "haproxy.cfg"
    cfg.write_text(HAPROXY.format(port=port, servers=servers), encoding="utf-8")
    return subprocess.Popen([haproxy, "-f", str(cfg), "-db"], stdout=open(Path(folder) / "haproxy.log", "w"),
                            stderr=subprocess.STDOUT)


def start_site(env, folder, nodes, port=None):
    """(site URL, node URLs, processes): `khlang serve` with `env`, alone, or as `nodes` nodes behind HAProxy on
    `port`; returns once each answers /healthz with 200 (the proxy: once its first checks pass)."""
    khlang = str(Path(sys.executable).with_name("khlang"))
    procs, ports = [], []
    for i in range(nodes):
        ports.append(_free_port())
        log = open(Path(folder) / f"node{i + 1}.log", "w")
        procs.append(subprocess.Popen([khlang, "serve", "--port", str(ports[-1])], env={**os.environ, **env},
                                      stdout=log, stderr=subprocess.STDOUT))
    for proc, p in zip(procs, ports):
        _wait_healthy(f"http://127.0.0.1:{p}/healthz", proc)
    site = ports[0]
    if nodes > 1:
        site = port or _free_port()
        procs.append(start_proxy(ports, site, folder))
        _wait_healthy(f"http://127.0.0.1:{site}/healthz", procs[-1])
    return f"http://127.0.0.1:{site}", [f"http://127.0.0.1:{p}" for p in ports], procs


def stop_site(procs):
    """Stop what start_site started, the proxy first."""
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(url, proc, timeout=120):
    # Only a site's start-up asks over HTTP.
    import urllib.error
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} stopped at start (exit {proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered 200 at {url}")


def cluster():
    """This process's cluster, started on first use and stopped when the process exits."""
    global _cluster
    with _lock:
        if _cluster is None:
            started = time.time()
            _cluster = Cluster()
            atexit.register(_cluster.stop)
            _cluster.started_in = time.time() - started
        return _cluster


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
