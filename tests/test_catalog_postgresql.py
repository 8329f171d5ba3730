"""The catalogue on PostgreSQL: the same search answers as SQLite, clear refusals of a database it cannot use,
and several nodes (real `khlang serve` processes) on one catalogue and one storage folder.

The node and lease tests run in both passes of `make test` (two processes on one SQLite file, or two nodes
on one PostgreSQL database); the rest need the test cluster and run in the PostgreSQL pass."""
import re
import threading
from dataclasses import replace

import ckanapi
import pytest
import requests

import spending  # noqa: F401  (spending's migrations join the catalogue's)
from catalog import actions
from catalog.context import Context
from catalog.demo import seed_demo, synthetic_datasets
from catalog.settings import SettingError, Settings
from catalog.store import db as catalog_db
from catalog.users import create_user
from conftest import BACKEND, LiveServer, big_csv_bytes, free_port, query, run_cli, wait_for
from khlang.localpg import cluster

on_postgresql = pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass of make test")

QUERIES = [
    {"q": "โรงเรียน"}, {"q": "งบประมาณ"}, {"q": "กรุงเทพ"}, {"q": "กทม"}, {"q": "งบ"}, {"q": "ป"},
    {"q": "งบประมาณ โรงเรียน"}, {"q": "2565"}, {"q": "budget"}, {"q": "open data"}, {"q": "สถิติ", "start": 10},
    {"q": "title:งบประมาณ"}, {"q": "notes:รายงาน"}, {"q": "tags:การศึกษา"}, {"q": "งบ*"},
    {"q": "ข้อมูล", "rows": 50}, {"q": "ข้อมูล", "sort": "metadata_modified desc"},
    {"q": "จังหวัด", "sort": "title_string asc", "rows": 20}, {"q": "", "sort": "name asc", "start": 100},
    {"q": "โรงพยาบาล", "fq": "res_format:CSV"},
    {"q": "ภาษี", "facet.field": '["organization", "tags", "groups"]', "facet.limit": 5},
    {"fq": "organization:* -tags:งบประมาณ", "facet.field": '["res_format"]'},
    {"q": "metadata_modified:[2000-01-01T00:00:00Z TO NOW]", "rows": 3},
    {"q": "จังหวัด"}, {"q": "จังหวัด", "start": 40}, {"q": "จังหวัด สถิติ"},   # hit sets past bm25's 500
    {"q": "ยา", "rows": 50}, {"q": "งบ", "facet.field": '["tags"]', "start": 5}, {"q": "title:งบ OR ป"},   # 2 letters
    {"q": "รา", "rows": 30}, {"q": "รา", "start": 600},
]


def _catalogue(database, folder):
    settings = Settings(db_path=database, storage_dir=str(folder / "storage"))
    db = catalog_db.connect(database)
    row = create_user(db, "root", email="root@example.go.th", password="password-123", sysadmin=True)
    admin = {"id": row["id"], "name": "root", "sysadmin": True}
    seed_demo(db, settings, sysadmin=admin, uploads=False)
    synthetic_datasets(db, settings, sysadmin=admin, count=700)
    return Context(db=db, settings=settings, user=None, site_url="http://t"), admin


def _answer(ctx, params):
    out = actions.call(ctx, "package_search", dict(params))
    return out["count"], [p["name"] for p in out["results"]], out.get("search_facets")


