"""Faults injected into real processes: kill -9 during an ingest, an upsert, an update and a background load;
a full disk during a load; a corrupted file on disk. After each: the store opens, nothing is half-made,
the previous data is exactly as it was, and what failed can be retried."""
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import LiveServer, assert_ckan_error, catalogue_env, khlang_cli, query, wait_for

ROWS_BIG = 600_000


def big_csv(path, rows=ROWS_BIG, start=0):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,province,amount,note\n")
        for i in range(start, start + rows):
            f.write(f"{i},จังหวัดที่ {i % 77},{i * 3}.50,แถวที่ {i}\n")
    return path


def store_problems(env):
    """`khlang check` on the folder: (exit code, output)."""
    out = khlang_cli("check", env=env, check=False)
    return out.returncode, out.stdout + out.stderr


def live(db_path, dataset):
    """(version, row count) of the live DataStore version of a dataset's first table."""
    rows = query(db_path, "SELECT v.version, v.row_count FROM datastore_tables t JOIN resource_versions v "
                 "ON v.id = t.current_version_id JOIN resources r ON r.id = t.resource_id "
                 "JOIN packages p ON p.id = r.package_id WHERE p.name = ? ORDER BY r.position LIMIT 1", (dataset,))
    return rows[0] if rows else None


def writing(storage):
    """True once a load is writing its new version file or its validation workspace."""
    parquet = Path(storage) / "parquet"
    tmp = Path(storage) / "tmp"
    return any(parquet.glob(".load-*")) or (tmp.is_dir() and any(tmp.glob("khlang-ingest-*/work.duckdb")))


