"""The permission matrix: every API action and page, every role, every dataset state, checked against
docs/permissions.md (the table there is both the documentation and this test's expectations)."""
import io
import re
from pathlib import Path

import pytest

from catalog import actions
from catalog.users import create_token, create_user, session_epoch
from conftest import sysadmin_site

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
ROLES = ("anonymous", "non-member", "member", "editor", "org-admin", "other-editor", "sysadmin")
STATES = ("public", "private", "draft", "deleted")
ROWS = [("1", "สมชาย", 10), ("2", "สมหญิง", 20)]


def read_table(heading):
    """Rows of the Markdown table under `heading`: {(surface, target): {role: cell}}."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(ROLES) or cells[0] in ("surface", "") or set(cells[0]) <= {"-", ":"}:
            continue
        key = (cells[0], cells[1])
        assert key not in table, f"{key} is listed twice in {DOC.name}"
        table[key] = dict(zip(ROLES, cells[2:]))
    return table


class Portal:
    """One catalogue with every role and a dataset in every state, reached through the app's test client."""

    def __init__(self, app, db, sys_ctx, spending=False):
        self.app, self.db, self.sys = app, db, sys_ctx
        admin = sys_ctx.user
        call = self.call_as_sysadmin
        self.org = call("organization_create", {"name": "org-a", "title": "หน่วยงาน ก"})
        self.other = call("organization_create", {"name": "org-b", "title": "หน่วยงาน ข"})
        self.group = call("group_create", {"name": "grp", "title": "กลุ่มงบประมาณ"})
        self.users = {"sysadmin": admin}
        for role, org, capacity in (("non-member", None, None), ("member", self.org, "member"),
                                    ("editor", self.org, "editor"), ("org-admin", self.org, "admin"),
                                    ("other-editor", self.other, "editor")):
            row = create_user(db, f"u-{role}", email=f"{role}@example.go.th", password="password-123")
            self.users[role] = {"id": row["id"], "name": row["name"], "sysadmin": False}
            if org:
                call("organization_member_create", {"id": org["id"], "username": row["name"], "role": capacity})
        self.tokens = {role: create_token(db, u["id"], "matrix") for role, u in self.users.items()}
        self.datasets = {state: self.make_dataset(state, f"perm-{state}") for state in STATES}
        self.project = None
        if not spending:
            return
        from spending.synthetic import seed_spending

        seed_spending(self.sys, contracts=300, years=range(2566, 2568), lines_per_year=40)
        facts = app.test_client().get("/api/3/cubes/procurement/facts?pagesize=1").get_json()
        self.project = facts["data"][0]["project_id"]

    def call_as_sysadmin(self, name, data):
        return actions.call(self.sys, name, data)

    def call_as(self, role, name, data):
        ctx = self.sys.__class__(db=self.db, settings=self.sys.settings, user=self.users.get(role), site_url="http://t")
        return actions.call(ctx, name, data)

    def make_dataset(self, state, name):
        """A dataset of org-a in `state` with a DataStore table, an uploaded file, a comment and a group."""
        pkg = self.call_as("editor", "package_create", {
            "name": name, "title": f"ชุดข้อมูล {name}", "owner_org": self.org["id"], "private": state == "private",
            "state": "draft" if state == "draft" else "active", "tags": [{"name": f"tag-{name}"}],
            "groups": [{"name": "grp"}]})
        table = self.call_as_sysadmin("datastore_create", {
            "resource": {"package_id": pkg["id"], "name": "rows"}, "force": True,
            "fields": [{"id": "id", "type": "int"}, {"id": "name", "type": "text"}, {"id": "amount", "type": "int"}],
            "records": [dict(zip(("id", "name", "amount"), r)) for r in ROWS], "primary_key": ["id"]})
        r = self.app.test_client().post("/api/3/action/resource_create", headers=self.auth("editor"), data={
            "package_id": pkg["id"], "name": "file", "format": "CSV",
            "upload": (io.BytesIO(f"id,name\n1,{name}\n".encode()), f"{name}.csv")})
        assert r.status_code == 200, r.get_data(as_text=True)
        upload = r.get_json()["result"]
        comment = self.call_as("sysadmin", "comment_create", {"package_id": pkg["id"], "body": "ขอบคุณ"})
        activity = self.call_as_sysadmin("package_activity_list", {"id": pkg["id"]})[0]
        view = self.call_as_sysadmin("resource_view_list", {"id": table["resource_id"]})[0]   # its default table view
        if state == "deleted":
            self.call_as_sysadmin("package_delete", {"id": pkg["id"]})
        return {"id": pkg["id"], "name": name, "table": table["resource_id"], "file": upload["id"],
                "activity": activity["id"], "view": view["id"], "comment": comment["id"], "tag": f"tag-{name}"}

    def auth(self, role):
        return {"Authorization": self.tokens[role]} if role != "anonymous" else {}

    def client(self, role):
        """A test client logged in (by session) as the role."""
        c = self.app.test_client()
        if role != "anonymous":
            with c.session_transaction() as s:
                s["user_id"] = self.users[role]["id"]
                # the account's current epoch: a "log out everywhere" row earlier in the run voids older sessions
                s["epoch"] = session_epoch(self.db, self.users[role]["id"])
        return c