@on_postgresql
def test_both_databases_find_and_rank_the_same_datasets_for_thai_queries(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    lite, admin = _catalogue(str(tmp_path / "a" / "k.db"), tmp_path / "a")
    pg, _ = _catalogue(cluster().new_database(), tmp_path / "b")
    for params in QUERIES:
        assert _answer(lite, params) == _answer(pg, params), params
    # The signed-in sysadmin sees private datasets too.
    for params in ({"q": "จังหวัด", "include_private": True}, {"q": "", "include_private": True, "rows": 30}):
        assert _answer(replace(lite, user=admin), params) == _answer(replace(pg, user=admin), params), params
    assert _answer(pg, {"q": "จังหวัด"})[0] > 500   # ranked tier by tier, without bm25


@on_postgresql
def test_an_unreachable_database_or_wrong_password_is_one_line_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = cluster().url
    port = free_port()
    for url in (f"postgresql://nobody@127.0.0.1:{port}/khlang", base + "/no_such_database",
                base.replace("postgresql://", "postgresql://intruder:wrong@") + "/postgres"):
        out = run_cli("migrate", env={"KHLANG_DB": url}, check=False)
        assert out.returncode == 2 and out.stderr.startswith("error: KHLANG_DB: cannot open the PostgreSQL catalogue")
        assert out.stderr.count("\n") == 1 and "wrong" not in out.stderr   # the password is never echoed
    assert list(tmp_path.iterdir()) == []


@on_postgresql
def test_a_postgresql_catalogue_migrated_by_a_newer_khlang_is_left_alone():
    url = cluster().new_database()
    db = catalog_db.connect(url)
    db.execute("INSERT INTO schema_migrations VALUES (9999, 'later')")
    with pytest.raises(catalog_db.SchemaTooNew):
        catalog_db.connect(url)
    out = run_cli("check", "--db", url, check=False)
    assert out.returncode == 2 and "newer than this Khlang knows" in out.stderr and out.stderr.count("\n") == 1


def test_a_url_with_no_database_is_refused_before_connecting():
    with pytest.raises(SettingError, match="names no database"):
        Settings(db_path="postgresql://khlang@db.example:5432/")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    first = LiveServer(tmp_path_factory.mktemp("node1"))
    second = LiveServer(tmp_path_factory.mktemp("node2"), join=first)
    yield first, second
    second.stop()
    first.stop()


def test_a_dataset_made_on_one_node_is_shown_and_found_on_the_other_at_once(nodes):
    one, two = nodes
    assert two.ckan().action.package_search(q="อ่างเก็บน้ำ")["count"] == 0   # the other node's cache is now warm
    one.admin().action.organization_create(name="rid")
    one.admin().action.package_create(name="reservoirs", title="ระดับน้ำในอ่างเก็บน้ำ", owner_org="rid")
    assert two.ckan().action.package_show(id="reservoirs")["title"] == "ระดับน้ำในอ่างเก็บน้ำ"
    found = two.ckan().action.package_search(q="อ่างเก็บน้ำ")
    assert found["count"] == 1 and found["results"][0]["name"] == "reservoirs"


def test_an_upload_on_one_node_is_loaded_and_queryable_on_the_other(nodes):
    one, two = nodes
    one.admin().action.organization_create(name="upl")
    one.admin().action.package_create(name="uploaded", owner_org="upl")
    res = requests.post(f"{one.url}/api/3/action/resource_create", headers={"Authorization": one.admin_token},
                        data={"package_id": "uploaded", "name": "rows", "format": "CSV"},
                        files={"upload": ("rows.csv", big_csv_bytes(40))}).json()["result"]
    one.wait_jobs()
    out = two.ckan().action.datastore_search(resource_id=res["id"], limit=2, sort="id")
    assert out["total"] == 40 and [r["province"] for r in out["records"]] == ["จังหวัดที่ 0", "จังหวัดที่ 1"]


def test_a_login_on_one_node_is_a_session_on_the_other(nodes):
    one, two = nodes
    one.user_with_token("somchai")
    browser = requests.Session()
    page = browser.get(f"{one.url}/user/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post(f"{one.url}/user/login", data={"login": "somchai", "password": "password-123",
                                                     "csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302
    assert browser.get(f"{two.url}/dashboard", allow_redirects=False).status_code == 200
    assert requests.get(f"{two.url}/dashboard", allow_redirects=False).status_code == 302   # no cookie, no session


def test_a_job_whose_node_died_is_failed_by_any_node_once_its_lease_runs_out(make_ctx, admin, db):
    from catalog import jobs
    from catalog.store import jobs as job_store

    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "org"})
    pkg = actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org",
                                               "resources": [{"name": "r", "url": "http://x/r.csv"}]})
    res_id = pkg["resources"][0]["id"]
    for jid in ("gone", "alive"):
        job_store.insert_load(db, jid, res_id, "2026-01-01T00:00:00", "0" * 64, None)
    # Two workers on another machine: one stopped renewing a minute ago, one renewed just now.
    job_store.claim(db, "jobs", "gone", "2026-01-01T00:00:01", "node-b:4242", jobs._lease_end(-60))
    job_store.claim(db, "jobs", "alive", "2026-01-01T00:00:01", "node-b:4243", jobs._lease_end())
    assert jobs.orphans(db) == ["gone"]
    jobs.fail_orphans(db)
    states = {r[0]: r[1] for r in db.execute("SELECT id, state FROM jobs")}
    assert states == {"gone": "error", "alive": "running"}


