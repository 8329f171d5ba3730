"""The SQLite store: versioned migrations upgrade in place; several processes share one database."""
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import ckanapi
import pytest
import requests
from conftest import LiveServer, free_port, khlang_cli

from catalog import actions
from catalog.store import db as catalog_db


def test_connect_is_idempotent_and_uses_wal(settings):
    first = catalog_db.connect(settings.db_path)
    version = catalog_db.schema_version(first)
    first.close()
    again = catalog_db.connect(settings.db_path)
    assert catalog_db.schema_version(again) == version == max(v for v, _ in catalog_db.migrations())
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _add_migration(tmp_path, monkeypatch, version, name, sql):
    """Point the store at a copy of the shipped migrations plus one more."""
    newer = tmp_path / "migrations"
    shutil.copytree(catalog_db.MIGRATIONS_DIR, newer)
    (newer / f"{version:04d}_{name}.sql").write_text(sql, encoding="utf-8")
    monkeypatch.setattr(catalog_db, "MIGRATIONS_DIR", newer)


def test_a_sqlite_pool_hands_out_the_connection_given_back_last_and_rolls_back_what_was_left_open(settings):
    catalog_db.connect(settings.db_path).close()
    pool = catalog_db.LitePool(settings.db_path)
    a, b, c = pool.take(), pool.take(), pool.take()
    assert len({id(a), id(b), id(c)}) == 3 and pool.stats()["pool_size"] == 3
    b.execute("BEGIN IMMEDIATE")   # a request that failed inside a write
    for conn in (a, c, b):
        pool.give(conn)
    assert not b.in_transaction
    assert pool.take() is b and pool.take() is c   # the warmest page cache first
    assert pool.stats() == {"pool_size": 3, "pool_available": 1, "requests_waiting": 0}
    pool.close()


def test_an_existing_database_upgrades_in_place_keeping_its_data(tmp_path, monkeypatch, make_ctx, admin, db):
    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "nso", "title": "สำนักงานสถิติแห่งชาติ"})
    actions.call(ctx, "package_create", {"name": "kept", "title": "ชุดข้อมูลเดิม", "owner_org": "nso"})
    before = catalog_db.schema_version(db)
    _add_migration(tmp_path, monkeypatch, before + 1, "add_column",
                   "ALTER TABLE packages ADD COLUMN view_count INTEGER NOT NULL DEFAULT 0;\n")
    upgraded = catalog_db.connect(ctx.settings.db_path)
    assert catalog_db.schema_version(upgraded) == before + 1
    row = upgraded.execute("SELECT title, view_count FROM packages WHERE name = 'kept'").fetchone()
    assert tuple(row) == ("ชุดข้อมูลเดิม", 0)
    assert actions.call(make_ctx(), "package_search", {"q": "ชุดข้อมูลเดิม"})["count"] == 1


def test_a_failing_migration_rolls_back_whole(tmp_path, monkeypatch, settings, db):
    before = catalog_db.schema_version(db)
    _add_migration(tmp_path, monkeypatch, before + 1, "broken", "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n")
    with pytest.raises(sqlite3.OperationalError):
        catalog_db.connect(settings.db_path)
    check = sqlite3.connect(settings.db_path)
    assert check.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == before
    assert not check.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()


def test_two_server_processes_and_the_cli_share_one_database(tmp_path):
    first = LiveServer(tmp_path)
    try:
        port = free_port()
        exe = Path(sys.executable).with_name("khlang")
        second = subprocess.Popen([str(exe), "serve", "--port", str(port)], env={**os.environ, **first.env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    requests.get(f"http://127.0.0.1:{port}/api/3", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            first.admin().action.organization_create(name="shared-org", title="หน่วยงานร่วม")
            # a write through one process is read by the other and by a CLI in a third
            token = khlang_cli("token", "add", "admin", env=first.env).stdout.strip()
            ckanapi.RemoteCKAN(f"http://127.0.0.1:{port}", apikey=token).action.package_create(
                name="from-second", title="สร้างผ่านโปรเซสที่สอง", owner_org="shared-org")
            assert first.ckan().action.package_search(q="โปรเซสที่สอง")["count"] == 1
        finally:
            second.terminate()
            second.wait(10)
    finally:
        first.stop()


def test_a_purged_dataset_leaves_no_row_behind_and_its_facet_counts_go(tmp_path):
    from catalog import actions
    from catalog.errors import NotFound, ValidationError
    from conftest import sysadmin_site

    _, db, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "group_create", {"name": "grp"})
    pkg = actions.call(ctx, "package_create", {"name": "gone", "owner_org": "org", "tags": [{"name": "ลบ"}],
                                               "groups": [{"name": "grp"}]})
    table = actions.call(ctx, "datastore_create", {"resource": {"package_id": pkg["id"]}, "records": [{"a": 1}]})
    actions.call(ctx, "comment_create", {"package_id": pkg["id"], "body": "ถาม"})
    tags = lambda: actions.call(ctx, "package_search", {"facet.field": '["tags"]'})["facets"]["tags"]  # noqa: E731
    assert tags() == {"ลบ": 1}
    actions.call(ctx, "dataset_purge", {"id": "gone"})
    for table_name, key in (("packages", "id"), ("resources", "package_id"), ("package_tags", "package_id"),
                            ("package_groups", "package_id"), ("comments", "package_id"), ("activity", "object_id"),
                            ("search_docs", "package_id")):
        assert db.execute(f"SELECT count(*) FROM {table_name} WHERE {key} = ?", (pkg["id"],)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM resource_versions WHERE resource_id = ?",
                      (table["resource_id"],)).fetchone()[0] == 0
    assert tags() == {} and actions.call(ctx, "package_search", {})["count"] == 0
    with pytest.raises(NotFound):
        actions.call(ctx, "package_show", {"id": "gone"})
    actions.call(ctx, "package_create", {"name": "kept", "owner_org": "org", "groups": [{"name": "grp"}]})
    with pytest.raises(ValidationError):
        actions.call(ctx, "organization_purge", {"id": "org"})      # it still owns a dataset
    actions.call(ctx, "group_purge", {"id": "grp"})
    assert actions.call(ctx, "package_show", {"id": "kept"})["groups"] == []
    assert actions.call(ctx, "package_search", {"fq": "groups:grp"})["count"] == 0
