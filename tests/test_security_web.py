"""Attacks on the website: stored XSS in every writable field on every page, CSRF on every form, open
redirects, path traversal, formula injection in every download, token brute force, security headers."""
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import quote, urlsplit

import openpyxl
import pytest
from rdflib import Graph

from catalog import actions
from catalog.context import Context
from catalog.settings import Settings
from catalog.users import create_token, create_user
from conftest import REAL_DATA, assert_ckan_error, dangerous, khlang_cli, sysadmin_site
from web import create_app

PAYLOADS = ['<script>alert("k1")</script>', '"><img src=x onerror=alert(2)>', "'><svg onload=alert(3)>",
            "{{7*7}}", "</textarea><script>alert(5)</script>", '<iframe srcdoc="<script>alert(6)</script>">',
            "<a href=\"javascript:alert(7)\">x</a>"]
X = " ".join(PAYLOADS)
XT = " ".join(PAYLOADS[:5])   # for titles (at most 200 characters)
XS = "\"><img src=x onerror=alert(2)><script>alert(1)</script>{{7*7}}"   # for fields of at most 100 characters
BAD_URL = "javascript:alert(8)"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"คลิก\")"
FORMULA_COL = "=1+2 คลิก"
XSS_COL = "<img src=x onerror=alert(9)>"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A catalogue whose every user-writable field holds attack text."""
    app, db, sys_ctx = sysadmin_site(tmp_path_factory.mktemp("hostile"))
    settings = sys_ctx.settings
    anon = Context(db=db, settings=settings, user=None, site_url="http://t")
    call = lambda name, data, ctx=sys_ctx: actions.call(ctx, name, data)  # noqa: E731
    create_user(db, "editor", email="e@example.go.th", password="password-123", fullname=XS)
    org = call("organization_create", {"name": "xss-org", "title": XT, "description": X})
    call("group_create", {"name": "xss-grp", "title": XT, "description": X})
    call("organization_member_create", {"id": org["id"], "username": "editor", "role": "editor"})
    pkg = call("package_create", {"name": "xss-ds", "title": XT, "notes": X, "author": X, "maintainer": X,
                                  "url": BAD_URL, "version": XS, "owner_org": org["id"],
                                  "tags": [{"name": "แท็ก"}], "groups": [{"name": "xss-grp"}],
                                  "extras": [{"key": "หมายเหตุ", "value": X}]})
    link = call("resource_create", {"package_id": pkg["id"], "name": XT, "description": X, "url": BAD_URL, "format": "CSV"})
    table = call("datastore_create", {
        "resource": {"package_id": pkg["id"], "name": XT, "description": X},
        "fields": [{"id": "ชื่อ", "type": "text"}, {"id": FORMULA_COL, "type": "text"}, {"id": XSS_COL, "type": "text"},
                   {"id": "n", "type": "int"}],
        "records": [{"ชื่อ": X, FORMULA_COL: FORMULA, XSS_COL: X, "n": 1},
                    {"ชื่อ": "-2+3", FORMULA_COL: "@SUM(A1)", XSS_COL: "+1", "n": -2}]})
    comment = call("comment_create", {"package_id": pkg["id"], "body": X, "author_name": XS}, anon)
    call("comment_moderate", {"id": comment["id"], "state": "published"})
    req = call("datarequest_create", {"title": XT, "description": X, "requester_name": XS}, anon)
    call("datarequest_answer", {"id": req["id"], "status": "answered", "answer": X, "organization_id": org["id"]})
    create_token(db, sys_ctx.user_id, XS)
    client = app.test_client()
    with client.session_transaction() as s:
        s["user_id"] = sys_ctx.user_id
        s["epoch"] = 0   # a fresh account's session epoch
    return {"app": app, "client": client, "pkg": pkg, "link": link["id"], "table": table["resource_id"],
            "request": req["id"], "db": db}


PAGES = ["/", "/dataset", "/dataset?q={q}", "/dataset/xss-ds", "/dataset/xss-ds/resource/{link}",
         "/dataset/xss-ds/resource/{table}", "/dataset/xss-ds/resource/{table}?q={q}&sort={q}",
         "/organization", "/organization/xss-org", "/group", "/group/xss-grp", "/dashboard", "/datarequest",
         "/datarequest/{request}", "/user/root/api-tokens", "/organization/members/xss-org", "/dataset/edit/xss-ds",
         "/dataset/xss-ds/resource/new", "/dataset/xss-ds/resource/{table}/edit", "/dataset/xss-ds/resource/{link}/edit",
         "/dataset/new", "/datarequest/new", "/api/docs", "/user/login?next={q}", "/user/reset",
         "/user/edit/root",
         "/dataset/{q}", "/organization/{q}", "/spending/procurement?q={q}"]

ANONYMOUS_PAGES = ["/user/register"]   # a signed-in visitor is sent on from these


def _reset_link(hostile):
    """The path of a working password-reset link of the sysadmin's (its form is only shown behind one)."""
    from catalog import registration   # only this helper makes account links

    links = []
    ctx = Context(db=hostile["db"], settings=hostile["app"].config["SETTINGS"], user=None, site_url="")
    registration.request_reset(ctx, hostile["app"].config["SECRET_KEY"], "root", lambda token: links.append(
        f"/user/reset/{token}"))
    return links[0]