@on_postgresql
def test_a_node_claiming_a_job_skips_one_another_node_is_claiming_instead_of_waiting(make_ctx, admin, db, settings):
    from catalog import jobs
    from catalog.store import jobs as job_store

    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "org"})
    pkg = actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org",
                                               "resources": [{"name": "r", "url": "http://x/r.csv"}]})
    for jid, created in (("first", "2026-01-01T00:00:00"), ("second", "2026-01-01T00:00:01")):
        job_store.insert_load(db, jid, pkg["resources"][0]["id"], created, "0" * 64, None)
    db.commit()
    other = catalog_db.connect(settings.db_path, migrate=False)   # another node, in the middle of its claim
    other.execute("BEGIN")
    other.execute("SELECT id FROM jobs WHERE id = 'first' FOR UPDATE")
    got = []
    worker = threading.Thread(target=lambda: got.append(jobs.claim_oldest(db)), daemon=True)
    worker.start()
    worker.join(10)
    other.rollback()
    worker.join(10)
    assert [g["id"] for g in got] == ["second"]   # at once, without waiting for the other node's lock
    assert jobs.claim_oldest(db)["id"] == "first"
    assert jobs.claim_oldest(db) is None
    other.close()


@on_postgresql
def test_the_phrase_counts_kept_for_ranking_follow_every_index_write(make_ctx, admin, db):
    from catalog.store.textmatch import document_frequency

    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "ds-a", "title": "สถิติโรงเรียน", "owner_org": "org"})
    assert document_frequency(db, "search_trigram", "โรงเรียน", None) == 1
    actions.call(ctx, "package_create", {"name": "ds-b", "title": "โรงเรียนเอกชน", "owner_org": "org"})
    assert document_frequency(db, "search_trigram", "โรงเรียน", None) == 2
    actions.call(ctx, "package_patch", {"id": "ds-a", "title": "สถิติอื่น"})
    assert document_frequency(db, "search_trigram", "โรงเรียน", None) == 1


def test_in_lists_are_bound_as_one_array_each_unless_their_values_mix_types():
    from catalog.store.pg import _arrays

    sql = "SELECT i FROM t WHERE s <> 'IN (?)' AND i IN (?, ?,?) AND s = ? AND s NOT IN (?) AND i in (?)"
    assert _arrays(sql, [1, 2, 3, "a", "b", 7]) == (
        "SELECT i FROM t WHERE s <> 'IN (?)' AND i = ANY(?) AND s = ? AND s <> ALL(?) AND i = ANY(?)",
        [[1, 2, 3], "a", ["b"], [7]])
    assert _arrays("SELECT 1 WHERE i IN (?, ?)", [1, "2"]) == ("SELECT 1 WHERE i IN (?, ?)", [1, "2"])
    assert _arrays("SELECT 1 WHERE i IN (?, ?)", [None, None]) == ("SELECT 1 WHERE i IN (?, ?)", [None, None])
    assert _arrays("SELECT ? WHERE i IN (SELECT j FROM u WHERE k = ?)", [1, 2])[1] == [1, 2]


