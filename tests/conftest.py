"""Shared fixtures: a flaskr-style app/client, direct action contexts, and real `khlang serve` processes."""
import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

import spending  # noqa: F401  (registers spending's own migrations before any test opens a catalogue)

from catalog.store import db as catalog_db
from catalog.context import Context
from catalog.settings import Settings
from catalog.users import create_user

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT / "data" / "real"
# `make test` runs the suite on SQLite, then the suites that must hold on both (PG_SUITES in the Makefile)
# with KHLANG_TEST_BACKEND=postgresql: each test's catalogue is then a new database in a throwaway cluster.
BACKEND = os.environ.get("KHLANG_TEST_BACKEND", "sqlite")


class ClosingClient(FlaskClient):
    """Flask's test client reading each body whole and closing it, as a WSGI server does once a response is
    sent: a streamed download gives its pooled PostgreSQL connection back then (web/context.py)."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ClosingClient


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src") and a.get("type") != "application/ld+json":
            self.bad.append("inline <script>")
        if tag == "img" and a.get("src") == "x":
            self.bad.append("injected <img>")
        self.bad += [f"{tag} {k}=" for k, v in attrs if k.startswith("on")]
        self.bad += [f"{tag} {k}={v}" for k, v in attrs
                     if k in ("href", "src", "action", "formaction", "srcdoc") and
                     (v or "").strip().lower().startswith(("javascript:", "data:text/html", "vbscript:"))]
        # The one frame the templates write: a webpage_view's, sandboxed, of an http(s) page.
        own_frame = (tag == "iframe" and a.get("class") == "webpage-view" and a.get("sandbox")
                     and (a.get("src") or "").startswith(("https://", "http://")))
        if (tag in ("iframe", "object", "embed", "base", "svg", "math") and not own_frame) or \
                (tag == "meta" and a.get("http-equiv")):
            self.bad.append(f"injected <{tag}>")


def dangerous(html):
    """Executable markup an attacker's text could have planted: inline scripts, handlers, javascript: links."""
    p = _Tags()
    p.feed(html)
    return p.bad


def catalogue_db(folder):
    """A new catalogue for one test: `folder`/khlang.db, or a new migrated database in the test cluster."""
    if BACKEND != "postgresql":
        return str(Path(folder) / "khlang.db")
    from khlang.localpg import cluster

    return cluster().new_database()


def catalogue_env(folder):
    """KHLANG_DB and KHLANG_STORAGE of a new catalogue whose files live in `folder`."""
    return {"KHLANG_DB": catalogue_db(folder), "KHLANG_STORAGE": str(Path(folder) / "storage")}


def catalogue_settings(folder):
    """Settings of a new catalogue whose files live in `folder`."""
    return Settings(db_path=catalogue_db(folder), storage_dir=str(Path(folder) / "storage"))


def query(database, sql, args=()):
    """All rows of one read of a catalogue (a file path or a PostgreSQL URL), through a connection of its own."""
    conn = catalog_db.connect(database, migrate=False)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def sysadmin_site(folder, sysadmin="root", **config):
    """(app, db, sysadmin Context) of a new catalogue in `folder`, for module-scoped fixtures."""
    from web import create_app

    settings = catalogue_settings(folder)
    app = create_app({"SETTINGS": settings, "TESTING": True, **config})
    db = catalog_db.connect(settings.db_path)
    row = create_user(db, sysadmin, email=f"{sysadmin}@example.go.th", password="password-123", sysadmin=True)
    ctx = Context(db=db, settings=settings, user={"id": row["id"], "name": sysadmin, "sysadmin": True},
                  site_url="http://t")
    return app, db, ctx


@pytest.fixture
def settings(tmp_path):
    return catalogue_settings(tmp_path)


@pytest.fixture
def db(settings):
    conn = catalog_db.connect(settings.db_path)
    yield conn
    conn.close()


@pytest.fixture
def admin(db):
    row = create_user(db, "admin", email="admin@example.go.th", password="admin-pass-1", sysadmin=True)
    return {"id": row["id"], "name": row["name"], "sysadmin": True}


@pytest.fixture
def make_ctx(db, settings):
    """Build an action Context for a user dict (None = anonymous)."""

    def _make(user=None):
        return Context(db=db, settings=settings, user=user, site_url="http://test.local")

    return _make