def _filled(value, ds):
    """A payload value with the dataset's ids put in ("{table}", also inside lists)."""
    if isinstance(value, str):
        return value.format(**ds)
    return [_filled(v, ds) for v in value] if isinstance(value, list) else value


def _api(method, name, data):
    """A request builder for an action: GET with query args, or POST with a JSON body."""
    def run(p, role, ds):
        payload = {k: _filled(v, ds) for k, v in data.items()}
        c = p.app.test_client()
        if method == "GET":
            return c.get(f"/api/3/action/{name}", query_string=payload, headers=p.auth(role))
        return c.post(f"/api/3/action/{name}", json=payload, headers=p.auth(role))
    return run


def _api_after(first, name, data):
    """POST `first` then `name` with the same data, as one role; the answer of the second (e.g. unfollow after follow)."""
    def run(p, role, ds):
        payload = {k: _filled(v, ds) for k, v in data.items()}
        c = p.app.test_client()
        c.post(f"/api/3/action/{first}", json=payload, headers=p.auth(role))
        return c.post(f"/api/3/action/{name}", json=payload, headers=p.auth(role))
    return run


def _page(method, url, form=None):
    """A request builder for a page, by the role's session (CSRF off, as the browser would send the token)."""
    def run(p, role, ds):
        c = p.client(role)
        target = url.format(**ds)
        if method == "GET":
            return c.get(target)
        return c.post(target, data={k: v.format(**ds) for k, v in (form or {}).items()})
    return run


