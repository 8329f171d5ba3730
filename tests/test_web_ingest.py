"""Uploads load in the background (xloader-style) and `khlang ingest --remote` publishes into another Khlang."""
import io
import json
import time
from pathlib import Path

import ckanapi
import pytest

from tests.conftest import khlang_cli

CORPUS = Path(__file__).parent / "corpus"
REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def wait_for_job(ckan, rid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status = ckan.action.xloader_status(resource_id=rid)
        except ckanapi.NotFound:
            status = None
        if status and status["status"] not in ("pending", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError("the background load did not finish")


def upload(name, text):
    f = io.BytesIO(text.encode("utf-8"))
    f.name = name
    return f


@pytest.fixture(scope="module")
def org(server):
    server.admin().action.organization_create(name="upload-org", title="หน่วยงานอัปโหลด")
    server.admin().action.package_create(name="upload-ds", owner_org="upload-org")
    return "upload-org"


def test_uploaded_csv_loads_in_the_background_with_its_report(server, org):
    admin = server.admin()
    res = admin.action.resource_create(package_id="upload-ds", name="งบ", format="CSV",
                                       upload=upload("budget.csv", "จังหวัด,งบประมาณ\nตาก,1500\nน่าน,2500.5\n"))
    status = wait_for_job(admin, res["id"])
    assert status["status"] == "complete", status
    assert status["task_info"]["validation_report"]["valid"] is True
    found = server.ckan().action.datastore_search(resource_id=res["id"], q="น่าน")
    assert [r["งบประมาณ"] for r in found["records"]] == [2500.5]
    info = server.ckan().action.datastore_info(id=res["id"])
    assert info["meta"]["count"] == 2 and info["meta"]["source_sha256"] == status["task_info"]["source_sha256"]


def test_an_upload_that_fails_its_schema_keeps_the_old_table_and_reports_why(server, org):
    admin = server.admin()
    schema = json.loads((CORPUS / "type-errors.schema.json").read_text())
    res = admin.action.resource_create(package_id="upload-ds", name="checked", format="CSV", schema=json.dumps(schema),
                                       upload=upload("good.csv", "id,name,amount\n1,a,10\n"))
    assert wait_for_job(admin, res["id"])["status"] == "complete"
    admin.action.resource_patch(id=res["id"], upload=upload("bad.csv", (CORPUS / "type-errors.csv").read_text()))
    status = wait_for_job(admin, res["id"])
    assert status["status"] == "error" and "validation" in status["error"]["message"]
    errors = status["task_info"]["validation_report"]["tasks"][0]["errors"]
    assert {(e["rowNumber"], e["type"]) for e in errors} >= {(3, "type-error"), (4, "type-error")}
    assert server.ckan().action.datastore_search(resource_id=res["id"])["records"][0]["amount"] == 10
    assert server.ckan().action.datastore_version_list(id=res["id"])[0]["version"] == 1


def test_status_of_a_private_upload_is_not_shown_to_anonymous_users(server, org):
    admin = server.admin()
    admin.action.package_create(name="upload-private", owner_org="upload-org", private=True)
    res = admin.action.resource_create(package_id="upload-private", name="p", format="CSV",
                                       upload=upload("p.csv", "a\n1\n"))
    wait_for_job(admin, res["id"])
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan().action.xloader_status(resource_id=res["id"])


def test_ingest_remote_publishes_into_another_khlang(server, org, tmp_path):
    egp = REAL / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv"
    out = khlang_cli("ingest", str(egp), "--org", "upload-org", "--dataset", "egp-remote", "--source", "egp-csv",
                     "--remote", server.url, "--token", server.admin_token, env={"KHLANG_DB": str(tmp_path / "x.db")})
    assert "loaded 250 rows" in out.stdout and server.url in out.stdout
    anon = server.ckan()
    pkg = anon.action.package_show(id="egp-remote")
    rid = pkg["resources"][0]["id"]
    hits = anon.action.datastore_search(resource_id=rid, filters={"province": "เชียงใหม่"}, limit=1000)
    assert hits["total"] == sum(1 for line in egp.read_text(encoding="utf-8").splitlines() if line.endswith(",เชียงใหม่"))
    assert hits["records"][0]["method"] == "เฉพาะเจาะจง"
    # The remote upload did not start a second (raw) load that would replace the normalised table.
    time.sleep(1.5)
    assert "method" in [f["id"] for f in anon.action.datastore_info(id=rid)["fields"]]
    again = khlang_cli("ingest", str(egp), "--org", "upload-org", "--dataset", "egp-remote", "--source", "egp-csv",
                       "--remote", server.url, "--token", server.admin_token, env={"KHLANG_DB": str(tmp_path / "x.db")})
    assert "loaded 250 rows" in again.stdout
    assert anon.action.datastore_search(resource_id=rid, limit=0)["total"] == 250