@pytest.fixture
def app(settings):
    from web import create_app

    return create_app({"SETTINGS": settings, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def _json_of(response):
    return response.get_json() if hasattr(response, "get_json") else response.json()


def assert_ckan_error(response, status, error_type, **fields):
    """The response is CKAN's error envelope: the status, JSON, {help, success: false, error: {__type, ...}};
    `message="text"` must appear in the error's message, and any other keyword is a field whose errors must
    equal the given list. Works with Flask's test client and with requests. Returns the error dict."""
    assert response.status_code == status, (response.status_code, getattr(response, "text", None) or response.data[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    body = _json_of(response)
    assert set(body) == {"help", "success", "error"} and body["success"] is False, body
    assert body["help"] is None or "/api/3/action/help_show?name=" in body["help"]
    error = body["error"]
    assert error["__type"] == error_type, error
    message = fields.pop("message", None)
    if message is not None:
        assert message in error["message"], error
    for field, errors in fields.items():
        assert error[field] == errors, error
    return error


def assert_cube_error(response, status, message=None):
    """The cube API's (Babbage's) error shape: {status: "error", message[, allowed]}; returns the body."""
    assert response.status_code == status, (response.status_code, _json_of(response))
    body = _json_of(response)
    assert body["status"] == "error" and isinstance(body["message"], str) and set(body) <= {"status", "message",
                                                                                            "allowed"}, body
    if message is not None:
        assert message in body["message"], body
    return body


def wait_for(predicate, timeout=60, step=0.02):
    """True once predicate() holds, False if it did not within `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, env=None, check=True):
    """Run the command line in this process (its in-process runner, `khlang.cli.main`); the same answer as
    khlang_cli (returncode, stdout, stderr) without a new interpreter, for tests where a subprocess is not the point."""
    from khlang.cli import main

    out, err, saved = io.StringIO(), io.StringIO(), {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:   # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result = subprocess.CompletedProcess(["khlang", *args], code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"khlang {' '.join(map(str, args))} failed: {result.stdout}\n{result.stderr}")
    return result


def khlang_cli(*args, env=None, check=True):
    """Run the real `khlang` console script."""
    exe = Path(sys.executable).with_name("khlang")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"khlang {' '.join(args)} failed: {proc.stdout}\n{proc.stderr}")
    return proc


def big_csv_bytes(rows):
    """A CSV of `rows` rows (id, province, amount, note) in Thai, as bytes."""
    lines = ["id,province,amount,note"] + [f"{i},จังหวัดที่ {i % 77},{i * 3}.50,แถวที่ {i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


class LiveServer:
    """A `khlang serve` subprocess on a free port with its own database and a sysadmin token; with `join`,
    another node of that server's catalogue and storage folder (its own process, port and log)."""

    def __init__(self, tmp, env=None, join=None):
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = {**(join.env if join else catalogue_env(self.dir)), **(env or {})}
        self.db = self.env["KHLANG_DB"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if join:
            self.admin_token = join.admin_token
        else:
            khlang_cli("user", "add", "admin", "--sysadmin", "--email", "admin@example.go.th", "--password",
                       "admin-pass-1", env=self.env)
            self.admin_token = khlang_cli("token", "add", "admin", env=self.env).stdout.strip()
        self.log = open(self.dir / "server.log", "w")
        self._start()

    def _start(self):
        exe = Path(sys.executable).with_name("khlang")
        self.proc = subprocess.Popen([str(exe), "serve", "--port", str(self.port)], env={**os.environ, **self.env},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(f"{self.url}/api/3", timeout=1)
                return
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.dir / "server.log").read_text())
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def ckan(self, token=None):
        import ckanapi

        return ckanapi.RemoteCKAN(self.url, apikey=token)

    def admin(self):
        return self.ckan(self.admin_token)

    def wait_jobs(self, timeout=60):
        """Wait until no background load is pending or running (uploads load asynchronously)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            busy = query(self.db, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')")[0][0]
            if not busy:
                return
            time.sleep(0.1)
        raise AssertionError("background loads did not finish")

    def user_with_token(self, name, sysadmin=False):
        args = ["user", "add", name, "--email", f"{name}@example.go.th", "--password", "password-123"]
        khlang_cli(*(args + (["--sysadmin"] if sysadmin else [])), env=self.env)
        return khlang_cli("token", "add", name, env=self.env).stdout.strip()

    def kill9(self):
        """Kill the server as a power cut would: no cleanup, no finished requests."""
        self.proc.kill()
        self.proc.wait(10)

    def restart(self):
        """Start the server again on the same database, folder and port."""
        self._start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory):
    started = []

    def _start(**env):
        srv = LiveServer(tmp_path_factory.mktemp("server"), env=env)
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        srv.stop()


def pytest_terminal_summary(terminalreporter):
    """Print the figures tests recorded (record_property("figure", text)), also from xdist workers."""
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == "figure" and value not in lines:
                    lines.append(value)
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