def test_kill_9_during_an_ingest_leaves_the_old_version_live_and_a_retry_loads(tmp_path):
    env = catalogue_env(tmp_path)
    khlang_cli("user", "add", "admin", "--sysadmin", "--email", "a@example.go.th", "--password", "password-123", env=env)
    small = big_csv(tmp_path / "small.csv", rows=5)
    khlang_cli("ingest", str(small), "--org", "moi", "--dataset", "budget", "--resource", "rows", env=env)
    assert live(env["KHLANG_DB"], "budget") == (1, 5)
    big = big_csv(tmp_path / "big.csv")
    exe = Path(sys.executable).with_name("khlang")
    proc = subprocess.Popen([str(exe), "ingest", str(big), "--org", "moi", "--dataset", "budget", "--resource", "rows"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_for(lambda: writing(tmp_path / "storage")), "the ingest never started writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert live(env["KHLANG_DB"], "budget") == (1, 5)
    code, report = store_problems(env)
    assert code == 0 and "store is whole" in report, report
    assert "removed leftover" in report     # the killed run's temporary files are cleaned up
    khlang_cli("ingest", str(big), "--org", "moi", "--dataset", "budget", "--resource", "rows", env=env)
    assert live(env["KHLANG_DB"], "budget") == (2, ROWS_BIG)


@pytest.fixture
def srv(tmp_path):
    s = LiveServer(tmp_path)
    yield s
    if s.proc.poll() is None:
        s.stop()
    else:
        s.log.close()


def test_kill_9_during_a_datastore_upsert_keeps_the_table_as_it_was(srv):
    ckan = srv.admin()
    ckan.action.organization_create(name="org")
    pkg = ckan.action.package_create(name="table", owner_org="org")
    table = ckan.action.datastore_create(resource={"package_id": pkg["id"]}, primary_key=["id"],
                                         fields=[{"id": "id", "type": "int"}, {"id": "v", "type": "text"}],
                                         records=[{"id": i, "v": "เดิม"} for i in range(100)])
    rid = table["resource_id"]
    records = [{"id": i, "v": "ใหม่" * 5} for i in range(400_000)]

    def upsert():
        try:
            srv.admin().action.datastore_upsert(resource_id=rid, records=records, method="upsert", force=True)
        except Exception:  # noqa: BLE001 - the connection dies with the server
            pass

    t = threading.Thread(target=upsert)
    t.start()
    assert wait_for(lambda: writing(srv.dir / "storage"), timeout=120), "the upsert never started writing"
    srv.kill9()
    t.join(30)
    srv.restart()
    got = srv.ckan().action.datastore_search(resource_id=rid, limit=1000)
    assert got["total"] == 100 and {r["v"] for r in got["records"]} == {"เดิม"}
    assert len(srv.ckan().action.datastore_version_list(id=rid)) == 1
    code, report = store_problems(srv.env)
    assert code == 0, report
    srv.admin().action.datastore_upsert(resource_id=rid, records=records[:1000], method="upsert", force=True)
    assert srv.ckan().action.datastore_search(resource_id=rid, filters={"id": 5})["records"][0]["v"] == "ใหม่" * 5


def test_kill_9_during_package_updates_leaves_one_whole_update(srv):
    ckan = srv.admin()
    ckan.action.organization_create(name="org")
    ckan.action.package_create(name="ds", owner_org="org", title="v0", notes="v0",
                               extras=[{"key": "round", "value": "v0"}], tags=[{"name": "v0"}])
    done = []
    stop = threading.Event()

    def hammer():
        api = srv.admin()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                api.action.package_update(id="ds", name="ds", owner_org="org", title=f"v{i}", notes=f"v{i}",
                                          extras=[{"key": "round", "value": f"v{i}"}], tags=[{"name": f"v{i}"}])
                done.append(i)
            except Exception:  # noqa: BLE001 - the server is killed mid-request
                return

    # One writer, so "acknowledged" has an order: the last acknowledged update, or the one in flight, must be there.
    t = threading.Thread(target=hammer)
    t.start()
    assert wait_for(lambda: len(done) >= 20, timeout=60)
    srv.kill9()
    stop.set()
    t.join(30)
    srv.restart()
    pkg = srv.ckan().action.package_show(id="ds")
    version = pkg["title"]
    assert pkg["notes"] == version and pkg["extras"] == [{"key": "round", "value": version}]
    assert [t["name"] for t in pkg["tags"]] == [version]
    assert int(version[1:]) in (max(done), max(done) + 1)   # acknowledged means kept
    found = srv.ckan().action.package_search(q=f"title:{version}")["results"]
    assert [p["name"] for p in found] == ["ds"]   # the search index agrees with the record
    assert store_problems(srv.env)[0] == 0


def test_kill_9_during_a_background_load_marks_the_job_failed_and_a_retry_completes(srv, tmp_path):
    ckan = srv.admin()
    ckan.action.organization_create(name="org")
    pkg = ckan.action.package_create(name="upload", owner_org="org")
    path = big_csv(tmp_path / "big.csv")
    with open(path, "rb") as f:
        res = ckan.action.resource_create(package_id=pkg["id"], name="big", format="CSV", upload=f)

    def state():
        rows = query(srv.db, "SELECT state FROM jobs WHERE resource_id = ? ORDER BY created DESC", (res["id"],))
        return rows[0][0] if rows else None

    assert wait_for(lambda: state() == "running" and writing(srv.dir / "storage"), timeout=60)
    srv.kill9()
    assert state() == "running"       # the dead process could not say so itself
    srv.restart()
    assert wait_for(lambda: state() == "error", timeout=30)
    status = srv.ckan().action.xloader_status(resource_id=res["id"])
    assert status["status"] == "error" and "retry" in status["error"]["message"]
    srv.admin().action.xloader_submit(resource_id=res["id"])
    srv.wait_jobs(timeout=180)
    assert srv.ckan().action.xloader_status(resource_id=res["id"])["status"] == "complete"
    assert srv.ckan().action.datastore_search(resource_id=res["id"], limit=0)["total"] == ROWS_BIG
    assert store_problems(srv.env)[0] == 0


def test_a_corrupted_upload_is_detected_by_its_sha256(srv, tmp_path):
    ckan = srv.admin()
    ckan.action.organization_create(name="org")
    pkg = ckan.action.package_create(name="upload", owner_org="org")
    path = big_csv(tmp_path / "small.csv", rows=50)
    with open(path, "rb") as f:
        res = ckan.action.resource_create(package_id=pkg["id"], name="small", format="CSV", upload=f)
    srv.wait_jobs()
    assert store_problems(srv.env)[0] == 0
    sha = query(srv.db, "SELECT sha256 FROM resources WHERE id = ?", (res["id"],))[0][0]
    stored = srv.dir / "storage" / "files" / sha[:2] / sha
    data = bytearray(stored.read_bytes())
    data[30] ^= 0x01          # one flipped bit, as a failing disk would
    stored.write_bytes(bytes(data))
    code, report = store_problems(srv.env)
    assert code == 1 and f"upload {sha}: does not match its sha256" in report
    srv.admin().action.xloader_submit(resource_id=res["id"])
    srv.wait_jobs()
    status = srv.ckan().action.xloader_status(resource_id=res["id"])
    assert status["status"] == "error" and "sha256" in status["error"]["message"]
    assert srv.ckan().action.datastore_search(resource_id=res["id"])["total"] == 50   # the good version stays live


def _small_disk(tmp_path, mb=24):
    """A small tmpfs when this machine lets us mount one, else None."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs", str(mnt)], capture_output=True)
    return mnt if ok.returncode == 0 else None


def _unmount(path):
    if subprocess.run(["umount", str(path)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _limit_file_size(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_during_a_load_is_a_clean_error_and_loses_nothing(tmp_path):
    disk = _small_disk(tmp_path)
    home = disk or tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = catalogue_env(home)
    try:
        khlang_cli("user", "add", "admin", "--sysadmin", "--email", "a@example.go.th", "--password", "password-1",
                   env=env)
        small = big_csv(tmp_path / "small.csv", rows=20)
        khlang_cli("ingest", str(small), "--org", "moi", "--dataset", "budget", "--resource", "rows", env=env)
        big = big_csv(tmp_path / "big.csv", rows=1_500_000)
        exe = Path(sys.executable).with_name("khlang")
        # Without a tmpfs, a file-size limit makes the same write fail the same way (EFBIG instead of ENOSPC).
        out = subprocess.run([str(exe), "ingest", str(big), "--org", "moi", "--dataset", "budget", "--resource", "rows"],
                             env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
                             preexec_fn=None if disk else _limit_file_size(8 << 20))
        assert out.returncode == 2, out.stdout + out.stderr
        assert "Traceback" not in out.stderr and "nothing was loaded" in out.stderr, out.stderr
        assert live(env["KHLANG_DB"], "budget") == (1, 20)
        # Neither the new version file nor the copy of the source made beside it is left behind.
        storage = Path(env["KHLANG_STORAGE"])
        assert not list(storage.glob("files/.upload-*")) and not list(storage.glob("parquet/.load-*"))
        code, report = store_problems(env)
        assert code == 0, report
        khlang_cli("ingest", str(big_csv(tmp_path / "next.csv", rows=30)), "--org", "moi", "--dataset", "budget",
                   "--resource", "rows", env=env)
        assert live(env["KHLANG_DB"], "budget") == (2, 30)
    finally:
        if disk:
            _unmount(disk)


def test_a_full_disk_under_the_server_answers_507_and_loses_nothing(tmp_path):
    import uuid

    disk = _small_disk(tmp_path, mb=8)
    if disk is None:
        # A file-size limit cannot stand in here: waitress spools request bodies to files and would fail first.
        pytest.skip("mounting a tmpfs is not allowed on this machine")
    srv = LiveServer(disk)
    try:
        ckan = srv.admin()
        ckan.action.organization_create(name="org")
        pkg = ckan.action.package_create(name="table", owner_org="org")
        rid = ckan.action.datastore_create(resource={"package_id": pkg["id"]}, primary_key=["id"],
                                           fields=[{"id": "id", "type": "int"}, {"id": "v", "type": "text"}],
                                           records=[{"id": i, "v": "เดิม"} for i in range(100)])["resource_id"]
        records = [{"id": i, "v": uuid.uuid4().hex + uuid.uuid4().hex} for i in range(300_000)]   # ~10 MB packed
        r = requests.post(f"{srv.url}/api/3/action/datastore_upsert", json={
            "resource_id": rid, "records": records, "method": "upsert", "force": True},
            headers={"Authorization": srv.admin_token}, timeout=300)
        assert_ckan_error(r, 507, "Insufficient Storage")
        big = os.urandom(9 << 20)   # more than the whole disk
        r = requests.post(f"{srv.url}/api/3/action/resource_create", data={"package_id": pkg["id"], "name": "f"},
                          files={"upload": ("big.csv", big)}, headers={"Authorization": srv.admin_token}, timeout=120)
        assert r.status_code == 507, r.text[:300]
        got = srv.ckan().action.datastore_search(resource_id=rid, limit=1000)
        assert got["total"] == 100 and {x["v"] for x in got["records"]} == {"เดิม"}
        assert len(srv.ckan().action.package_show(id="table")["resources"]) == 1
        assert store_problems(srv.env)[0] == 0
        srv.admin().action.datastore_upsert(resource_id=rid, records=[{"id": 1, "v": "ใหม่"}], method="upsert",
                                            force=True)   # the room the failed writes took was given back
        assert srv.ckan().action.datastore_search(resource_id=rid, filters={"id": 1})["records"][0]["v"] == "ใหม่"
        assert srv.proc.poll() is None
    finally:
        srv.stop()
        _unmount(disk)


def test_a_load_whose_version_file_cannot_be_written_leaves_no_copy_of_its_source(tmp_path):
    env = catalogue_env(tmp_path)
    small = big_csv(tmp_path / "small.csv", rows=20)
    khlang_cli("ingest", str(small), "--org", "moi", "--dataset", "budget", "--resource", "rows", env=env)
    storage = Path(env["KHLANG_STORAGE"])
    before = sorted(p.name for p in storage.glob("files/*/*"))
    # The version files' folder is taken by a file: the new version cannot be written, while the source's copy
    # (into files/) can.
    parquet = storage / "parquet"
    parquet.rename(storage / "parquet.kept")
    parquet.write_text("not a folder")
    out = khlang_cli("ingest", str(big_csv(tmp_path / "next.csv", rows=30)), "--org", "moi", "--dataset", "budget",
                     "--resource", "rows", env=env, check=False)
    assert out.returncode != 0
    assert not list(storage.glob("files/.upload-*")) and sorted(p.name for p in storage.glob("files/*/*")) == before
    parquet.unlink()
    (storage / "parquet.kept").rename(parquet)
    assert live(env["KHLANG_DB"], "budget") == (1, 20)