# Actions and pages about one dataset; `fresh` ones change it, so each request gets its own new dataset.
DATASET_SURFACES = {
    "package_show": (_api("GET", "package_show", {"id": "{name}"}), False),
    "resource_show": (_api("GET", "resource_show", {"id": "{table}"}), False),
    "resource_view_list": (_api("GET", "resource_view_list", {"id": "{table}"}), False),
    "resource_view_show": (_api("GET", "resource_view_show", {"id": "{view}"}), False),
    "package_activity_list": (_api("GET", "package_activity_list", {"id": "{id}"}), False),
    "activity_show": (_api("GET", "activity_show", {"id": "{activity}"}), False),
    "datastore_search": (_api("GET", "datastore_search", {"resource_id": "{table}"}), False),
    "datastore_info": (_api("GET", "datastore_info", {"id": "{table}"}), False),
    "datastore_version_list": (_api("GET", "datastore_version_list", {"id": "{table}"}), False),
    "datastore_search_sql": (_api("GET", "datastore_search_sql", {"sql": 'SELECT * FROM "{table}"'}), False),
    "xloader_status": (_api("GET", "xloader_status", {"resource_id": "{file}"}), False),
    "comment_list": (_api("GET", "comment_list", {"package_id": "{id}"}), False),
    "package_update": (_api("POST", "package_update", {"id": "{id}", "name": "{name}", "title": "แก้ไข",
                                                        "owner_org": "org-a"}), True),
    "package_patch": (_api("POST", "package_patch", {"id": "{id}", "notes": "แก้ไข"}), True),
    "package_revise": (_api("POST", "package_revise", {"match__id": "{id}", "update__notes": "แก้ไข"}), True),
    "follow_dataset": (_api("POST", "follow_dataset", {"id": "{id}"}), True),
    "unfollow_dataset (after following it)": (_api_after("follow_dataset", "unfollow_dataset", {"id": "{id}"}), True),
    "am_following_dataset": (_api("GET", "am_following_dataset", {"id": "{id}"}), False),
    "dataset_follower_count": (_api("GET", "dataset_follower_count", {"id": "{id}"}), False),
    "dataset_follower_list": (_api("GET", "dataset_follower_list", {"id": "{id}"}), False),
    "package_collaborator_create": (_api("POST", "package_collaborator_create",
                                         {"id": "{id}", "user_id": "u-non-member", "capacity": "member"}), True),
    "package_collaborator_delete (after adding them)": (_api_after(
        "package_collaborator_create", "package_collaborator_delete",
        {"id": "{id}", "user_id": "u-non-member", "capacity": "member"}), True),
    "package_collaborator_list": (_api("GET", "package_collaborator_list", {"id": "{id}"}), False),
    "package_delete": (_api("POST", "package_delete", {"id": "{id}"}), True),
    "resource_create": (_api("POST", "resource_create", {"package_id": "{id}", "url": "https://example.go.th/a.csv",
                                                          "name": "new"}), True),
    "resource_update": (_api("POST", "resource_update", {"id": "{table}", "name": "renamed"}), True),
    "resource_patch": (_api("POST", "resource_patch", {"id": "{table}", "description": "x"}), True),
    "resource_delete": (_api("POST", "resource_delete", {"id": "{table}"}), True),
    "resource_view_create": (_api("POST", "resource_view_create", {"resource_id": "{table}", "view_type": "webpage_view",
                                                                    "title": "รายงาน", "page_url": "https://example.go.th/"}), True),
    "resource_view_update": (_api("POST", "resource_view_update", {"id": "{view}", "title": "ตาราง"}), True),
    "resource_view_reorder": (_api("POST", "resource_view_reorder", {"id": "{table}", "order": ["{view}"]}), True),
    "resource_view_delete": (_api("POST", "resource_view_delete", {"id": "{view}"}), True),
    "datastore_create": (_api("POST", "datastore_create", {"resource_id": "{table}", "force": True,
                                                            "records": [{"id": 3, "name": "ใหม่", "amount": 1}]}), True),
    "datastore_upsert": (_api("POST", "datastore_upsert", {"resource_id": "{table}", "force": True, "method": "upsert",
                                                            "records": [{"id": 1, "name": "แก้", "amount": 5}]}), True),
    "datastore_delete": (_api("POST", "datastore_delete", {"resource_id": "{table}", "force": True,
                                                            "filters": {"id": 1}}), True),
    "xloader_submit": (_api("POST", "xloader_submit", {"resource_id": "{file}"}), True),
    "comment_create": (_api("POST", "comment_create", {"package_id": "{id}", "body": "คำถาม", "author_name": "ประชาชน"}), True),
    "comment_moderate": (_api("POST", "comment_moderate", {"id": "{comment}", "state": "hidden"}), True),
    "member_create": (_api("POST", "member_create", {"id": "grp", "object": "{id}", "object_type": "package",
                                                      "capacity": "public"}), True),
    "member_delete": (_api("POST", "member_delete", {"id": "grp", "object": "{id}", "object_type": "package"}), True),
    "bulk_update_private": (_api("POST", "bulk_update_private", {"org_id": "org-a", "datasets": "{id}"}), True),
    "bulk_update_public": (_api("POST", "bulk_update_public", {"org_id": "org-a", "datasets": "{id}"}), True),
    "bulk_update_delete": (_api("POST", "bulk_update_delete", {"org_id": "org-a", "datasets": "{id}"}), True),
    "dataset_purge": (_api("POST", "dataset_purge", {"id": "{id}"}), True),
    "GET /dataset/<name>": (_page("GET", "/dataset/{name}"), False),
    "GET /dataset/<name>/resource/<res_id>": (_page("GET", "/dataset/{name}/resource/{table}"), False),
    "GET /dataset/<pkg_id>/resource/<res_id>/download": (_page("GET", "/dataset/{id}/resource/{file}/download"), False),
    "GET /dataset/<pkg_id>/resource/<res_id>/download/<path:filename>": (
        _page("GET", "/dataset/{id}/resource/{file}/download/{name}.csv"), False),
    "GET /datastore/dump/<resource_id>": (_page("GET", "/datastore/dump/{table}"), False),
    "GET /dataset/<name>.<any(jsonld, ttl, rdf):fmt>": (_page("GET", "/dataset/{name}.jsonld"), False),
    "GET /dataset/<name>/datapackage.json": (_page("GET", "/dataset/{name}/datapackage.json"), False),
    "GET /dataset/edit/<name>": (_page("GET", "/dataset/edit/{name}"), False),
    "POST /dataset/edit/<name>": (_page("POST", "/dataset/edit/{name}", {"title": "แก้ไขจากหน้าเว็บ"}), True),
    "GET /dataset/<name>/resource/new": (_page("GET", "/dataset/{name}/resource/new"), False),
    "POST /dataset/<name>/resource/new": (_page("POST", "/dataset/{name}/resource/new",
                                                {"name": "link", "url": "https://example.go.th/b.csv"}), True),
    "GET /dataset/<name>/resource/<res_id>/edit": (_page("GET", "/dataset/{name}/resource/{table}/edit"), False),
    "POST /dataset/<name>/resource/<res_id>/edit": (_page("POST", "/dataset/{name}/resource/{table}/edit",
                                                          {"name": "ตาราง", "description": "แก้จากหน้าเว็บ"}), True),
    "POST /dataset/<name>/resource/<res_id>/views": (_page("POST", "/dataset/{name}/resource/{table}/views", {
        "view_type": "webpage_view", "title": "รายงาน", "page_url": "https://example.go.th/"}), True),
    "POST /dataset/<name>/comment": (_page("POST", "/dataset/{name}/comment", {"body": "ขอข้อมูลเพิ่ม",
                                                                               "author_name": "ประชาชน"}), True),
    "POST /comment/<comment_id>/moderate": (_page("POST", "/comment/{comment}/moderate", {"state": "hidden"}), True),
    "POST /dataset/<name>/follow": (_page("POST", "/dataset/{name}/follow", {"follow": "1"}), True),
}