@pytest.mark.parametrize("who", ["sysadmin", "anonymous"])
def test_attack_text_in_every_field_is_shown_as_text_on_every_page(hostile, who):
    client = hostile["client"] if who == "sysadmin" else hostile["app"].test_client()
    checked = 0
    for page in PAGES + (ANONYMOUS_PAGES if who == "anonymous" else []):
        url = page.format(q=quote(X), link=hostile["link"], table=hostile["table"], request=hostile["request"])
        r = client.get(url)
        if r.status_code in (302, 403) and who == "anonymous":
            continue
        assert r.status_code in (200, 404), (url, r.status_code)
        html = r.get_data(as_text=True)
        assert dangerous(html) == [], (url, dangerous(html))
        checked += 1
    assert checked >= (len(PAGES) if who == "sysadmin" else 15)


def test_attack_text_survives_as_text_in_the_dataset_page(hostile):
    html = hostile["client"].get("/dataset/xss-ds").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;k1&#34;)&lt;/script&gt;" in html or "&lt;script&gt;alert(&quot;k1&quot;)" in html
    assert "{{7*7}}" in html
    assert dangerous(html) == []


def test_feeds_and_dcat_stay_well_formed_with_attack_text(hostile):
    client = hostile["app"].test_client()
    atom = client.get("/feeds/dataset.atom").get_data(as_text=True)
    root = ET.fromstring(atom)
    assert any(XT == (e.text or "") for e in root.iter() if e.tag.endswith("title"))
    assert not list(root.iter("script"))
    g = Graph()
    g.parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    assert any(str(o) == XT for o in g.objects())
    sitemap = ET.fromstring(client.get("/sitemap.xml").get_data(as_text=True))
    assert sitemap.tag.endswith("urlset")


def test_every_download_neutralises_formulas_in_names_and_cells(hostile):
    client, rid = hostile["app"].test_client(), hostile["table"]
    for fmt in ("csv", "tsv"):
        text = client.get(f"/datastore/dump/{rid}?format={fmt}&bom=true").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter="," if fmt == "csv" else "\t"))
        for cell in (c for row in rows for c in row):
            assert not cell.startswith(("=", "+", "@")) and not re.match(r"^-\D", cell), (fmt, cell)
        assert "'=HYPERLINK" in text and "'@SUM" in text and "'-2+3" in text and "'=1+2 คลิก" in text
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/datastore/dump/{rid}?format=xlsx").data))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert {FORMULA, FORMULA_COL, -2} <= {c.value for c in cells}
    records = client.get(f"/api/3/action/datastore_search?resource_id={rid}&records_format=csv").get_json()
    assert "'=HYPERLINK" in records["result"]["records"]


def _forms(html):
    """(action, opening tag) of every POST form; a form without an action posts to its own page ('')."""
    found = []
    for m in re.finditer(r"<form\b[^>]*>", html, re.I):
        tag = m.group(0)
        if re.search(r'method="post"', tag, re.I):
            action = re.search(r'action="([^"]*)"', tag)
            found.append((action.group(1) if action else "", tag))
    return found


