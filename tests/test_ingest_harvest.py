"""Harvesting: a second real `khlang serve` holding the data.go.th mirror demo is the agency catalogue; its
records arrive with their organizations, a change and a deletion arrive on the next run and nothing else is
rewritten; DCAT with Thai text round-trips; bad sources fail clearly and bad records are skipped."""
import json
import sqlite3
import threading
import time

import ckanapi
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from conftest import LiveServer, free_port, khlang_cli


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("remote"))
    khlang_cli("seed-demo", "--force", env=srv.env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("national"))
    yield srv
    srv.stop()


def _run(env, *args, check=True):
    return khlang_cli("harvest", *args, env=env, check=check)


def test_a_ckan_portal_is_harvested_whole_then_incrementally(remote, local):
    _run(local.env, "add", "agency", remote.url, "--type", "ckan")
    started = time.perf_counter()
    out = _run(local.env, "run", "agency").stdout
    seconds = time.perf_counter() - started
    stats = json.loads(out.split("complete ", 1)[1].splitlines()[0])
    remote_ck, local_ck = remote.ckan(), local.ckan()
    expected = remote_ck.action.package_search(rows=0)["count"]
    assert stats["created"] == expected == local_ck.action.package_search(rows=0)["count"] and expected >= 1236
    print(f"\nharvested {expected:,} records in {seconds:.1f} s (goal < 30 s)")
    assert set(remote_ck.action.organization_list()) <= set(local_ck.action.organization_list())
    pkg = local_ck.action.package_show(id="bec_school")
    assert pkg["organization"]["title"] == "กรุงเทพมหานคร" and pkg["harvest_source"] == "agency"
    assert pkg["harvest_url"] == f"{remote.url}/dataset/bec_school"
    page = requests.get(f"{local.url}/dataset/bec_school", timeout=30).text
    assert "เก็บเกี่ยวมาจาก" in page and f'href="{remote.url}/dataset/bec_school"' in page
    assert local_ck.action.package_show(id="budget-bill-fy2565")["metadata_quality"]["score"] >= 80   # GDC kept
    untouched = local_ck.action.package_show(id="td131435591")["metadata_modified"]

    admin = remote.admin()
    admin.action.package_patch(id="bec_school", title="ที่ตั้งโรงเรียน (แก้ไข)")
    admin.action.package_delete(id="budget-act-totals")
    again = json.loads(_run(local.env, "run", "agency").stdout.split("complete ", 1)[1].splitlines()[0])
    assert again["created"] == 0 and again["updated"] == 1 and again["withdrawn"] == 1
    assert local_ck.action.package_show(id="bec_school")["title"] == "ที่ตั้งโรงเรียน (แก้ไข)"
    with pytest.raises(ckanapi.NotFound):
        local_ck.action.package_show(id="budget-act-totals")
    assert local_ck.action.package_show(id="td131435591")["metadata_modified"] == untouched   # nothing else rewritten


def test_a_harvested_dataset_is_read_only_until_its_source_is_detached(remote, local):
    admin = local.admin()
    if not admin.action.harvest_source_list():
        pytest.skip("runs after the harvest test")
    with pytest.raises(ckanapi.NotAuthorized, match="harvested from"):
        admin.action.package_patch(id="bec_school", title="แก้ในเครื่อง")
    admin.action.harvest_source_update(id="agency", detached=True)
    assert admin.action.package_patch(id="bec_school", title="แก้ในเครื่อง")["title"] == "แก้ในเครื่อง"
    assert "detached" in _run(local.env, "run", "agency", check=False).stdout


@pytest.mark.parametrize("fmt,as_file", [("ttl", True), ("jsonld", False), ("rdf", False)])
def test_dcat_with_thai_text_round_trips(remote, tmp_path, fmt, as_file):
    url = f"{remote.url}/dataset/egp-contracts-fy2568-sample.{fmt}"
    if as_file:
        path = tmp_path / f"agency.{fmt}"
        path.write_bytes(requests.get(url, timeout=30).content)
        url = str(path)
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    _run(env, "add", "dcat-file", url, "--type", "dcat")
    out = _run(env, "run", "dcat-file").stdout
    assert '"created": 1' in out
    db = sqlite3.connect(env["KHLANG_DB"])
    title, notes = db.execute("SELECT title, notes FROM packages WHERE name = 'egp-contracts-fy2568-sample'").fetchone()
    original = remote.ckan().action.package_show(id="egp-contracts-fy2568-sample")
    assert title == original["title"] and notes == original["notes"]
    tags = {r[0] for r in db.execute("SELECT name FROM package_tags")}
    assert {t["name"] for t in original["tags"]} <= tags
    org = db.execute("SELECT title FROM groups WHERE is_organization = 1").fetchone()[0]
    assert org == original["organization"]["title"] == "กรมบัญชีกลาง"


class FakePortal:
    """A misbehaving 'CKAN portal' on loopback: pages that repeat, huge and malformed records, HTML."""

    def __init__(self):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    @Request.application
    def app(self, request):
        kind, _, rest = request.path.strip("/").partition("/")
        if kind == "html":
            return Response("<html><body>not an API</body></html>", content_type="text/html")
        if rest.endswith("package_list"):
            return _json(["good", "huge", "Bad Name!!"])
        if kind == "loop":
            return _json({"count": 1000, "results": [_record("good", "1")]})
        start = int(request.args.get("start", 0))
        records = [_record("good", "1"), {**_record("huge", "2"), "notes": "ก" * 600_000},
                   _record("Bad Name!!", "3")] if start == 0 else []
        return _json({"count": 3, "results": records})

    def stop(self):
        self.server.shutdown()