def outcome(response):
    """The table's word for a response: ok, login (sent to the login page), or the HTTP status."""
    if response.status_code in (301, 302, 303):
        return "login" if "/user/login" in response.headers.get("Location", "") else "redirect"
    if 200 <= response.status_code < 300:
        return "ok"
    return str(response.status_code)


def _portal(tmp_path_factory, spending=False):
    app, db, ctx = sysadmin_site(tmp_path_factory.mktemp("matrix"), sysadmin="u-sysadmin", WTF_CSRF_ENABLED=False)
    return Portal(app, db, ctx, spending=spending)


# Each test gets its own catalogue: the datasets made by one must not crowd the lists another reads.
@pytest.fixture
def portal(tmp_path_factory):
    return _portal(tmp_path_factory)


@pytest.fixture
def spending_portal(tmp_path_factory):
    return _portal(tmp_path_factory, spending=True)


def test_dataset_permissions_match_the_documented_table(portal):
    expected = read_table("Dataset actions and pages")
    assert set(k for k, _ in expected) == set(DATASET_SURFACES), "the table and the test name different surfaces"
    wrong, fresh_n = [], 0
    for (surface, state), cells in sorted(expected.items()):
        run, fresh = DATASET_SURFACES[surface]
        for role in ROLES:
            if fresh:
                fresh_n += 1
                ds = portal.make_dataset(state, f"f{fresh_n}-{state}")
            else:
                ds = portal.datasets[state]
            got = outcome(run(portal, role, ds))
            if got != cells[role]:
                wrong.append(f"{surface} | {state} | {role}: table says {cells[role]}, got {got}")
    assert not wrong, "\n".join(wrong)


def _api_text(name, data):
    def run(p, role):
        r = p.app.test_client().get(f"/api/3/action/{name}", query_string=data, headers=p.auth(role))
        assert r.status_code == 200, (name, role, r.get_data(as_text=True)[:300])
        return r.get_data(as_text=True)
    return run


def _page_text(url):
    def run(p, role):
        r = p.client(role).get(url)
        assert r.status_code == 200, (url, role, r.status_code)
        return r.get_data(as_text=True)
    return run


ALL_FLAGS = {"include_private": "true", "include_drafts": "true", "include_deleted": "true"}
# Places that list many datasets. A dataset is "listed" when its name (or, for facets, its tag) appears.
LISTINGS = {
    "package_search (asking for private, drafts and deleted)": (_api_text("package_search", {"rows": 100, **ALL_FLAGS}), "name"),
    "package_search facet counts": (_api_text("package_search", {"rows": 0, "facet.field": '["tags"]', **ALL_FLAGS}), "tag"),
    "package_search default": (_api_text("package_search", {"rows": 100}), "name"),
    "package_list": (_api_text("package_list", {}), "name"),
    "current_package_list_with_resources": (_api_text("current_package_list_with_resources", {"limit": 100}), "name"),
    "package_autocomplete": (_api_text("package_autocomplete", {"q": "perm"}), "name"),
    "tag_list": (_api_text("tag_list", {}), "tag"),
    "organization_show include_datasets": (_api_text("organization_show", {"id": "org-a", "include_datasets": "true"}), "name"),
    "group_show include_datasets": (_api_text("group_show", {"id": "grp", "include_datasets": "true"}), "name"),
    "group_package_show": (_api_text("group_package_show", {"id": "grp"}), "name"),
    "GET /": (_page_text("/"), "name"),
    "GET /dataset": (_page_text("/dataset?q=perm"), "name"),
    "GET /dataset facets": (_page_text("/dataset"), "tag"),
    "GET /organization/<name>": (_page_text("/organization/org-a"), "name"),
    "GET /group/<name>": (_page_text("/group/grp"), "name"),
    "GET /dashboard": (_page_text("/dashboard"), "name"),
    "GET /feeds/dataset.atom": (_page_text("/feeds/dataset.atom"), "name"),
    "GET /catalog.ttl": (_page_text("/catalog.ttl"), "name"),
    "GET /catalog.jsonld": (_page_text("/catalog.jsonld"), "name"),
    "GET /sitemap.xml": (_page_text("/sitemap.xml"), "name"),
    "GET /api/docs": (_page_text("/api/docs"), "name"),
}


def test_listings_show_each_dataset_only_to_the_roles_the_table_names(portal):
    expected = read_table("Lists, feeds and search")
    assert set(k for k, _ in expected) == set(LISTINGS), "the table and the test name different listings"
    wrong = []
    for (listing, state), cells in sorted(expected.items()):
        run, marker = LISTINGS[listing]
        needle = portal.datasets[state][marker]
        for role in ROLES:
            if role == "anonymous" and listing == "GET /dashboard":
                got = "login"
            else:
                text = run(portal, role)
                got = "listed" if re.search(rf"\b{re.escape(needle)}\b", text) else "hidden"
            if got != cells[role]:
                wrong.append(f"{listing} | {state} | {role}: table says {cells[role]}, got {got}")
    assert not wrong, "\n".join(wrong)


