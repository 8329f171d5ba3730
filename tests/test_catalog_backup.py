"""`khlang backup` while the site serves and writes, then `khlang restore` into a new node: every dataset,
version and file of the snapshot comes back identical."""
import sqlite3
import threading
from pathlib import Path

import requests

from catalog import actions
from catalog.context import Context
from catalog.settings import Settings
from catalog.store import db as catalog_db
from tests.conftest import REAL_DATA, LiveServer, run_cli

EGP = REAL_DATA / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv"
MOF = REAL_DATA / "govspending-bbgfproject-moi-2559-2562" / "ministry_budget_vs_spent_2547-2562.json"


def backup_while_writing(srv, dest):
    """`khlang backup` of a running server's catalogue while a client keeps creating datasets on it;
    (the backup's output, the status of every create)."""
    stop, written = threading.Event(), []

    def keep_writing():
        n = 0
        while not stop.is_set():
            n += 1
            r = requests.post(f"{srv.url}/api/3/action/package_create", timeout=30,
                              headers={"Authorization": srv.admin_token},
                              json={"name": f"during-{n}", "owner_org": "cgd", "notes": "เขียนระหว่างสำรอง"})
            written.append(r.status_code)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        return run_cli("backup", dest, env=srv.env), written
    finally:
        stop.set()
        writer.join()


def _rows(db_path, sql):
    con = sqlite3.connect(db_path)
    try:
        return sorted(tuple(r) for r in con.execute(sql))
    finally:
        con.close()


def _dicts(db_path):
    settings = Settings(db_path=str(db_path))
    db = catalog_db.connect(settings.db_path)
    ctx = Context(db=db, settings=settings, user={"id": None, "name": "cli", "sysadmin": True}, site_url="http://x")
    try:
        names = actions.call(ctx, "package_search", {"rows": 1000, "include_private": True})["results"]
        return {p["name"]: p for p in names}
    finally:
        db.close()


def test_a_backup_taken_while_serving_restores_into_a_new_node_whole(tmp_path):
    srv = LiveServer(tmp_path / "node")
    try:
        run_cli("ingest", EGP, "--org", "cgd", "--dataset", "egp", "--source", "egp-csv", env=srv.env)
        run_cli("ingest", MOF, "--org", "mof", "--dataset", "mof-totals", "--source", "mof-ministry", env=srv.env)
        before = set(_dicts(srv.db))
        out, written = backup_while_writing(srv, tmp_path / "snap")
        assert "backed up" in out.stdout and set(written) == {200} and written
        assert requests.get(f"{srv.url}/healthz", timeout=10).status_code == 200
    finally:
        srv.stop()

    snap = tmp_path / "snap" / "khlang.db"
    restored = tmp_path / "new-node" / "khlang.db"
    out = run_cli("restore", tmp_path / "snap", "--db", restored)
    assert "checked it whole" in out.stdout
    assert run_cli("check", "--db", restored).stdout.strip().endswith("store is whole")
    taken, back = _dicts(snap), _dicts(restored)
    assert before <= set(taken) and taken == back
    for sql in ("SELECT id, resource_id, version, parquet_sha256, row_count FROM resource_versions",
                "SELECT resource_id, current_version_id FROM datastore_tables", "SELECT sha256, size FROM files",
                "SELECT key, value FROM site_meta", "SELECT id, name, password_hash FROM users"):
        assert _rows(snap, sql) == _rows(restored, sql) != [] or sql.startswith("SELECT key")
    files = sorted(p.relative_to(tmp_path / "snap" / "storage") for p in (tmp_path / "snap" / "storage").rglob("*")
                   if p.is_file())
    assert files == sorted(p.relative_to(restored.parent / "storage") for p in (restored.parent / "storage").rglob("*")
                           if p.is_file())
    # The restored node answers the cube API from the snapshot's spending build.
    from web import create_app

    app = create_app({"SETTINGS": Settings(db_path=str(restored)), "TESTING": True})
    body = app.test_client().get("/api/3/cubes/budget/aggregate?fiscal_year=all").get_json()
    assert body["summary"]["amount.sum"] > 0


def test_backup_refuses_a_folder_in_use_and_restore_refuses_an_existing_node(tmp_path):
    run_cli("migrate", "--db", tmp_path / "a" / "khlang.db")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    out = run_cli("backup", tmp_path / "busy", "--db", tmp_path / "a" / "khlang.db", check=False)
    assert out.returncode == 2 and "is not empty" in out.stderr
    run_cli("backup", tmp_path / "b", "--db", tmp_path / "a" / "khlang.db")
    out = run_cli("restore", tmp_path / "b", "--db", tmp_path / "a" / "khlang.db", check=False)
    assert out.returncode == 2 and "already exists" in out.stderr
    out = run_cli("restore", tmp_path / "a", "--db", tmp_path / "c" / "khlang.db", check=False)
    assert out.returncode == 2 and "is not a Khlang backup" in out.stderr
    assert not Path(tmp_path / "c" / "khlang.db").exists()