@on_postgresql
@pytest.mark.parametrize("n", [1, 3, 50, 51, 150])
def test_in_lists_of_every_length_select_the_same_rows_on_both_databases(tmp_path, n):
    chosen = list(range(0, 3 * n, 3))
    statements = [
        (f"SELECT i FROM t WHERE i IN ({', '.join('?' * n)}) AND s <> ? ORDER BY i", chosen + ["ชื่อ3"]),
        (f"SELECT i FROM t WHERE s NOT IN ({', '.join('?' * n)}) AND i < ? ORDER BY i", [f"ชื่อ{i}" for i in chosen] + [60]),
        ("SELECT i FROM t WHERE s <> 'IN (?)' AND i IN (?, ?) ORDER BY i", [1, "2"]),   # mixed: stays a list
        ("SELECT count(*) FROM t WHERE s IN (?, ?)", [None, "ชื่อ5"]),
    ]
    answers = []
    for database in (str(tmp_path / "catalogue.db"), cluster().new_database()):
        db = catalog_db.connect(database)
        db.execute("CREATE TABLE t (i INTEGER, s TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"ชื่อ{i}") for i in range(500)])
        db.commit()
        answers.append([[tuple(r) for r in db.execute(sql, params).fetchall()] for sql, params in statements])
        db.close()
    assert answers[0] == answers[1]
    assert answers[0][0] == [(i,) for i in chosen if i != 3] and answers[0][3] == [(1,)]


@on_postgresql
def test_a_sqlite_catalogue_copied_to_postgresql_answers_the_same(tmp_path):
    settings = Settings(db_path=str(tmp_path / "k.db"), storage_dir=str(tmp_path / "storage"))
    lite = catalog_db.connect(settings.db_path)
    row = create_user(lite, "root", email="root@example.go.th", password="password-123", sysadmin=True)
    admin = {"id": row["id"], "name": "root", "sysadmin": True}
    sqlite_ctx = Context(db=lite, settings=settings, user=admin, site_url="http://t")
    actions.call(sqlite_ctx, "organization_create", {"name": "moi", "title": "กระทรวงมหาดไทย"})
    for i, title in enumerate(["งบประมาณจังหวัดเชียงใหม่", "โรงเรียนในสังกัด", "งบประมาณโรงเรียน"]):
        actions.call(sqlite_ctx, "package_create", {"name": f"ds-{i}", "title": title, "owner_org": "moi",
                                                    "private": i == 1, "tags": [{"name": "งบประมาณ"}]})
    table = actions.call(sqlite_ctx, "datastore_create", {
        "resource": {"package_id": "ds-0", "name": "rows"}, "fields": [{"id": "amphoe", "type": "text"}],
        "records": [{"amphoe": "เมือง"}, {"amphoe": "สันทราย"}]})
    url = cluster().new_database()
    out = run_cli("copy-to", url, "--db", settings.db_path)
    assert "copied" in out.stdout and "password" not in out.stdout
    pg_ctx = replace(sqlite_ctx, db=catalog_db.connect(url))
    for name, params in (("package_search", {"q": "งบประมาณ", "include_private": True}),
                         ("package_show", {"id": "ds-1"}), ("organization_show", {"id": "moi"}),
                         ("package_activity_list", {"id": "ds-0"}),
                         ("datastore_search", {"resource_id": table["resource_id"]})):
        assert actions.call(pg_ctx, name, dict(params)) == actions.call(sqlite_ctx, name, dict(params)), name
    # The copy is a working catalogue: a new dataset's index entry gets an id after the copied ones.
    actions.call(pg_ctx, "package_create", {"name": "ds-new", "title": "งบประมาณใหม่", "owner_org": "moi"})
    found = actions.call(pg_ctx, "package_search", {"q": "งบประมาณ", "sort": "metadata_created desc"})
    assert [p["name"] for p in found["results"]] == ["ds-new", "ds-2", "ds-0"]
    out = run_cli("copy-to", url, "--db", settings.db_path, check=False)
    assert out.returncode == 2 and "new, empty database" in out.stderr


@on_postgresql
def test_kill_9_of_a_node_during_a_background_load_loses_nothing_and_the_other_node_retries_it(tmp_path):
    one = LiveServer(tmp_path / "one")
    two = LiveServer(tmp_path / "two", join=one)
    try:
        admin = one.admin()
        admin.action.organization_create(name="org")
        admin.action.package_create(name="big", owner_org="org")
        res = requests.post(f"{one.url}/api/3/action/resource_create", headers={"Authorization": one.admin_token},
                            data={"package_id": "big", "name": "rows", "format": "CSV"},
                            files={"upload": ("rows.csv", big_csv_bytes(1_500_000))}).json()["result"]

        def job():
            rows = query(one.db, "SELECT state, worker FROM jobs WHERE resource_id = ? ORDER BY created DESC",
                         (res["id"],))
            return rows[0] if rows else (None, None)

        assert wait_for(lambda: job()[0] == "running", timeout=60)
        if not job()[1].endswith(f":{one.proc.pid}"):   # node two's worker took it: kill that node instead
            one, two = two, one
        one.kill9()
        # The surviving node finds the dead worker's job and fails it; nothing of it became live.
        assert wait_for(lambda: job()[0] == "error", timeout=60)
        assert two.ckan().action.xloader_status(resource_id=res["id"])["status"] == "error"
        with pytest.raises(ckanapi.NotFound):   # no table of the half-done load was published
            two.ckan().action.datastore_search(resource_id=res["id"], limit=0)
        two.admin().action.xloader_submit(resource_id=res["id"])
        two.wait_jobs(timeout=240)
        assert two.ckan().action.datastore_search(resource_id=res["id"], limit=0)["total"] == 1_500_000
    finally:
        one.stop()
        two.stop()


@on_postgresql
def test_a_postgresql_backup_taken_while_serving_restores_into_a_new_node_whole(tmp_path):
    from tests.test_catalog_backup import EGP, MOF, backup_while_writing

    srv = LiveServer(tmp_path / "node")
    try:
        run_cli("ingest", EGP, "--org", "cgd", "--dataset", "egp", "--source", "egp-csv", env=srv.env)
        run_cli("ingest", MOF, "--org", "mof", "--dataset", "mof-totals", "--source", "mof-ministry", env=srv.env)
        out, written = backup_while_writing(srv, tmp_path / "snap")
        assert "backed up" in out.stdout and written and set(written) == {200}
        assert (tmp_path / "snap" / "catalogue.pgdump").is_file()
    finally:
        srv.stop()
    new = {"KHLANG_DB": cluster().new_database(empty=True), "KHLANG_STORAGE": str(tmp_path / "new-node" / "storage")}
    out = run_cli("restore", tmp_path / "snap", env=new)
    assert "checked it whole" in out.stdout
    live, back = _everything(srv.env), _everything(new)
    # The snapshot holds what existed before the backup and some of what was written during it, each dataset
    # exactly as it is on the live node; versions, files and users are the same rows.
    assert {"egp", "mof-totals"} <= set(back["datasets"]) and set(back["datasets"]) <= set(live["datasets"])
    assert all(back["datasets"][n] == live["datasets"][n] for n in back["datasets"])
    assert back["rows"] == live["rows"] and all(back["rows"].values())
    stored = sorted(p.relative_to(tmp_path / "node" / "storage") for p in (tmp_path / "node" / "storage" / "files")
                    .rglob("*") if p.is_file())
    assert stored and stored == sorted(p.relative_to(tmp_path / "new-node" / "storage") for p in
                                       (tmp_path / "new-node" / "storage" / "files").rglob("*") if p.is_file())
    out = run_cli("restore", tmp_path / "snap", env=new, check=False)
    assert out.returncode == 2 and "restore into a new node" in out.stderr


def _everything(env):
    settings = Settings(db_path=env["KHLANG_DB"], storage_dir=env["KHLANG_STORAGE"])
    db = catalog_db.connect(settings.db_path)
    ctx = Context(db=db, settings=settings, user={"id": None, "name": "cli", "sysadmin": True}, site_url="http://x")
    try:
        found = actions.call(ctx, "package_search", {"rows": 1000, "include_private": True})["results"]
        rows = {sql: sorted(tuple(r) for r in db.execute(sql)) for sql in (
            "SELECT id, resource_id, version, parquet_sha256, row_count FROM resource_versions",
            "SELECT resource_id, current_version_id FROM datastore_tables", "SELECT sha256, size FROM files",
            "SELECT id, name, password_hash FROM users")}
        return {"datasets": {p["name"]: p for p in found}, "rows": rows}
    finally:
        db.close()


@on_postgresql
def test_a_sqlite_backup_restores_into_an_empty_postgresql_database(tmp_path):
    from tests.test_catalog_backup import EGP

    lite = {"KHLANG_DB": str(tmp_path / "one" / "k.db"), "KHLANG_STORAGE": str(tmp_path / "one" / "storage")}
    run_cli("ingest", EGP, "--org", "cgd", "--dataset", "egp", "--source", "egp-csv", env=lite)
    run_cli("backup", tmp_path / "snap", env=lite)
    new = {"KHLANG_DB": cluster().new_database(empty=True), "KHLANG_STORAGE": str(tmp_path / "two" / "storage")}
    assert "checked it whole" in run_cli("restore", tmp_path / "snap", env=new).stdout
    assert _everything(new) == _everything(lite)
    dumped = {"KHLANG_DB": str(tmp_path / "three" / "k.db"), "KHLANG_STORAGE": str(tmp_path / "three" / "storage")}
    run_cli("backup", tmp_path / "snap-pg", env=new)
    out = run_cli("restore", tmp_path / "snap-pg", env=dumped, check=False)
    assert out.returncode == 2 and "restores into a PostgreSQL database" in out.stderr


@on_postgresql
def test_a_node_shares_a_bounded_pool_and_answers_again_once_postgresql_restarts_under_it(tmp_path):
    from khlang.localpg import Cluster

    own = Cluster()   # restarted mid-test: a server of its own, so no other test's connections drop
    try:
        url = own.new_database()
        srv = LiveServer(tmp_path, env={"KHLANG_DB": url, "KHLANG_STORAGE": str(tmp_path / "storage"),
                                        "KHLANG_DB_POOL": "3", "KHLANG_THREADS": "12"})
        try:
            srv.admin().action.organization_create(name="pool")
            srv.admin().action.package_create(name="reservoirs", title="ระดับน้ำในอ่างเก็บน้ำ", owner_org="pool")
            peak, answers = [0], []

            # One watching connection for the whole count: a watcher opened per count would see its own
            # predecessors, closed but not yet gone from pg_stat_activity.
            watcher = catalog_db.connect(url, migrate=False)

            def connections():
                return watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND application_name = 'khlang' AND pid <> pg_backend_pid()").fetchone()[0]

            # The pool's first connection and the background loader's own, which it opens one interval after the
            # server starts: counted once it is open, or it would be taken for a fourth of the pool's below.
            assert wait_for(lambda: connections() >= 2, timeout=30)
            idle = connections()

            def search():
                answers.append(requests.get(f"{srv.url}/api/3/action/package_search", params={"q": "อ่างเก็บน้ำ"},
                                            timeout=60).json()["result"]["count"])

            workers = [threading.Thread(target=search) for _ in range(36)]
            for t in workers:
                t.start()
            while any(t.is_alive() for t in workers):
                peak[0] = max(peak[0], connections())
            for t in workers:
                t.join()
            assert answers == [1] * 36
            watcher.close()
            assert peak[0] <= idle - 1 + 3   # twelve threads at work, never more than the pool's three
            assert peak[0] > idle            # ... and more than one of them: the watcher saw the pool grow
            metrics = requests.get(f"{srv.url}/metrics", timeout=10).text
            assert re.search(r'^khlang_db_pool\{state="open"\} [123]\.0$', metrics, re.M), metrics

            res = requests.post(f"{srv.url}/api/3/action/resource_create", headers={"Authorization": srv.admin_token},
                                data={"package_id": "reservoirs", "name": "rows", "format": "CSV"},
                                files={"upload": ("rows.csv", big_csv_bytes(40))}).json()["result"]
            srv.wait_jobs()
            for fmt in ("csv", "json", "xlsx") * 3:   # streamed bodies give their connections back once sent
                got = requests.get(f"{srv.url}/datastore/dump/{res['id']}", params={"format": fmt}, timeout=20)
                assert got.status_code == 200 and len(got.content) > 1000

            own.restart()
            assert srv.ckan().action.package_search(q="อ่างเก็บน้ำ")["count"] == 1   # no failed request
            assert requests.get(f"{srv.url}/healthz", timeout=10).status_code == 200
            srv.admin().action.package_patch(id="reservoirs", notes="หลังเริ่มใหม่")
            assert srv.ckan().action.package_show(id="reservoirs")["notes"] == "หลังเริ่มใหม่"
        finally:
            srv.stop()
    finally:
        own.stop()


@on_postgresql
def test_the_pool_hands_out_an_idle_connection_without_a_round_trip_and_replaces_one_the_server_closed():
    from catalog.store import pg

    url = cluster().new_database()
    pool = pg.Pool(url, 2)
    watcher = catalog_db.connect(url, migrate=False)
    try:
        conn = pool.take()
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("SELECT 'the last statement' AS marker")
        pool.give(conn)

        def last_statement(backend):
            return watcher.execute("SELECT query FROM pg_stat_activity WHERE pid = ?", (backend,)).fetchone()[0]

        again = pool.take()
        # Taking it sent nothing: the server's last statement on it is still the last request's own.
        assert last_statement(pid) == "SELECT 'the last statement' AS marker"
        assert again.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
        pool.give(again)

        watcher.execute("SELECT pg_terminate_backend(?)", (pid,))
        assert wait_for(lambda: watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ?",
                                                (pid,)).fetchone()[0] == 0, timeout=10)
        fresh = pool.take()   # the closed one is found by the check and replaced, not handed to a request
        assert fresh.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
        pool.give(fresh)
    finally:
        watcher.close()
        pool.close()