def _site_api(method, name, data=None, fresh=None, first=None):
    """A site-wide action; `fresh(p, n)` makes what a destructive call consumes and returns format values; the
    action `first` is called (as the same role, same data) before it."""
    def run(p, role, n):
        values = {"me": p.users.get(role, {}).get("name", ""), "n": n, **(fresh(p, n) if fresh else {})}
        payload = {k: (v.format(**values) if isinstance(v, str) else v) for k, v in (data or {}).items()}
        c = p.app.test_client()
        if first:
            c.post(f"/api/3/action/{first}", json=payload, headers=p.auth(role))
        if method == "GET":
            return c.get(f"/api/3/action/{name}", query_string=payload, headers=p.auth(role))
        return c.post(f"/api/3/action/{name}", json=payload, headers=p.auth(role))
    return run


def _site_page(method, url, form=None, fresh=None):
    def run(p, role, n):
        values = {"me": p.users.get(role, {}).get("name", "nobody"), "n": n, "org_a": p.org["id"], "project": p.project, **(fresh(p, n) if fresh else {})}
        c = p.client(role)
        if method == "GET":
            return c.get(url.format(**values))
        return c.post(url.format(**values), data={k: v.format(**values) for k, v in (form or {}).items()})
    return run


def _new_org(p, n):
    return {"org": p.call_as_sysadmin("organization_create", {"name": f"tmp-org-{n}"})["name"]}


def _new_group(p, n):
    return {"group": p.call_as_sysadmin("group_create", {"name": f"tmp-grp-{n}"})["name"]}


def _new_member(p, n):
    name = f"tmp-user-{n}"
    create_user(p.db, name, email=f"{name}@example.go.th", password="password-123")
    p.call_as_sysadmin("organization_member_create", {"id": "org-a", "username": name, "role": "member"})
    return {"user": name}


def _editor_token(p, n):
    p.call_as_sysadmin("api_token_create", {"user": "u-editor", "name": f"t{n}"})
    return {"jti": p.call_as_sysadmin("api_token_list", {"user": "u-editor"})[-1]["id"]}


def _harvest_source(p, n):
    name = f"hs-{n}"
    p.call_as_sysadmin("harvest_source_create", {"name": name, "url": "http://127.0.0.1:9/", "source_type": "ckan"})
    return {"source": name}


def _spare_user(p, n):
    name = f"spare-{n}"
    create_user(p.db, name, email=f"{name}@example.go.th", password="password-123")
    return {"spare": name}


def _vocabulary(p, n):
    return {"vocab": p.call_as_sysadmin("vocabulary_create", {"name": f"vocab-{n}", "tags": [{"name": "กข"}]})["id"]}


def _datarequest(p, n):
    return {"request": p.call_as_sysadmin("datarequest_create", {"title": f"ขอข้อมูล {n}", "description": "รายละเอียด",
                                                                 "organization_id": p.org["id"]})["id"]}


