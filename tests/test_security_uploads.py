"""Hostile uploads and request bodies against a real waitress server: oversized and malformed multipart,
form floods, zip and gzip bombs. Each gets a clear answer, the server keeps serving, nothing is stored."""
import gzip
import io
import socket
import zipfile

import pytest
import requests

from conftest import assert_ckan_error


@pytest.fixture(scope="module")
def upsrv(server_factory):
    srv = server_factory(KHLANG_MAX_UPLOAD_MB="1")
    ckan = srv.admin()
    ckan.action.organization_create(name="up-org")
    pkg = ckan.action.package_create(name="uploads", owner_org="up-org")
    return {"srv": srv, "pkg": pkg["id"], "auth": {"Authorization": srv.admin_token}}


def post(upsrv, **kw):
    return requests.post(f"{upsrv['srv'].url}/api/3/action/resource_create", headers={**upsrv["auth"],
                         **kw.pop("headers", {})}, timeout=60, **kw)


def stored_files(upsrv):
    return sorted(p.name for p in (upsrv["srv"].dir / "storage" / "files").rglob("*") if p.is_file())


def test_an_upload_over_the_limit_is_413_and_nothing_is_kept(upsrv):
    before = stored_files(upsrv)
    r = post(upsrv, data={"package_id": upsrv["pkg"], "name": "big"},
             files={"upload": ("big.csv", b"a,b\n" + b"1,2\n" * (700 << 10))})
    assert_ckan_error(r, 413, "Request Entity Too Large")
    assert stored_files(upsrv) == before


def test_a_body_claiming_to_be_huge_is_refused_before_it_is_read(upsrv):
    with socket.create_connection(("127.0.0.1", upsrv["srv"].port), timeout=10) as s:
        s.sendall(b"POST /api/3/action/resource_create HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                  b"boundary=XX\r\nContent-Length: 10737418240\r\n\r\n--XX\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("body,ctype", [
    (b"--XX\r\nContent-Disposition: form-data; name=\"package_id\"\r\n\r\nabc", "multipart/form-data; boundary=XX"),
    (b"no multipart at all \x00\xff", "multipart/form-data; boundary=XX"),
    (b"--XX\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.csv\"\r\n\r\na,b\r\n",
     "multipart/form-data"),
    (b"--XX\r\n" + b"X-Long: " + b"a" * 200_000 + b"\r\n\r\nx\r\n--XX--\r\n", "multipart/form-data; boundary=XX"),
    (b"{not json", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"[1, 2, 3]", "application/json"),
])
def test_malformed_bodies_get_a_client_error_not_a_crash(upsrv, body, ctype):
    r = post(upsrv, data=body, headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert requests.get(f"{upsrv['srv'].url}/api/3/action/status_show", timeout=10).status_code == 200


def test_a_flood_of_form_fields_is_refused(upsrv):
    parts = b"".join(b"--XX\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nx\r\n" % i for i in range(5000))
    r = post(upsrv, data=parts + b"--XX--\r\n", headers={"Content-Type": "multipart/form-data; boundary=XX"})
    assert r.status_code == 413
    fields = "&".join(f"f{i}=x" for i in range(20_000))
    r = post(upsrv, data=fields, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 409 and "package_id" in r.json()["error"]


def _job_error(upsrv, res_id):
    upsrv["srv"].wait_jobs(timeout=120)
    return upsrv["srv"].ckan().action.xloader_status(resource_id=res_id)


def test_an_xlsx_zip_bomb_upload_fails_its_load_with_a_clear_reason(upsrv):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (400 << 20))
    assert len(buf.getvalue()) < 1 << 20
    r = post(upsrv, data={"package_id": upsrv["pkg"], "name": "bomb", "format": "XLSX"},
             files={"upload": ("bomb.xlsx", buf.getvalue())})
    assert r.status_code == 200
    status = _job_error(upsrv, r.json()["result"]["id"])
    assert status["status"] == "error" and "zip bomb" in status["error"]["message"]


def test_a_gzip_bomb_upload_fails_its_load_with_a_clear_reason(upsrv):
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
        gz.write(b"a,b\n")
        zeros = b"0" * (1 << 20)
        for _ in range(900):          # 900 MB of text in about 1 MB
            gz.write(zeros)
    assert len(raw.getvalue()) < 1 << 20
    r = post(upsrv, data={"package_id": upsrv["pkg"], "name": "gzbomb", "format": "CSV"},
             files={"upload": ("bomb.csv.gz", raw.getvalue())})
    assert r.status_code == 200
    status = _job_error(upsrv, r.json()["result"]["id"])
    assert status["status"] == "error" and "gzip bomb" in status["error"]["message"]
    tmp = upsrv["srv"].dir / "storage" / "tmp"
    assert sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file()) < 100 << 20   # nothing big left behind


def test_the_server_still_serves_after_every_hostile_upload(upsrv):
    assert upsrv["srv"].proc.poll() is None
    assert upsrv["srv"].ckan().action.package_show(id="uploads")["name"] == "uploads"
