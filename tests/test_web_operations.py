"""Running a portal: /healthz, /metrics, one log line per request, and database settings refused before harm."""
import json
import logging
import os
import re
import sqlite3

from catalog.settings import Settings
import requests

from tests.conftest import LiveServer, run_cli, sysadmin_site


def test_healthz_is_200_when_catalogue_storage_and_duckdb_answer(tmp_path):
    app, _, _ = sysadmin_site(tmp_path)
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "checks": {"catalogue": "ok", "storage": "ok",
                                                                                  "duckdb": "ok"}}


def test_healthz_is_503_naming_a_missing_storage_folder(tmp_path):
    from web import create_app

    settings = Settings(db_path=str(tmp_path / "k.db"), storage_dir=str(tmp_path / "shared" / "storage"),
                        extra={"secret_key": "k"})
    app = create_app({"SETTINGS": settings, "TESTING": True})
    r = app.test_client().get("/healthz")
    body = r.get_json()
    assert r.status_code == 503 and body["status"] == "unavailable"
    assert "shared/storage is missing" in body["checks"]["storage"] and body["checks"]["catalogue"] == "ok"


def test_metrics_count_requests_by_route_and_show_the_work_queues(tmp_path):
    app, _, _ = sysadmin_site(tmp_path)
    client = app.test_client()
    for _ in range(3):
        client.get("/api/3/action/package_show?id=nope")
    client.get("/dataset")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'khlang_requests_total{method="GET",route="/api/<int:ver>/action/<name>",status="404"} 3.0' in text
    assert 'khlang_requests_total{method="GET",route="/dataset",status="200"} 1.0' in text
    assert 'khlang_request_seconds_count{route="/dataset"} 1.0' in text
    assert "nope" not in text   # route patterns, never the URL's own values
    assert "# TYPE khlang_jobs gauge" in text


def test_requests_one_after_another_share_one_catalogue_connection_on_a_real_server(tmp_path):
    srv = LiveServer(tmp_path)   # 8 threads

    def pool(state):
        text = requests.get(f"{srv.url}/metrics").text
        return float(re.search(rf'khlang_db_pool{{state="{state}"}} ([0-9.]+)', text).group(1))

    try:
        opened = pool("open")   # the server's start may have overlapped a request or two
        for i in range(20):
            requests.get(f"{srv.url}/api/3/action/package_search", params={"q": f"ถนน{i}"}).raise_for_status()
        # One SQLite page cache kept warm, not one per server thread: no connection was opened for them, and all
        # but the one /metrics holds are idle.
        assert pool("open") == opened and pool("idle") == opened - 1
    finally:
        srv.stop()


def test_every_request_writes_one_json_log_line(tmp_path, caplog):
    app, _, ctx = sysadmin_site(tmp_path)
    with caplog.at_level(logging.INFO, logger="khlang.request"):
        app.test_client().get("/api/3/action/package_search?q=x")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "khlang.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/api/<int:ver>/action/<name>" and line["path"] == "/api/3/action/package_search"
    assert line["status"] == 200 and line["ms"] >= 0 and line["method"] == "GET" and "ts" in line


def test_a_database_url_of_another_kind_is_refused_and_nothing_is_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("postgresql://khlang@db.example:5432/khlang", "mysql://x/y", "http://example.org/k.db"):
        out = run_cli("check", "--db", url, check=False)
        assert out.returncode == 2 and out.stderr.startswith("error: --db: ") and out.stderr.count("\n") == 1
        out = run_cli("migrate", env={"KHLANG_DB": url}, check=False)
        assert out.returncode == 2 and out.stderr.startswith("error: KHLANG_DB: ") and out.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_sqlite_urls_and_paths_name_the_same_catalogue(tmp_path):
    out = run_cli("migrate", "--db", f"sqlite:///{tmp_path}/k.db")
    assert f"{tmp_path}/k.db: catalogue at migration" in out.stdout and "spending at migration 1" in out.stdout
    assert (tmp_path / "k.db").exists()


def test_a_catalogue_migrated_by_a_newer_khlang_is_left_alone(tmp_path):
    run_cli("migrate", "--db", tmp_path / "k.db")
    db = sqlite3.connect(tmp_path / "k.db")
    db.execute("INSERT INTO schema_migrations VALUES (9999, 'later')")
    db.commit()
    out = run_cli("check", "--db", tmp_path / "k.db", check=False)
    assert out.returncode == 2 and "newer than this Khlang knows" in out.stderr and out.stderr.count("\n") == 1


def test_logging_a_download_leaves_it_streamed(tmp_path, caplog):
    from catalog import actions

    app, _, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org"})
    res = actions.call(ctx, "datastore_create", {"resource": {"package_id": "ds", "name": "t"},
                                                 "records": [{"a": i} for i in range(10)],
                                                 "fields": [{"id": "a", "type": "int"}]})
    with caplog.at_level(logging.INFO, logger="khlang.request"):
        r = app.test_client().get(f"/datastore/dump/{res['resource_id']}?format=csv")
    line = json.loads(next(x.getMessage() for x in caplog.records if x.name == "khlang.request"))
    assert r.status_code == 200 and r.get_data(as_text=True).count("\n") == 11
    assert line["route"] == "/datastore/dump/<resource_id>" and line["bytes"] is None   # not measured by buffering it