SITE_SURFACES = {
    "package_search": _site_api("GET", "package_search"),
    "package_list": _site_api("GET", "package_list"),
    "current_package_list_with_resources": _site_api("GET", "current_package_list_with_resources"),
    "package_autocomplete": _site_api("GET", "package_autocomplete", {"q": "perm"}),
    "organization_list": _site_api("GET", "organization_list"),
    "organization_show": _site_api("GET", "organization_show", {"id": "org-a"}),
    "organization_list_for_user": _site_api("GET", "organization_list_for_user"),
    "group_list": _site_api("GET", "group_list"),
    "group_show": _site_api("GET", "group_show", {"id": "grp"}),
    "group_package_show": _site_api("GET", "group_package_show", {"id": "grp"}),
    "tag_list": _site_api("GET", "tag_list"),
    "license_list": _site_api("GET", "license_list"),
    "status_show": _site_api("GET", "status_show"),
    "site_read": _site_api("GET", "site_read"),
    "help_show": _site_api("GET", "help_show", {"name": "package_search"}),
    "user_show": _site_api("GET", "user_show", {"id": "u-editor"}),
    "user_list": _site_api("GET", "user_list"),
    "member_list": _site_api("GET", "member_list", {"id": "org-a", "object_type": "user"}),
    "group_list_authz": _site_api("GET", "group_list_authz"),
    "resource_search": _site_api("GET", "resource_search", {"query": "format:csv"}),
    "user_update (own)": _site_api("POST", "user_update", {"id": "{me}", "fullname": "ชื่อใหม่"}),
    "user_update (another user's)": _site_api("POST", "user_update", {"id": "u-editor", "fullname": "x"}),
    "user_delete": _site_api("POST", "user_delete", {"id": "{spare}"}, fresh=_spare_user),
    "group_purge": _site_api("POST", "group_purge", {"id": "{group}"}, fresh=_new_group),
    "organization_purge": _site_api("POST", "organization_purge", {"id": "{org}"}, fresh=_new_org),
    "recently_changed_packages_activity_list": _site_api("GET", "recently_changed_packages_activity_list"),
    "harvest_source_create": _site_api("POST", "harvest_source_create", {"name": "src-{n}", "url": "http://127.0.0.1:9/"}),
    "harvest_source_show": _site_api("GET", "harvest_source_show", {"id": "{source}"}, fresh=_harvest_source),
    "harvest_source_list": _site_api("GET", "harvest_source_list"),
    "harvest_source_update": _site_api("POST", "harvest_source_update", {"id": "{source}", "every": "1d"},
                                       fresh=_harvest_source),
    "harvest_source_delete": _site_api("POST", "harvest_source_delete", {"id": "{source}"}, fresh=_harvest_source),
    "harvest_run": _site_api("POST", "harvest_run", {"id": "{source}"}, fresh=_harvest_source),
    "harvest_job_list": _site_api("GET", "harvest_job_list", {"id": "{source}"}, fresh=_harvest_source),
    "GET /harvest": _site_page("GET", "/harvest"),
    "GET /harvest/<name>": _site_page("GET", "/harvest/{source}", fresh=_harvest_source),
    "api_token_list (own)": _site_api("GET", "api_token_list", {"user": "{me}"}),
    "api_token_list (another user's)": _site_api("GET", "api_token_list", {"user": "u-editor"}),
    "api_token_create (own)": _site_api("POST", "api_token_create", {"user": "{me}", "name": "script"}),
    "api_token_create (another user's)": _site_api("POST", "api_token_create", {"user": "u-editor", "name": "x"}),
    "api_token_revoke (another user's)": _site_api("POST", "api_token_revoke", {"jti": "{jti}"}, _editor_token),
    "user_create": _site_api("POST", "user_create", {"name": "new-user-{n}", "email": "n{n}@example.go.th",
                                                     "password": "password-123"}),
    "package_create (in org-a)": _site_api("POST", "package_create", {"name": "new-ds-{n}", "owner_org": "org-a"}),
    "organization_create": _site_api("POST", "organization_create", {"name": "new-org-{n}"}),
    "organization_update": _site_api("POST", "organization_update", {"id": "org-a", "title": "หน่วยงาน ก"}),
    "organization_patch": _site_api("POST", "organization_patch", {"id": "org-a", "description": "แก้"}),
    "organization_delete": _site_api("POST", "organization_delete", {"id": "{org}"}, _new_org),
    "organization_member_create": _site_api("POST", "organization_member_create",
                                            {"id": "org-a", "username": "{user}", "role": "editor"}, _new_member),
    "organization_member_delete": _site_api("POST", "organization_member_delete",
                                            {"id": "org-a", "username": "{user}"}, _new_member),
    "group_create": _site_api("POST", "group_create", {"name": "new-grp-{n}"}),
    "group_update": _site_api("POST", "group_update", {"id": "grp", "title": "กลุ่มงบประมาณ"}),
    "group_patch": _site_api("POST", "group_patch", {"id": "grp", "description": "แก้"}),
    "group_delete": _site_api("POST", "group_delete", {"id": "{group}"}, _new_group),
    "datarequest_create": _site_api("POST", "datarequest_create", {"title": "ขอข้อมูล", "description": "x",
                                                                   "requester_name": "ประชาชน"}),
    "datarequest_index": _site_api("GET", "datarequest_index"),
    "datarequest_show": _site_api("GET", "datarequest_show", {"id": "{request}"}, _datarequest),
    "datarequest_answer": _site_api("POST", "datarequest_answer", {"id": "{request}", "status": "answered",
                                                                   "answer": "กำลังจัดทำ"}, _datarequest),
    "GET /": _site_page("GET", "/"),
    "GET /dataset": _site_page("GET", "/dataset"),
    "GET /organization": _site_page("GET", "/organization"),
    "GET /organization/<name>": _site_page("GET", "/organization/org-a"),
    "GET /group": _site_page("GET", "/group"),
    "GET /group/<name>": _site_page("GET", "/group/grp"),
    "GET /api": _site_page("GET", "/api"),
    "GET /api/<int:ver>": _site_page("GET", "/api/3"),
    "GET /api/docs": _site_page("GET", "/api/docs"),
    "GET /api/3/openapi.json": _site_page("GET", "/api/3/openapi.json"),
    "GET /datarequest": _site_page("GET", "/datarequest"),
    "GET /datarequest/new": _site_page("GET", "/datarequest/new"),
    "POST /datarequest/new": _site_page("POST", "/datarequest/new", {"title": "ขอข้อมูล {n}", "description": "x",
                                                                      "requester_name": "ประชาชน"}),
    "GET /datarequest/<request_id>": _site_page("GET", "/datarequest/{request}", fresh=_datarequest),
    "POST /datarequest/<request_id>": _site_page("POST", "/datarequest/{request}",
                                                 {"status": "answered", "answer": "กำลังจัดทำ"}, _datarequest),
    "GET /feeds/dataset.atom": _site_page("GET", "/feeds/dataset.atom"),
    "GET /catalog.<any(jsonld, ttl, rdf, xml):fmt>": _site_page("GET", "/catalog.ttl"),
    "GET /sitemap.xml": _site_page("GET", "/sitemap.xml"),
    "GET /healthz": _site_page("GET", "/healthz"),
    "follow_group": _site_api("POST", "follow_group", {"id": "{group}"}, fresh=_new_group),
    "unfollow_group (after following it)": _site_api("POST", "unfollow_group", {"id": "{group}"}, fresh=_new_group,
                                                     first="follow_group"),
    "am_following_group": _site_api("GET", "am_following_group", {"id": "grp"}),
    "group_follower_count": _site_api("GET", "group_follower_count", {"id": "org-a"}),
    "group_follower_list": _site_api("GET", "group_follower_list", {"id": "grp"}),
    "follow_user": _site_api("POST", "follow_user", {"id": "{spare}"}, fresh=_spare_user),
    "unfollow_user (after following them)": _site_api("POST", "unfollow_user", {"id": "{spare}"}, fresh=_spare_user,
                                                      first="follow_user"),
    "am_following_user": _site_api("GET", "am_following_user", {"id": "u-editor"}),
    "user_follower_count": _site_api("GET", "user_follower_count", {"id": "u-editor"}),
    "user_follower_list": _site_api("GET", "user_follower_list", {"id": "u-editor"}),
    "followee_list": _site_api("GET", "followee_list"),
    "dashboard_activity_list": _site_api("GET", "dashboard_activity_list"),
    "vocabulary_create": _site_api("POST", "vocabulary_create", {"name": "new-vocab-{n}", "tags": [{"name": "ขค"}]}),
    "vocabulary_update": _site_api("POST", "vocabulary_update", {"id": "{vocab}", "tags": [{"name": "กข"}, {"name": "คง"}]},
                                   fresh=_vocabulary),
    "vocabulary_delete": _site_api("POST", "vocabulary_delete", {"id": "{vocab}"}, fresh=_vocabulary),
    "vocabulary_list": _site_api("GET", "vocabulary_list"),
    "vocabulary_show": _site_api("GET", "vocabulary_show", {"id": "{vocab}"}, fresh=_vocabulary),
    "tag_show": _site_api("GET", "tag_show", {"id": "กข", "vocabulary_id": "{vocab}"}, fresh=_vocabulary),
    "package_collaborator_list_for_user": _site_api("GET", "package_collaborator_list_for_user", {"id": "{me}"}),
    "GET /metrics": _site_page("GET", "/metrics"),
    "GET /sitemap-<int:part>.xml": _site_page("GET", "/sitemap-0.xml"),
    "GET /robots.txt": _site_page("GET", "/robots.txt"),
    "GET /user/login": _site_page("GET", "/user/login"),
    "POST /user/login": _site_page("POST", "/user/login", {"login": "u-editor", "password": "password-123"}),
    "POST /user/logout": _site_page("POST", "/user/logout"),
    "POST /user/logout-everywhere": _site_page("POST", "/user/logout-everywhere"),
    "GET /dashboard": _site_page("GET", "/dashboard"),
    "GET /dataset/new": _site_page("GET", "/dataset/new"),
    "POST /dataset/new": _site_page("POST", "/dataset/new", {"title": "ชุดใหม่ {n}", "name": "page-ds-{n}",
                                                              "owner_org": "{org_a}"}),
    "GET /user/register": _site_page("GET", "/user/register"),
    "POST /user/register": _site_page("POST", "/user/register", {"name": "new-{n}", "email": "new-{n}@example.go.th",
                                                                  "password": "password-123", "password2": "password-123"}),
    "GET /user/verify/<token>": _site_page("GET", "/user/verify/not-a-token"),
    "GET /user/email/<token>": _site_page("GET", "/user/email/not-a-token"),
    "GET /user/reset": _site_page("GET", "/user/reset"),
    "POST /user/reset": _site_page("POST", "/user/reset", {"login": "u-editor"}),
    "GET /user/reset/<token>": _site_page("GET", "/user/reset/not-a-token"),
    "POST /user/reset/<token>": _site_page("POST", "/user/reset/not-a-token", {"password": "password-456",
                                                                                "password2": "password-456"}),
    "GET /user/edit/<name> (own)": _site_page("GET", "/user/edit/{me}"),
    "GET /user/edit/<name> (another user's)": _site_page("GET", "/user/edit/u-editor"),
    "POST /user/edit/<name> (another user's)": _site_page("POST", "/user/edit/u-editor", {"fullname": "ชื่อใหม่"}),
    "GET /user/<name>/api-tokens (own)": _site_page("GET", "/user/{me}/api-tokens"),
    "GET /user/<name>/api-tokens (another user's)": _site_page("GET", "/user/u-editor/api-tokens"),
    "POST /user/<name>/api-tokens (another user's)": _site_page("POST", "/user/u-editor/api-tokens",
                                                                {"token_name": "x"}),
    "GET /organization/members/<name>": _site_page("GET", "/organization/members/org-a"),
    "POST /organization/members/<name>": _site_page("POST", "/organization/members/org-a",
                                                    {"username": "{user}", "role": "member"}, _new_member),
    "GET /spending": _site_page("GET", "/spending"),
    "GET /spending/budget": _site_page("GET", "/spending/budget"),
    "GET /spending/procurement": _site_page("GET", "/spending/procurement"),
    "GET /spending/map": _site_page("GET", "/spending/map"),
    "GET /spending/methodology": _site_page("GET", "/spending/methodology"),
    "GET /spending/tax": _site_page("GET", "/spending/tax?income=600000"),
    "GET /api/3/spending/tax-receipt": _site_page("GET", "/api/3/spending/tax-receipt?income=600000"),
    "GET /spending/project/<project_id>": _site_page("GET", "/spending/project/{project}"),
    "GET /spending/agency/<int:agency_id>": _site_page("GET", "/spending/agency/1"),
    "GET /spending/contractor/<int:contractor_id>": _site_page("GET", "/spending/contractor/1"),
    "GET /spending/province/<int:province_id>": _site_page("GET", "/spending/province/10"),
    "GET /api/3/cubes": _site_page("GET", "/api/3/cubes"),
    "GET /api/3/cubes/<name>/model": _site_page("GET", "/api/3/cubes/budget/model"),
    "GET /api/3/cubes/<name>/aggregate": _site_page("GET", "/api/3/cubes/budget/aggregate"),
    "GET /api/3/cubes/<name>/aggregate.<any(csv, json):suffix>": _site_page("GET", "/api/3/cubes/budget/aggregate.csv"),
    "GET /api/3/cubes/<name>/facts": _site_page("GET", "/api/3/cubes/budget/facts"),
    "GET /api/3/cubes/<name>/facts.<any(csv, json):suffix>": _site_page("GET", "/api/3/cubes/budget/facts.csv"),
    "GET /api/3/cubes/<name>/members/<dimension>": _site_page("GET", "/api/3/cubes/budget/members/ministry"),
    "GET /api/3/cubes/<name>/datapackage.json": _site_page("GET", "/api/3/cubes/budget/datapackage.json"),
    "GET /api/3/cubes/<name>/data.csv": _site_page("GET", "/api/3/cubes/budget/data.csv"),
    "GET /api/ocds/releases": _site_page("GET", "/api/ocds/releases"),
    "GET /api/ocds/release/<project_id>": _site_page("GET", "/api/ocds/release/{project}"),
    "GET /static/vendor/plotly.min.js": _site_page("GET", "/static/vendor/plotly.min.js"),
    "GET /static/<path:filename>": _site_page("GET", "/static/site.css"),
}


