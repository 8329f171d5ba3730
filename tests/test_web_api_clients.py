"""Unchanged third-party clients against real servers: the ckanapi CLI and frictionless' CKAN portal."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import ckanapi
import pytest


def ckanapi_cli(*args, cwd=None):
    exe = Path(sys.executable).with_name("ckanapi")
    # ckanapi's worker pool re-launches `ckanapi` from PATH.
    env = {**os.environ, "PATH": f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _comparable(pkg, site_url):
    """A package dict without what a second site must legitimately change (timestamps, its own URL)."""
    pkg = json.loads(json.dumps(pkg).replace(site_url, "SITE"))
    for key in ("metadata_created", "metadata_modified", "creator_user_id"):
        pkg.pop(key, None)
    pkg["organization"].pop("created", None)
    for r in pkg["resources"]:
        # DataStore tables are data, not metadata: a ckanapi dump/load moves neither (as between CKAN sites).
        for key in ("metadata_modified", "created", "last_modified", "datastore_active"):
            r.pop(key, None)
    return pkg


def test_ckanapi_dump_from_one_khlang_loads_identically_into_another(server_factory, tmp_path):
    src, dst = server_factory(), server_factory()
    admin = src.admin()
    admin.action.organization_create(name="nso", title="สำนักงานสถิติแห่งชาติ")
    admin.action.group_create(name="category05", title="ด้านสังคมและความมั่นคง")
    for i in range(12):
        admin.action.package_create(
            name=f"labour-{i:02d}", title=f"การสำรวจภาวะการทำงาน ไตรมาส {i}", owner_org="nso",
            notes="ผลสำรวจ **กำลังแรงงาน**", tags=[{"name": "แรงงาน"}, {"name": f"q{i}"}],
            groups=[{"name": "category05"}], extras=[{"key": "source_system", "value": "LFS"}],
            data_type="ข้อมูลสถิติ", data_format=["CSV", "XLS"], first_year_of_data="2560",
            resources=[{"name": "ตาราง", "url": f"https://example.go.th/lfs-{i}.csv", "format": "csv",
                        "resource_first_year_of_data": "2560"}])
    admin.action.resource_create(package_id="labour-00", name="upload", upload=("u.csv", io.BytesIO(b"a\n1\n")))
    src.wait_jobs()  # the upload loads into the DataStore in the background, as with CKAN's xloader
    dump = tmp_path / "datasets.jsonl"
    ckanapi_cli("dump", "datasets", "--all", "-O", str(dump), "-r", src.url, "-a", src.admin_token)
    lines = dump.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12

    # A migration moves organizations and groups first (ids kept), then datasets.
    for thing in ("organizations", "groups"):
        path = tmp_path / f"{thing}.jsonl"
        ckanapi_cli("dump", thing, "--all", "-O", str(path), "-r", src.url, "-a", src.admin_token)
        ckanapi_cli("load", thing, "-I", str(path), "-r", dst.url, "-a", dst.admin_token)
    assert dst.ckan().action.organization_show(id="nso")["id"] == src.ckan().action.organization_show(id="nso")["id"]
    ckanapi_cli("load", "datasets", "-I", str(dump), "-r", dst.url, "-a", dst.admin_token)
    dst.wait_jobs()
    redump = tmp_path / "again.jsonl"
    ckanapi_cli("dump", "datasets", "--all", "-O", str(redump), "-r", dst.url, "-a", dst.admin_token)
    first = sorted((json.loads(line) for line in lines), key=lambda p: p["name"])
    second = sorted((json.loads(line) for line in redump.read_text(encoding="utf-8").splitlines()), key=lambda p: p["name"])
    assert [_comparable(p, src.url) for p in first] == [_comparable(p, dst.url) for p in second]
    # and loading the same dump again updates in place rather than duplicating
    ckanapi_cli("load", "datasets", "-I", str(dump), "-r", dst.url, "-a", dst.admin_token)
    assert len(dst.ckan().action.package_list()) == 12


def test_ckanapi_cli_search_and_harvester_style_paging_see_every_dataset_once(server_factory):
    srv = server_factory()
    admin = srv.admin()
    admin.action.organization_create(name="dga", title="สำนักงานพัฒนารัฐบาลดิจิทัล")
    for i in range(25):
        admin.action.package_create(name=f"ds-{i:02d}", title=f"ชุดข้อมูลเปิด {i}", owner_org="dga")
    out = ckanapi_cli("search", "datasets", "q=ข้อมูลเปิด", "-r", srv.url)
    names = sorted(json.loads(line)["name"] for line in out.splitlines())
    assert names == [f"ds-{i:02d}" for i in range(25)]
    # ckanext-harvest: GET, rows=100-style pages, sort=id asc, stop at an empty page; pages must differ.
    import requests

    seen, start, bodies = [], 0, []
    while True:
        body = requests.get(f"{srv.url}/api/3/action/package_search",
                            params={"rows": 10, "start": start, "sort": "id asc"}).text
        assert body not in bodies
        bodies.append(body)
        results = json.loads(body)["result"]["results"]
        if not results:
            break
        seen += [r["id"] for r in results]
        start += 10
    assert len(seen) == len(set(seen)) == 25 and seen == sorted(seen)


def test_frictionless_reads_a_dataset_and_publishes_one(server, tmp_path):
    from frictionless import Package, portals

    admin = server.admin()
    admin.action.organization_create(name="fl-org", title="หน่วยงานทดสอบ")
    admin.action.package_create(name="fl-read", title="อ่านด้วย frictionless", owner_org="fl-org",
                                notes="คำอธิบาย", license_id="cc-by", tags=[{"name": "ทดสอบ"}],
                                resources=[{"name": "data", "url": "https://example.go.th/data.csv", "format": "CSV"}])
    control = portals.CkanControl(baseurl=server.url)
    package = Package(f"{server.url}/dataset/fl-read", control=control)
    assert package.title == "อ่านด้วย frictionless"
    assert [r.path for r in package.resources] == ["https://example.go.th/data.csv"]

    from frictionless import Resource

    (tmp_path / "table.csv").write_text("ปี,จำนวน\n2565,10\n", encoding="utf-8")
    out = Package(resources=[Resource(path="table.csv", name="table", basepath=str(tmp_path))],
                  basepath=str(tmp_path))
    out.name = "fl-published"
    out.title = "เผยแพร่จาก frictionless"
    control = portals.CkanControl(baseurl=server.url, apikey=server.admin_token, organization_name="fl-org")
    out.publish(control=control)
    published = server.ckan().action.package_show(id="fl-published")
    assert published["title"] == "เผยแพร่จาก frictionless"
    assert published["organization"]["name"] == "fl-org"
    assert {r["name"] for r in published["resources"]} == {"table", "datapackage"}
    table = next(r for r in published["resources"] if r["name"] == "table")
    import requests

    assert requests.get(table["url"]).content.decode("utf-8") == "ปี,จำนวน\n2565,10\n"


def test_strict_mode_requires_gdc_fields_and_lax_mode_scores_them(server_factory):
    strict = server_factory(KHLANG_GDC_STRICT="1")
    admin = strict.admin()
    admin.action.organization_create(name="strict-org", title="หน่วยงานเข้มงวด")
    with pytest.raises(ckanapi.ValidationError) as err:
        admin.action.package_create(name="thin", owner_org="strict-org")
    for field in ("data_type", "objective", "data_category", "maintainer_email", "tags"):
        assert err.value.error_dict[field] == ["Missing value"]
    assert strict.ckan().action.status_show()["khlang_gdc_strict"] is True