def _record(name, rid):
    return {"id": rid, "name": name, "title": f"ชุดข้อมูล {name}", "notes": "", "metadata_modified":
            "2025-01-01T00:00:00.000000", "organization": {"name": "fake-org", "title": "หน่วยงานปลอม"},
            "tags": [{"name": "ทดสอบ"}], "resources": [{"name": "ไฟล์", "url": "http://x.example/a.csv",
                                                       "format": "CSV"}], "extras": []}


def _json(result):
    return Response(json.dumps({"success": True, "result": result}), content_type="application/json")


@pytest.fixture
def fake():
    portal = FakePortal()
    yield portal
    portal.stop()


def test_bad_records_are_logged_with_their_reason_and_skipped(fake, tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    _run(env, "add", "fake", f"{fake.url}/ok")
    out = _run(env, "run", "fake", check=False).stdout
    assert '"created": 1' in out and '"skipped": 2' in out
    log = _run(env, "log", "fake").stdout
    assert "huge: the record is larger than 1,000,000 bytes" in log
    assert "Bad Name!!: name:" in log


@pytest.mark.parametrize("path,needle", [("loop", "same page again"), ("html", "is not a CKAN portal")])
def test_a_source_that_loops_or_is_not_ckan_stops_with_a_clear_error(fake, tmp_path, path, needle):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    _run(env, "add", "bad", f"{fake.url}/{path}")
    out = _run(env, "run", "bad", check=False)
    assert out.returncode == 1 and "error" in out.stdout and needle in out.stdout


def test_an_unreachable_source_fails_the_run_and_says_so(tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    _run(env, "add", "down", f"http://127.0.0.1:{free_port()}")
    out = _run(env, "run", "down", check=False)
    assert out.returncode == 1 and "cannot reach" in out.stdout


def test_the_api_queues_runs_that_the_server_runs_in_the_background_never_two_at_once(remote, tmp_path):
    srv = LiveServer(tmp_path / "bg")
    try:
        admin = srv.admin()
        admin.action.harvest_source_create(name="bg", url=remote.url, source_type="ckan",
                                           fq="organization:cgd")
        first = admin.action.harvest_run(id="bg")
        assert admin.action.harvest_run(id="bg")["id"] == first["id"] or \
            admin.action.harvest_job_list(id="bg")[0]["state"] != "pending"
        deadline = time.time() + 60
        while time.time() < deadline and admin.action.harvest_job_list(id="bg")[0]["state"] in ("pending", "running"):
            time.sleep(0.2)
        job = admin.action.harvest_job_list(id="bg")[0]
        assert job["state"] == "complete" and job["stats"]["created"] >= 90
        page = requests.get(f"{srv.url}/harvest/bg", timeout=30)
        assert page.status_code == 200 and "login" in page.url   # sysadmins only: the visitor is sent to log in
        with pytest.raises(ckanapi.NotAuthorized):
            srv.ckan().action.harvest_source_list()
    finally:
        srv.stop()


def test_one_source_never_has_two_runs_and_a_run_whose_worker_died_ends_as_an_error(tmp_path):
    import socket

    from catalog import actions, harvestsources
    from conftest import sysadmin_site

    _, db, ctx = sysadmin_site(tmp_path)
    src = actions.call(ctx, "harvest_source_create", {"name": "src", "url": "http://127.0.0.1:9/"})
    first = harvestsources.queue(db, src["id"])
    assert harvestsources.queue(db, src["id"])["id"] == first["id"]
    claimed = harvestsources.claim_next(db)
    assert claimed["id"] == first["id"] and harvestsources.claim_next(db) is None
    assert harvestsources.queue(db, src["id"])["id"] == first["id"]          # running: still not a second run
    db.execute("UPDATE harvest_jobs SET worker = ? WHERE id = ?", (f"{socket.gethostname()}:999999999", first["id"]))
    db.commit()
    harvestsources.fail_orphans(db)                                           # the worker was killed (-9)
    job = actions.call(ctx, "harvest_job_list", {"id": "src"})[0]
    assert job["state"] == "error" and "run again" in job["error"]
    assert harvestsources.queue(db, src["id"])["id"] != first["id"]          # so the next run can start


def test_records_failing_the_gdc_rules_of_a_strict_catalogue_are_skipped_with_the_reason(fake, tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db"), "KHLANG_GDC_STRICT": "1"}
    _run(env, "add", "fake", f"{fake.url}/ok")
    out = _run(env, "run", "fake", check=False).stdout
    assert '"created": 0' in out and '"skipped": 3' in out
    log = _run(env, "log", "fake").stdout
    assert "good: " in log and "Missing value" in log       # the GDC fields the record lacks, named


def test_a_scheduled_source_is_due_when_its_interval_has_passed_since_its_last_run(tmp_path):
    from catalog import actions, harvestsources
    from conftest import sysadmin_site

    _, db, ctx = sysadmin_site(tmp_path)
    actions.call(ctx, "harvest_source_create", {"name": "daily", "url": "http://127.0.0.1:9/", "every": "1d"})
    actions.call(ctx, "harvest_source_create", {"name": "manual", "url": "http://127.0.0.1:9/"})
    assert [s["name"] for s in harvestsources.due_sources(db, "2026-12-02T00:00:00")] == ["daily"]
    job = harvestsources.queue(db, harvestsources.get_source(db, "daily")["id"])
    assert harvestsources.due_sources(db, job["created"]) == []
    next_day = f"{int(job['created'][:4]) + 1}{job['created'][4:]}"
    assert [s["name"] for s in harvestsources.due_sources(db, next_day)] == ["daily"]
    with pytest.raises(Exception, match="at most once a minute"):
        actions.call(ctx, "harvest_source_update", {"id": "manual", "every": "10s"})
