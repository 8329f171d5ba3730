"""The website through Flask's test client: languages, pages, forms with CSRF, XSS, feeds and DCAT."""
import csv
import io
import json
import re

import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS

from catalog import actions
from catalog.users import create_user
from conftest import dangerous

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
GDC = {"maintainer": "สมชาย", "maintainer_email": "somchai@example.go.th", "license_id": "Creative Commons Attributions",
       "data_type": "ข้อมูลสถิติ", "objective": ["ยุทธศาสตร์ชาติ"], "update_frequency_unit": "ปี",
       "geo_coverage": "ประเทศ", "data_source": "สำนักงบประมาณ", "data_format": ["CSV"],
       "data_category": "ข้อมูลสาธารณะ"}


@pytest.fixture
def site(db, make_ctx, admin):
    ctx = make_ctx(admin)
    org = actions.call(ctx, "organization_create", {"name": "moe", "title": "กระทรวงศึกษาธิการ"})
    other = actions.call(ctx, "organization_create", {"name": "mof", "title": "กระทรวงการคลัง"})
    for name, role, org_id in (("editor1", "editor", org["id"]), ("member1", "member", org["id"]),
                               ("outsider", "editor", other["id"])):
        create_user(db, name, email=f"{name}@example.go.th", password="password-123")
        actions.call(ctx, "organization_member_create", {"id": org_id, "username": name, "role": role})
    pub = actions.call(ctx, "package_create", {"name": "schools-2567", "title": "จำนวนโรงเรียน ปี 2567 " + XSS,
                                               "notes": "ข้อมูล **โรงเรียน** [link](javascript:alert(1)) " + XSS,
                                               "owner_org": org["id"], "tags": [{"name": "โรงเรียน"}], **GDC})
    actions.call(ctx, "datastore_create", {"resource": {"package_id": pub["id"], "name": "rows"}, "records": [
        {"province": "กรุงเทพมหานคร", "schools": 437}, {"province": "เชียงใหม่", "schools": 1210},
        {"province": "=cmd|' /C calc'!A0", "schools": 1}, {"province": "ภูเก็ต", "schools": 87}]})
    priv = actions.call(ctx, "package_create", {"name": "secret-plans", "title": "แผนลับเฉพาะภายใน", "private": True,
                                                "owner_org": org["id"], **GDC})
    return {"org": org, "pub": actions.call(ctx, "package_show", {"id": pub["id"]}), "priv": priv}


def csrf_of(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name, password="password-123"):
    token = csrf_of(client.get("/user/login").get_data(as_text=True))
    return client.post("/user/login", data={"login": name, "password": password, "csrf_token": token, "next": "/dashboard"})


def test_pages_are_thai_by_default_and_english_on_request_with_a_cookie_that_sticks(client, site):
    th = client.get("/").get_data(as_text=True)
    assert '<html lang="th">' in th and "ชุดข้อมูลล่าสุด" in th
    en = client.get("/?lang=en")
    assert "Newest datasets" in en.get_data(as_text=True) and "lang=en" in en.headers["Set-Cookie"]
    assert "Newest datasets" in client.get("/").get_data(as_text=True)   # the cookie keeps English
    assert "ชุดข้อมูลล่าสุด" in client.get("/?lang=th").get_data(as_text=True)


def test_dates_show_the_buddhist_era_in_thai_and_ce_in_english(client, site):
    year = int(site["pub"]["metadata_created"][:4])
    assert f" {year + 543}" in client.get("/dataset/schools-2567?lang=th").get_data(as_text=True)
    page = client.get("/dataset/schools-2567?lang=en").get_data(as_text=True)
    assert f" {year}" in page and f" {year + 543} " not in page.split("<main", 1)[1].split("Cite this dataset")[0]


