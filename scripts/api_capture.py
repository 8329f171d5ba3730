"""Capture a few hundred API and page answers from a copy of a seeded catalogue, for before/after refactor checks.

Usage: python scripts/api_capture.py SEEDED_DIR OUT.jsonl   (SEEDED_DIR holds khlang.db and storage/ from seed-demo)
"""
import hashlib
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.settings import Settings  # noqa: E402
from web import create_app  # noqa: E402

_VOLATILE = re.compile(rb'(name="csrf_token"[^>]*value="|csrf-token" content=")[^"]*')


def _urls(client):
    names = client.get("/api/3/action/package_list").get_json()["result"]
    orgs = client.get("/api/3/action/organization_list").get_json()["result"]
    urls = ["/api/3/action/package_list", "/api/3/action/organization_list?all_fields=true",
            "/api/3/action/group_list?all_fields=true", "/api/3/action/tag_list", "/api/3/action/license_list",
            "/api/3/action/status_show", "/api/3/action/site_read", "/api/3/action/package_show?id=nope",
            "/api/3/action/package_search?q=" + quote("โรงเรียน"), "/api/3/action/package_search?q=" + quote("งบประมาณ"),
            "/api/3/action/package_search?q=budget&rows=50&facet.field=[\"tags\",\"organization\"]",
            "/api/3/action/package_search?fq=organization:" + orgs[0], "/api/3/action/package_search?sort=name%20desc",
            "/api/3/action/package_search?q=" + quote("title:สถิติ"), "/api/3/action/package_search?start=100&rows=5",
            "/api/3/action/resource_search?query=format:CSV", "/api/3/action/recently_changed_packages_activity_list",
            "/api/3/action/package_search?q=%22unterminated", "/api/3/action/datastore_search?resource_id=nope",
            "/api/3/cubes/budget/aggregate?drilldown=ministry", "/api/3/cubes/budget/aggregate?drilldown=ministry&fiscal_year=all",
            "/api/3/cubes/budget/aggregate?drilldown=fiscal_year&fiscal_year=all", "/api/3/cubes",
            "/api/3/cubes/budget/model", "/api/3/cubes/budget/aggregate?drilldown=nope",
            "/api/3/cubes/budget/facts?fiscal_year=2565&pagesize=20", "/api/3/spending/tax-receipt?income=500000",
            "/", "/dataset", "/dataset?q=" + quote("ข้อมูล"), "/organization", "/group", "/spending",
            "/spending/ministries", "/spending/tax", "/sitemap.xml", "/catalog.ttl", "/feeds/dataset.atom",
            "/api/3/openapi.json", "/about", "/harvest"]
    for org in orgs[:40]:
        urls += ["/api/3/action/organization_show?id=" + org, "/organization/" + org]
    for name in names[:120]:
        urls.append("/api/3/action/package_show?id=" + name)
    for name in names[:25]:
        urls += ["/dataset/" + name, "/api/3/action/package_activity_list?id=" + name]
    for name in names:
        pkg = client.get("/api/3/action/package_show?id=" + name).get_json()["result"]
        for res in pkg["resources"]:
            if res.get("datastore_active"):
                rid = res["id"]
                urls += [f"/api/3/action/datastore_search?resource_id={rid}&limit=7",
                         f"/api/3/action/datastore_search?resource_id={rid}&limit=3&offset=10&sort=_id%20desc",
                         f"/dataset/{name}/resource/{rid}", f"/datastore/dump/{rid}?format=csv",
                         f"/datastore/dump/{rid}?format=json&limit=5"]
    return urls


def main(seeded, out):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(seeded, tmp, dirs_exist_ok=True)
        settings = Settings(db_path=str(Path(tmp) / "khlang.db"), site_url="http://capture")
        app = create_app({"SETTINGS": settings, "TESTING": True, "RATELIMIT_ENABLED": False})
        client = app.test_client()
        with open(out, "w", encoding="utf-8") as f:
            for url in _urls(client):
                r = client.get(url)
                body = _VOLATILE.sub(rb"\1-", r.data)
                f.write(json.dumps({"url": url, "status": r.status_code, "type": r.headers.get("Content-Type"),
                                    "sha": hashlib.sha256(body).hexdigest(), "size": len(body)}, ensure_ascii=False) + "\n")
    print(sum(1 for _ in open(out, encoding="utf-8")), "answers captured to", out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