def test_site_wide_permissions_match_the_documented_table(spending_portal):
    portal = spending_portal
    expected = read_table("Site-wide actions and pages")
    assert set(k for k, _ in expected) == set(SITE_SURFACES), "the table and the test name different surfaces"
    wrong, n = [], 0
    for (surface, _), cells in sorted(expected.items()):
        for role in ROLES:
            n += 1
            got = outcome(SITE_SURFACES[surface](portal, role, n))
            if got != cells[role]:
                wrong.append(f"{surface} | {role}: table says {cells[role]}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_the_table_covers_every_action_and_every_route(portal):
    documented = " ".join(k for h in ("Dataset actions and pages", "Lists, feeds and search", "Site-wide actions and pages")
                          for k, _ in read_table(h))
    missing = [a for a in actions.ACTIONS if not re.search(rf"(^|\s){a}(\s|$)", documented)]
    for rule in portal.app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith("/api/") and "/action/" in rule.rule:
                continue   # the actions themselves are rows
            if f"{method} {rule.rule}" not in documented:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"not in {DOC.name}: {missing}"


def test_counts_give_away_no_more_than_the_lists_do(portal):
    """Facet counts and organization counts equal what the role may list: a private dataset is not even a number."""
    listed = read_table("Lists, feeds and search")
    for role in ROLES:
        c = portal.app.test_client()
        seen = sum(listed[("package_search (asking for private, drafts and deleted)", s)][role] == "listed"
                   for s in STATES)
        facets = c.get("/api/3/action/package_search", headers=portal.auth(role), query_string={
            "rows": 0, "facet.field": '["organization"]', **ALL_FLAGS}).get_json()["result"]["search_facets"]
        items = {i["name"]: i["count"] for i in facets["organization"]["items"]}
        assert items.get("org-a", 0) == seen, (role, items)
        public = sum(listed[("package_search default", s)][role] == "listed" for s in STATES)
        shown = c.get("/api/3/action/organization_show", headers=portal.auth(role),
                      query_string={"id": "org-a"}).get_json()["result"]["package_count"]
        member_extra = sum(listed[("GET /organization/<name>", s)][role] == "listed" for s in STATES) - public
        assert shown in (public, public + member_extra), (role, shown)