def test_user_text_is_escaped_everywhere_it_is_shown(client, site):
    for url in ("/", "/dataset", "/dataset?q=โรงเรียน", "/dataset/schools-2567", "/organization/moe",
                "/feeds/dataset.atom"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and dangerous(body) == [], url
    page = client.get("/dataset/schools-2567").get_data(as_text=True)
    assert "<strong>โรงเรียน</strong>" in page   # markdown still renders


def test_dataset_page_shows_gdc_labels_counts_history_citation_and_schema_org(client, site):
    client.get("/dataset/schools-2567")
    page = client.get("/dataset/schools-2567").get_data(as_text=True)
    assert "ประเภทชุดข้อมูล" in page and "ข้อมูลสถิติ" in page and "somchai@example.go.th" in page
    assert "เข้าชม 2 ครั้ง" in page and "การอ้างอิงชุดข้อมูลนี้" in page and "datapackage.json" in page
    doc = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert doc["@type"] == "Dataset" and doc["creator"]["name"] == "กระทรวงศึกษาธิการ"
    assert "Data Type" in client.get("/dataset/schools-2567?lang=en").get_data(as_text=True)


def test_private_datasets_stay_out_of_pages_feeds_dcat_and_sitemap_for_outsiders(client, site):
    for url in ("/", "/dataset", "/dataset?q=แผนลับ", "/organization/moe", "/feeds/dataset.atom", "/catalog.ttl",
                "/sitemap.xml"):
        assert "secret-plans" not in client.get(url).get_data(as_text=True), url
    for url in ("/dataset/secret-plans", "/dataset/secret-plans.ttl", "/dataset/secret-plans/datapackage.json"):
        assert client.get(url).status_code == 404, url
    login(client, "member1")
    assert client.get("/dataset/secret-plans").status_code == 200
    assert "secret-plans" in client.get("/dataset?q=แผนลับ").get_data(as_text=True)
    assert "secret-plans" not in client.get("/catalog.ttl").get_data(as_text=True)   # DCAT is the public view


def test_dcat_catalog_and_dataset_parse_as_rdf_with_their_distributions(client, site):
    g = Graph().parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    datasets = set(g.subjects(predicate=None, object=DCAT.Dataset))
    assert len(datasets) == 1
    ds = datasets.pop()
    assert next(g.objects(ds, DCTERMS.publisher)) and len(list(g.objects(ds, DCAT.distribution))) == 1
    jg = Graph().parse(data=client.get("/dataset/schools-2567.jsonld").get_data(as_text=True), format="json-ld")
    subject = next(jg.subjects(predicate=None, object=DCAT.Dataset))
    assert len(jg) > 10 and str(next(jg.objects(subject, DCTERMS.title))).startswith("จำนวนโรงเรียน")


def test_data_package_of_a_dataset_is_valid_and_points_at_the_table(client, site):
    import frictionless

    desc = client.get("/dataset/schools-2567/datapackage.json").get_json()
    report = frictionless.Package.validate_descriptor(desc)   # the data itself is read in the live-server test
    assert report.valid, report.flatten(["type", "note"])
    res = desc["resources"][0]
    assert [f["name"] for f in res["schema"]["fields"]] == ["province", "schools"]
    assert "/datastore/dump/" in res["path"]


def test_atom_feed_and_sitemap_are_well_formed_xml(client, site):
    from xml.etree import ElementTree as ET

    feed = ET.fromstring(client.get("/feeds/dataset.atom").data)
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(t.startswith("จำนวนโรงเรียน") for t in titles)
    urls = [e.text for e in ET.fromstring(client.get("/sitemap.xml").data).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert any(u.endswith("/dataset/schools-2567") for u in urls)


def test_preview_filters_and_sorts_and_its_downloads_hold_exactly_what_is_shown(client, site):
    rid = site["pub"]["resources"][0]["id"]
    page = client.get(f"/dataset/schools-2567/resource/{rid}", query_string={"q.province": "เชียง"}).get_data(as_text=True)
    assert "เชียงใหม่" in page and "ภูเก็ต" not in page and "1 แถว" in page
    link = re.search(r'href="(/datastore/dump/[^"]+format=csv[^"]*)"', page).group(1).replace("&amp;", "&")
    body = client.get(link).data
    assert body.startswith(b"\xef\xbb\xbf")
    assert [r["province"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))] == ["เชียงใหม่"]
    sorted_page = client.get(f"/dataset/schools-2567/resource/{rid}", query_string={"sort": "schools desc"}).get_data(as_text=True)
    # The cells' text, not anywhere in the page (a resource id may hold "437").
    assert sorted_page.index(">1210<") < sorted_page.index(">437<") < sorted_page.index(">87<")
    whole = client.get(f"/datastore/dump/{rid}?format=csv&bom=true").data.decode("utf-8-sig")
    assert "'=cmd" in whole   # formula neutralised for Excel


def test_forms_without_a_csrf_token_are_refused(client, site):
    assert client.post("/user/login", data={"login": "editor1", "password": "password-123"}).status_code == 400
    assert client.post("/datarequest/new", data={"title": "x", "description": "y", "requester_name": "z"}).status_code == 400
    assert client.post("/dataset/schools-2567/comment", data={"body": "hi", "author_name": "a"}).status_code == 400


def test_login_never_redirects_off_site_and_failed_logins_are_rate_limited(client, site):
    token = csrf_of(client.get("/user/login").get_data(as_text=True))
    r = client.post("/user/login", data={"login": "editor1", "password": "password-123", "csrf_token": token,
                                         "next": "//evil.example/steal"})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard"
    client.post("/user/logout", data={"csrf_token": token})
    token = csrf_of(client.get("/user/login").get_data(as_text=True))
    codes = [client.post("/user/login", data={"login": "editor1", "password": "wrong", "csrf_token": token}).status_code
             for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_gdc_form_shows_field_errors_in_place_and_keeps_what_was_typed(client, site):
    login(client, "editor1")
    form = client.get("/dataset/new").get_data(as_text=True)
    assert "ประเภทชุดข้อมูล" in form and "ข้อมูลภูมิสารสนเทศเชิงพื้นที่" in form
    r = client.post("/dataset/new", data={"csrf_token": csrf_of(form), "title": "ทดสอบ", "name": "Bad Name!",
                                          "owner_org": site["org"]["id"], "maintainer_email": "not-an-email"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="err-name"' in page and 'value="ทดสอบ"' in page and "not-an-email" in page
    r = client.post("/dataset/new", data={"csrf_token": csrf_of(form), "title": "งบลงทุน ปี 2567", "name": "invest-2567",
                                          "owner_org": site["org"]["id"], "tags": "งบประมาณ, ลงทุน",
                                          **{k: v for k, v in GDC.items() if not isinstance(v, list)},
                                          "objective": GDC["objective"], "data_format": GDC["data_format"]})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dataset/invest-2567/resource/new")
    page = client.get("/dataset/invest-2567").get_data(as_text=True)
    assert "งบลงทุน ปี 2567" in page and "ลงทุน" in page


def test_only_editors_of_the_organization_get_the_publisher_forms(client, site):
    login(client, "member1")
    token = csrf_of(client.get("/dashboard").get_data(as_text=True))
    assert client.get("/dataset/new").status_code == 403
    assert client.get("/dataset/edit/schools-2567").status_code == 403
    assert client.post("/dataset/edit/schools-2567", data={"csrf_token": token, "title": "x"}).status_code == 403
    assert client.get("/dataset/schools-2567/resource/new").status_code == 403
    login(client, "outsider")
    assert client.get("/dataset/edit/schools-2567").status_code == 403
    assert client.get("/dataset/edit/secret-plans").status_code == 404


def test_uploads_of_unaccepted_types_are_refused_with_a_message(client, site):
    login(client, "editor1")
    token = csrf_of(client.get("/dataset/schools-2567/resource/new").get_data(as_text=True))
    r = client.post("/dataset/schools-2567/resource/new", content_type="multipart/form-data",
                    data={"csrf_token": token, "upload": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")})
    assert r.status_code == 200 and 'id="err-upload"' in r.get_data(as_text=True) and ".exe" in r.get_data(as_text=True)


def test_a_data_request_goes_from_open_to_published_by_the_organization(client, site):
    form = client.get("/datarequest/new").get_data(as_text=True)
    r = client.post("/datarequest/new", data={"csrf_token": csrf_of(form), "title": "สถิติครูรายจังหวัด",
                                              "description": "ต้องการจำนวนครูแยกจังหวัด ปี 2560-2567",
                                              "organization_id": site["org"]["id"], "requester_name": "นักข่าว",
                                              "requester_email": "reporter@example.com"})
    assert r.status_code == 302
    url = r.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "รอคำตอบ" in page and "reporter@example.com" not in page
    login(client, "outsider")
    token = csrf_of(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "status": "answered", "answer": "x"}).status_code == 403
    login(client, "editor1")
    page = client.get(url).get_data(as_text=True)
    assert "reporter@example.com" in page   # the organization sees who to answer
    r = client.post(url, data={"csrf_token": csrf_of(page), "status": "published", "answer": "เผยแพร่แล้ว",
                               "package_id": "schools-2567"})
    assert r.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "เผยแพร่แล้ว" in page and "/dataset/schools-2567" in page
    assert "สถิติครูรายจังหวัด" in client.get("/datarequest?status=published").get_data(as_text=True)


def test_anonymous_comments_wait_for_moderation_by_the_organization(client, site):
    page = client.get("/dataset/schools-2567").get_data(as_text=True)
    client.post("/dataset/schools-2567/comment", data={"csrf_token": csrf_of(page), "author_name": "ประชาชน",
                                                       "body": "ขอข้อมูลปี 2568 ด้วย " + XSS})
    assert "ขอข้อมูลปี 2568" not in client.get("/dataset/schools-2567").get_data(as_text=True)
    login(client, "editor1")
    page = client.get("/dataset/schools-2567").get_data(as_text=True)
    assert "ขอข้อมูลปี 2568" in page and "รอการตรวจสอบ" in page and dangerous(page) == []
    cid = re.search(r'/comment/([0-9a-f-]+)/moderate', page).group(1)
    client.post(f"/comment/{cid}/moderate", data={"csrf_token": csrf_of(page), "state": "published"})
    client.post("/user/logout", data={"csrf_token": csrf_of(page)})
    assert "ขอข้อมูลปี 2568" in client.get("/dataset/schools-2567").get_data(as_text=True)


def test_unknown_pages_get_a_helpful_404_in_the_visitors_language(client, site):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "ไม่พบหน้านี้" in r.get_data(as_text=True)
    assert "Page not found" in client.get("/dataset/nope?lang=en").get_data(as_text=True)
    assert client.get("/api/3/nope").status_code == 404 and client.get("/api/3/nope").is_json


def test_every_page_sends_security_headers_and_no_inline_script(client, site):
    for url in ("/", "/dataset/schools-2567", "/user/login", "/api/docs"):
        r = client.get(url)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>", r.get_data(as_text=True))
        assert scripts == [], url


def test_api_writes_ignore_the_session_cookie(client, site):
    login(client, "editor1")
    r = client.post("/api/3/action/package_patch", json={"id": "schools-2567", "title": "hijacked"})
    assert r.status_code == 403
    assert client.get("/api/3/action/package_show?id=secret-plans").status_code == 200   # reads use the session


def test_publishers_make_and_revoke_api_tokens_that_work_on_the_api(client, site):
    login(client, "editor1")
    page = client.get("/user/editor1/api-tokens").get_data(as_text=True)
    r = client.post("/user/editor1/api-tokens", data={"csrf_token": csrf_of(page), "token_name": "ingest script"})
    token = re.search(r'<pre[^>]* id="new-token">([^<]+)</pre>', r.get_data(as_text=True)).group(1)
    api = client.application.test_client()
    assert api.post("/api/3/action/package_patch", json={"id": "schools-2567", "version": "2"},
                    headers={"Authorization": token}).status_code == 200
    assert client.get("/user/member1/api-tokens").status_code == 403
    tid = re.search(r'name="revoke" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    client.post("/user/editor1/api-tokens", data={"csrf_token": csrf_of(page), "revoke": tid})
    assert api.post("/api/3/action/package_patch", json={"id": "schools-2567", "version": "3"},
                    headers={"Authorization": token}).status_code == 403


def test_organization_admins_manage_members_and_editors_cannot(client, site, db):
    create_user(db, "newcomer", email="n@example.go.th", password="password-123")
    login(client, "editor1")
    page = client.get("/organization/members/moe").get_data(as_text=True)
    assert "editor1" in page and 'name="username"' not in page
    assert client.post("/organization/members/moe", data={"csrf_token": csrf_of(page), "username": "newcomer",
                                                          "role": "editor"}).status_code == 403
    login(client, "admin", "admin-pass-1")
    page = client.get("/organization/members/moe").get_data(as_text=True)
    client.post("/organization/members/moe", data={"csrf_token": csrf_of(page), "username": "newcomer", "role": "editor"})
    assert "newcomer" in client.get("/organization/members/moe").get_data(as_text=True)
    login(client, "newcomer")
    assert client.get("/dataset/new").status_code == 200


def test_public_dataset_counts_of_organizations_and_groups_match_the_catalogue(client, site, make_ctx, admin, db):
    ctx = make_ctx(admin)
    grp = actions.call(ctx, "group_create", {"name": "education", "title": "การศึกษา"})
    actions.call(ctx, "package_patch", {"id": "schools-2567", "groups": [{"name": "education"}]})
    actions.call(ctx, "package_patch", {"id": "secret-plans", "groups": [{"name": "education"}]})
    draft = actions.call(ctx, "package_create", {"name": "draft-one", "owner_org": site["org"]["id"], "state": "draft"})
    anon = make_ctx(None)
    orgs = {o["name"]: o["package_count"] for o in actions.call(anon, "organization_list", {"all_fields": True})}
    groups = {g["name"]: g["package_count"] for g in actions.call(anon, "group_list", {"all_fields": True})}
    expected = db.execute("SELECT count(*) FROM packages WHERE owner_org = ? AND state = 'active' AND private = 0",
                          (site["org"]["id"],)).fetchone()[0]
    assert orgs["moe"] == expected == 1 and groups["education"] == 1 and grp and draft
    member = make_ctx({"id": db.execute("SELECT id FROM users WHERE name = 'member1'").fetchone()[0], "name": "member1"})
    assert {o["name"]: o["package_count"] for o in actions.call(member, "organization_list", {"all_fields": True})}["moe"] == 2


def test_a_page_view_during_a_long_write_is_counted_later_not_waited_for(client, site, settings):
    import sqlite3

    from catalog.store import usage

    other = sqlite3.connect(settings.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")          # another process holds the write lock (an ingest, say)
    try:
        assert client.get("/dataset/schools-2567").status_code == 200
    finally:
        other.execute("ROLLBACK")
    client.get("/dataset/schools-2567")
    counts = other.execute("SELECT sum(count) FROM usage_counts WHERE object_id = ? AND kind = 'view'",
                           (site["pub"]["id"],)).fetchone()[0]
    assert counts == 2 and not any(usage._pending.values())


def test_editors_change_a_resources_metadata_from_its_page(client, site):
    login(client, "editor1")
    pkg = client.application.test_client().get("/api/3/action/package_show?id=schools-2567").get_json()["result"]
    if not pkg["resources"]:
        token = csrf_of(client.get("/dataset/schools-2567/resource/new").get_data(as_text=True))
        client.post("/dataset/schools-2567/resource/new", data={"csrf_token": token, "name": "ลิงก์",
                                                                "url": "https://example.go.th/schools.csv"})
        pkg = client.application.test_client().get("/api/3/action/package_show?id=schools-2567").get_json()["result"]
    res = pkg["resources"][0]
    page = client.get(f"/dataset/schools-2567/resource/{res['id']}").get_data(as_text=True)
    assert f"/dataset/schools-2567/resource/{res['id']}/edit" in page
    form = client.get(f"/dataset/schools-2567/resource/{res['id']}/edit?lang=th").get_data(as_text=True)
    assert "แก้ไขข้อมูล" in form and f'value="{res["name"]}"' in form
    r = client.post(f"/dataset/schools-2567/resource/{res['id']}/edit",
                    data={"csrf_token": csrf_of(form), "name": "รายชื่อโรงเรียน", "description": "ปรับปรุงคำอธิบาย",
                          "format": "CSV"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/dataset/schools-2567/resource/{res['id']}")
    after = client.application.test_client().get(f"/api/3/action/resource_show?id={res['id']}").get_json()["result"]
    assert (after["name"], after["description"], after["format"]) == ("รายชื่อโรงเรียน", "ปรับปรุงคำอธิบาย", "CSV")
    assert after["url"] == res["url"]
    login(client, "member1")
    assert client.get(f"/dataset/schools-2567/resource/{res['id']}/edit").status_code == 403
    assert f"/resource/{res['id']}/edit" not in client.get(f"/dataset/schools-2567/resource/{res['id']}").get_data(
        as_text=True)


def test_a_signed_in_visitor_follows_a_dataset_from_its_page(client, site):
    login(client, "outsider")
    page = client.get("/dataset/schools-2567?lang=th").get_data(as_text=True)
    assert "ติดตาม" in page and "ผู้ติดตาม 0 คน" in page
    r = client.post("/dataset/schools-2567/follow", data={"csrf_token": csrf_of(page), "follow": "1"})
    assert r.status_code == 302
    page = client.get("/dataset/schools-2567?lang=th").get_data(as_text=True)
    assert "เลิกติดตาม" in page and "ผู้ติดตาม 1 คน" in page
    client.post("/dataset/schools-2567/follow", data={"csrf_token": csrf_of(page), "follow": "0"})
    assert "ผู้ติดตาม 0 คน" in client.get("/dataset/schools-2567?lang=th").get_data(as_text=True)
    assert client.post("/dataset/secret-plans/follow", data={"csrf_token": csrf_of(page), "follow": "1"}).status_code == 404


def test_resource_views_show_in_order_with_web_pages_sandboxed_and_user_text_escaped(client, site, make_ctx, admin):
    ctx = make_ctx(admin)
    rid = site["pub"]["resources"][0]["id"]
    actions.call(ctx, "resource_view_create", {"resource_id": rid, "view_type": "image_view", "title": "แผนที่ " + XSS,
                                               "image_url": "https://example.go.th/map.png"})
    actions.call(ctx, "resource_view_create", {"resource_id": rid, "view_type": "webpage_view", "title": "รายงาน",
                                               "description": XSS, "page_url": "https://example.go.th/report"})
    page = client.get(f"/dataset/schools-2567/resource/{rid}?lang=th")
    html = page.get_data(as_text=True)
    titles = re.findall(r'<article class="view"[^>]*>\s*<h3>(.*?)</h3>', html)
    assert titles[0] == "Table" and titles[2] == "รายงาน" and "&lt;script&gt;" in titles[1]
    assert not dangerous(html)
    assert '<img src="https://example.go.th/map.png"' in html
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'src="https://example.go.th/report"' in frame and 'sandbox="' in frame and "allow-top-navigation" not in frame
    actions.call(ctx, "resource_view_create", {"resource_id": rid, "view_type": "webpage_view", "title": "เว็บเก่า",
                                               "page_url": "http://old.example.go.th/"})
    actions.call(ctx, "resource_view_create", {"resource_id": rid, "view_type": "image_view", "title": "ภาพเก่า",
                                               "image_url": "http://old.example.go.th/a.png"})
    html = client.get(f"/dataset/schools-2567/resource/{rid}?lang=th").get_data(as_text=True)
    # plain-http pages and images are linked, not embedded: the site's policy would block them
    assert 'src="http://old.example.go.th' not in html and 'href="http://old.example.go.th/a.png"' in html
    assert 'href="http://old.example.go.th/"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "frame-src https:" in csp and "script-src 'self';" in csp   # other sites' pages in frames, never their scripts
    assert "มุมมองข้อมูล" in html


def test_thai_pages_name_licences_in_thai_and_offer_one_sort_by_name(client, site):
    th = client.get("/dataset/schools-2567?lang=th").get_data(as_text=True)
    en = client.get("/dataset/schools-2567?lang=en").get_data(as_text=True)
    assert "ครีเอทีฟคอมมอนส์ แบบแสดงที่มา (CC BY)" in th and "Creative Commons Attributions" not in th
    assert "Creative Commons Attributions" in en and "ครีเอทีฟคอมมอนส์" not in en
    facets = client.get("/dataset?lang=th").get_data(as_text=True).split('class="facets"')[1]
    assert "ครีเอทีฟคอมมอนส์ แบบแสดงที่มา (CC BY)" in facets
    form = client.get("/dataset?lang=en").get_data(as_text=True).split('<select id="sort"')[1].split("</select>")[0]
    assert "title_string asc" in form and "name asc" not in form   # titles, not URL slugs
    api = client.get("/api/3/action/package_show?id=schools-2567&lang=th").get_json()["result"]
    assert api["license_title"] == "Creative Commons Attributions"   # the API keeps CKAN's titles


def test_an_editor_adds_and_deletes_a_resource_view_from_the_resource_page(client, site):
    rid = site["pub"]["resources"][0]["id"]
    page = f"/dataset/schools-2567/resource/{rid}"
    assert "add-view" not in client.get(page).get_data(as_text=True)   # visitors see views, not the form
    login(client, "outsider")
    assert client.post(f"{page}/views", data={"csrf_token": csrf_of(client.get(page).get_data(as_text=True)),
                                              "view_type": "image_view", "title": "x"}).status_code == 403
    client.post("/user/logout", data={"csrf_token": csrf_of(client.get(page).get_data(as_text=True))})
    login(client, "editor1")
    html = client.get(page).get_data(as_text=True)
    assert 'class="add-view"' in html
    r = client.post(f"{page}/views", data={"csrf_token": csrf_of(html), "view_type": "chart_view", "title": "โรงเรียนรายจังหวัด",
                                           "x_field": "province", "y_field": "schools", "chart_type": "bar"})
    assert r.status_code == 302
    html = client.get(page).get_data(as_text=True)
    chart = re.search(r'<div class="chart chart-view" id="chart-([^"]+)"[^>]*data-x="province" data-y="schools"', html)
    assert chart and "โรงเรียนรายจังหวัด" in html
    r = client.post(f"{page}/views", data={"csrf_token": csrf_of(html), "view_type": "chart_view", "title": "ผิด",
                                           "x_field": "no_such_column"})
    assert r.status_code == 302 and "x_field" in client.get(page).get_data(as_text=True)   # said, nothing added
    client.post(f"{page}/views", data={"csrf_token": csrf_of(html), "delete": chart.group(1)})
    assert "โรงเรียนรายจังหวัด" not in client.get(page).get_data(as_text=True)


def test_a_widened_search_says_so_and_links_to_the_search_as_typed(client, site):
    assert 'id="widened"' not in client.get("/dataset?q=โรงเรียน&lang=en").get_data(as_text=True)   # found as typed
    # One letter too many: the page says what it searched for and links to the search as typed.
    widened = client.get("/dataset?q=โรงเรียนน&lang=en").get_data(as_text=True)
    assert "Showing results for <strong>“โรงเรียน”</strong>" in widened and "/dataset/schools-2567" in widened
    assert '<span class="badge">corrected</span>' in widened
    link = re.search(r'<a href="([^"]+)">Search instead for “โรงเรียนน”</a>', widened).group(1)
    exact = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "0 datasets found" in exact and 'id="widened"' not in exact
    # Romanised Thai, in Thai: the notice and the mark on each result.
    romanised = client.get("/dataset?q=rong rian&lang=th").get_data(as_text=True)
    assert "ชื่อภาษาไทยที่เขียนด้วยอักษรโรมัน" in romanised and '<span class="badge">อักษรโรมัน</span>' in romanised
    assert "/dataset/schools-2567" in romanised