def test_every_form_on_the_site_refuses_a_post_without_its_csrf_token(hostile):
    client = hostile["client"]
    pages = [p.format(q="x", link=hostile["link"], table=hostile["table"], request=hostile["request"]) for p in PAGES]
    anonymous = hostile["app"].test_client()
    actions_seen = set()
    for page, reader in [(p, client) for p in pages] + [(p, anonymous) for p in ANONYMOUS_PAGES + [_reset_link(hostile)]]:
        html = reader.get(page).get_data(as_text=True)
        for action, tag in _forms(html):
            assert 'name="csrf_token"' in html[html.index(tag):html.index("</form>", html.index(tag))], (page, action)
            actions_seen.add(html_unescape(action).split("?")[0].split("#")[0] or page.split("?")[0])
    before = hostile["db"].execute("SELECT count(*) FROM packages").fetchone()[0]
    refused = 0
    for action in sorted(actions_seen):
        r = client.post(action, data={"title": "csrf", "name": "csrf-ds", "body": "csrf", "username": "editor",
                                      "role": "admin", "token_name": "csrf", "state": "hidden"})
        assert r.status_code == 400, (action, r.status_code)
        refused += 1
    assert hostile["db"].execute("SELECT count(*) FROM packages").fetchone()[0] == before
    rules = {r.rule for r in hostile["app"].url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api")}
    patterns = [re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", rule) + "$") for rule in rules]
    covered = {rule for rule, pat in zip(rules, patterns) if any(pat.match(a) for a in actions_seen)}
    assert covered == rules, f"forms never seen for {rules - covered}"
    assert refused >= len(rules)


REDIRECTS = ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
             "/\n/evil.example", " //evil.example", "javascript:alert(1)", "http:evil.example", "https:/evil.example",
             "/%09/evil.example/../", "data:text/html,x", "ftp://evil.example"]


@pytest.mark.parametrize("target", REDIRECTS, ids=range(len(REDIRECTS)))
def test_login_never_redirects_off_the_site(hostile, target):
    client = hostile["app"].test_client()
    page = client.get("/user/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/user/login", data={"login": "editor", "password": "password-123", "csrf_token": token,
                                         "next": target})
    assert r.status_code == 302
    location = r.headers["Location"]
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost") and not parts.path.startswith("//") and "\\" not in location
    assert location.startswith("/") and not any(ord(c) < 33 for c in location)


TRAVERSALS = ["/datastore/dump/..%2F..%2F..%2Fetc%2Fpasswd", "/datastore/dump/../../etc/passwd",
              "/static/..%2F..%2Fcatalog%2Fdb.py", "/static/../secret_key", "/static/%2e%2e/%2e%2e/etc/passwd",
              "/api/3/cubes/..%2F..%2Fetc%2Fpasswd/model", "/dataset/..%2F..%2Fetc%2Fpasswd",
              "/sitemap-..%2F1.xml", "/dataset/xss-ds/resource/..%2F..%2Fsecret_key/download"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_finds_nothing(hostile, path):
    r = hostile["app"].test_client().get(path)
    assert r.status_code in (404, 400), (path, r.status_code)
    assert b"root:" not in r.data and b"import" not in r.data


def test_upload_names_cannot_escape_the_store_and_downloads_ignore_the_path(hostile, tmp_path):
    client = hostile["client"]
    page = client.get("/dataset/xss-ds/resource/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    names = ["../../../../tmp/khlang-evil.csv", "..\\..\\khlang-evil.csv", "/etc/cron.d/khlang-evil.csv",
             "evil\x00.csv", "ก" * 300 + ".csv"]
    settings = hostile["app"].config["SETTINGS"]
    store = Path(settings.storage_dir).resolve()
    for name in names:
        r = client.post("/dataset/xss-ds/resource/new", data={"csrf_token": token, "name": "up",
                                                              "upload": (io.BytesIO(b"a,b\n1,2\n"), name)})
        assert r.status_code in (302, 200), (name, r.status_code)
    assert not Path("/tmp/khlang-evil.csv").exists() and not Path("/etc/cron.d/khlang-evil.csv").exists()
    outside = [p for p in store.parent.rglob("*evil*")]
    assert outside == []
    pkg = actions.call(Context(db=hostile["db"], settings=settings, user=None, site_url="http://t"), "package_show",
                       {"id": "xss-ds"})
    uploads = [r for r in pkg["resources"] if r["url_type"] == "upload"]
    assert len(uploads) == len(names)
    for res in uploads:
        assert ".." not in res["url"].rsplit("/", 1)[-1] and "\\" not in res["url"]
        got = client.get(f"/dataset/{pkg['id']}/resource/{res['id']}/download/..%2F..%2Fsecret_key")
        assert got.status_code == 200 and got.data == b"a,b\n1,2\n"
        assert "/" not in got.headers["Content-Disposition"].split("filename", 1)[1]


def test_unknown_tokens_are_rate_limited_per_address_and_good_ones_still_work_elsewhere(hostile):
    app = hostile["app"]
    good = create_token(hostile["db"], hostile["db"].execute("SELECT id FROM users WHERE name='editor'").fetchone()[0],
                        "ok")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    codes = [attacker.get("/api/3/action/api_token_list", headers={"Authorization": f"guess-{i}"}).status_code
             for i in range(31)]
    assert codes[:30] == [403] * 30 and codes[30] == 429
    blocked = attacker.get("/api/3/action/api_token_list", headers={"Authorization": good})
    assert_ckan_error(blocked, 429, "Too Many Requests")
    assert attacker.get("/api/3/action/package_list").status_code == 200   # without a token it still reads
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert other.get("/api/3/action/api_token_list", headers={"Authorization": good}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/dataset/xss-ds", "/api/3/action/package_list", "/datastore/dump/{table}",
                                  "/feeds/dataset.atom", "/catalog.ttl", "/sitemap.xml", "/static/site.css",
                                  "/no-such-page", "/api/3/action/no_such_action"])
def test_security_headers_on_every_kind_of_response(hostile, path):
    r = hostile["app"].test_client().get(path.format(table=hostile["table"]))
    csp = r.headers["Content-Security-Policy"]
    script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(hostile):
    client = hostile["app"].test_client()
    page = client.get("/user/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/user/login", data={"login": "editor", "password": "password-123", "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture(scope="module")
def hostile_spending(tmp_path_factory):
    """The real e-GP sample with attack text in project and agency names, ingested and built into the explorer."""
    tmp = tmp_path_factory.mktemp("hostile-spending")
    rows = list(csv.reader(open(REAL_DATA / "dga-egp-contract-fy2568-sample" / "dga-egp-contract-2568-250.csv",
                                encoding="utf-8-sig")))
    header = rows[0]
    name, unit = header.index("ชื่อโครงการ"), header.index("ชื่อหน่วยงานย่อย")
    for r in rows[1:6]:
        r[name] = "</script><script>alert(1)</script>" + XT
        r[unit] = XS
    path = tmp / "egp.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    env = {"KHLANG_DB": str(tmp / "khlang.db")}
    khlang_cli("user", "add", "admin", "--sysadmin", "--email", "a@example.go.th", "--password", "password-1", env=env)
    khlang_cli("ingest", str(path), "--source", "egp-csv", "--org", "dga", "--dataset", "egp-2568", env=env)
    app = create_app({"SETTINGS": Settings(db_path=env["KHLANG_DB"]), "TESTING": True})
    return app.test_client(), rows[1][header.index("รหัสโครงการ")]


def test_attack_text_in_ingested_spending_data_is_text_on_every_explorer_page(hostile_spending):
    client, project = hostile_spending
    page = client.get(f"/spending/project/{project}").get_data(as_text=True)
    agency = re.search(r'href="/spending/agency/(\d+)"', page).group(1)
    pages = ["/spending", "/spending/procurement", f"/spending/procurement?q={quote('alert')}",
             f"/spending/project/{project}", f"/spending/agency/{agency}", "/spending/budget", "/spending/map"]
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, (page, r.status_code)
        assert dangerous(r.get_data(as_text=True)) == [], (page, dangerous(r.get_data(as_text=True)))
    assert "alert(1)" in client.get(f"/spending/project/{project}").get_data(as_text=True)   # shown, as text
    ocds = client.get(f"/api/ocds/release/{project}")   # JSON keeps the text; the browser never runs it as a page
    assert ocds.mimetype == "application/json" and ocds.headers["X-Content-Type-Options"] == "nosniff"
    assert "</script>" in json.dumps(ocds.get_json(), ensure_ascii=False)
    text = client.get("/api/3/cubes/procurement/facts.csv?pagesize=50").get_data(as_text=True)
    assert "</script>" in text and not re.search(r"(^|,)[=+@]", text, re.M)
