"""A real `khlang serve` driven by ckanapi.RemoteCKAN and raw HTTP, as CKAN clients do."""
import hashlib
import io
import json

import ckanapi
import pytest
import requests

from conftest import assert_ckan_error, query

GDC = {
    "data_type": "ข้อมูลสถิติ", "objective": ["พันธกิจหน่วยงาน"], "update_frequency_unit": "ปี",
    "update_frequency_interval": "1", "geo_coverage": "ประเทศ", "data_source": "สำนักงบประมาณ",
    "data_format": ["CSV"], "data_category": "ข้อมูลสาธารณะ", "data_classification": "เปิดเผย",
    "first_year_of_data": "2563", "data_language": ["ไทย"],
}


@pytest.fixture(scope="module")
def site(server):
    """Two organizations, an editor and a member in the first, an editor in the second, some datasets."""
    admin = server.admin()
    admin.action.organization_create(name="bb", title="สำนักงบประมาณ")
    admin.action.organization_create(name="cgd", title="กรมบัญชีกลาง")
    admin.action.group_create(name="category04", title="ด้านเศรษฐกิจ")
    tokens = {n: server.user_with_token(n) for n in ("editor", "member", "other")}
    admin.action.organization_member_create(id="bb", username="editor", role="editor")
    admin.action.organization_member_create(id="bb", username="member", role="member")
    admin.action.organization_member_create(id="cgd", username="other", role="editor")
    editor = server.ckan(tokens["editor"])
    editor.action.package_create(name="budget-2565", title="งบประมาณรายจ่ายประจำปี 2565", owner_org="bb",
                                 notes="ข้อมูลงบประมาณจำแนกตามกระทรวง", tags=[{"name": "งบประมาณ"}],
                                 groups=[{"name": "category04"}], license_id="Open Data Common", **GDC)
    editor.action.package_create(name="budget-draft-notes", title="บันทึกภายในสำนักงบประมาณ", owner_org="bb",
                                 private=True, tags=[{"name": "ภายใน"}])
    return {"tokens": tokens, "editor": editor}


def test_package_show_returns_ckan_shape_with_gdc_fields_top_level(server, site):
    pkg = server.ckan().action.package_show(id="budget-2565")
    for key in ("id", "name", "title", "notes", "owner_org", "organization", "resources", "tags", "groups",
                "extras", "metadata_created", "metadata_modified", "license_id", "license_title", "private", "state"):
        assert key in pkg
    assert pkg["data_category"] == "ข้อมูลสาธารณะ"
    assert pkg["objective"] == ["พันธกิจหน่วยงาน"]
    assert pkg["organization"]["name"] == "bb"
    assert pkg["groups"][0]["name"] == "category04"
    assert pkg["metadata_quality"]["score"] > 0


def test_a_choice_outside_the_gdc_list_is_a_409_field_error(server, site):
    with pytest.raises(ckanapi.ValidationError) as err:
        site["editor"].action.package_create(name="bad-choice", owner_org="bb", data_category="ข้อมูลลับสุดยอด")
    assert "data_category" in err.value.error_dict
    with pytest.raises(ckanapi.NotFound):
        server.admin().action.package_show(id="bad-choice")  # nothing partial was written


@pytest.mark.parametrize("name, message", [
    ("x", "Must be at least 2 characters long"),
    ("Has Spaces", "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"),
    ("a" * 101, "Name must be a maximum of 100 characters long"),
    ("budget-2565", "That URL is already in use."),
])
def test_invalid_or_duplicate_names_are_rejected_with_ckan_messages(server, site, name, message):
    with pytest.raises(ckanapi.ValidationError) as err:
        site["editor"].action.package_create(name=name, owner_org="bb")
    assert message in err.value.error_dict["name"]


def test_thai_search_facets_and_paging_through_ckanapi(server, site):
    anon = server.ckan()
    res = anon.action.package_search(q="งบประมาณ", **{"facet.field": ["organization", "tags", "data_category"]})
    assert [p["name"] for p in res["results"]] == ["budget-2565"]
    assert res["facets"]["data_category"] == {"ข้อมูลสาธารณะ": 1}
    assert res["search_facets"]["organization"]["items"][0]["display_name"] == "สำนักงบประมาณ"
    assert anon.action.package_search(fq="tags:งบประมาณ", sort="name asc", rows=1, start=0)["count"] == 1


def test_editor_writes_only_to_their_own_organization(server, site):
    other = server.ckan(site["tokens"]["other"])
    with pytest.raises(ckanapi.NotAuthorized):
        other.action.package_patch(id="budget-2565", title="hijacked")
    with pytest.raises(ckanapi.NotAuthorized):
        other.action.package_create(name="into-bb", owner_org="bb")
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan(site["tokens"]["member"]).action.package_create(name="member-made", owner_org="bb")
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan().action.package_create(name="anon-made", owner_org="bb")
    assert server.ckan().action.package_show(id="budget-2565")["title"] == "งบประมาณรายจ่ายประจำปี 2565"


def test_private_dataset_is_invisible_outside_its_organization(server, site):
    for client in (server.ckan(), server.ckan(site["tokens"]["other"])):
        with pytest.raises((ckanapi.NotFound, ckanapi.NotAuthorized)):
            client.action.package_show(id="budget-draft-notes")
        assert client.action.package_search(q="บันทึกภายใน", include_private=True)["count"] == 0
        facets = client.action.package_search(**{"facet.field": ["tags"]}, include_private=True)["facets"]["tags"]
        assert "ภายใน" not in facets
        with pytest.raises((ckanapi.NotFound, ckanapi.NotAuthorized)):
            client.action.package_activity_list(id="budget-draft-notes")
    assert "budget-draft-notes" not in server.ckan().action.package_list()
    member = server.ckan(site["tokens"]["member"])
    assert member.action.package_show(id="budget-draft-notes")["private"] is True
    assert member.action.package_search(q="บันทึกภายใน", include_private=True)["count"] == 1


def test_upload_is_stored_by_sha256_and_served_at_the_ckan_download_url(server, site):
    body = "ปี,งบประมาณ\n2565,1000.50\n".encode("utf-8")
    res = site["editor"].action.resource_create(package_id="budget-2565", name="งบ 2565",
                                                upload=("budget.csv", io.BytesIO(body)))
    assert res["url_type"] == "upload" and res["size"] == len(body) and res["format"] == "CSV"
    assert res["url"] == f"{server.url}/dataset/{res['package_id']}/resource/{res['id']}/download/budget.csv"
    got = requests.get(res["url"])
    assert got.status_code == 200 and got.content == body
    assert res["hash"] == hashlib.sha256(body).hexdigest()


def test_private_uploads_are_not_downloadable_by_outsiders(server, site):
    member = server.ckan(site["tokens"]["editor"])
    res = member.action.resource_create(package_id="budget-draft-notes", name="secret",
                                        upload=("secret.csv", io.BytesIO(b"a,b\n1,2\n")))
    assert requests.get(res["url"]).status_code == 404
    other = requests.get(res["url"], headers={"Authorization": site["tokens"]["other"]})
    assert other.status_code == 404
    mine = requests.get(res["url"], headers={"Authorization": site["tokens"]["member"]})
    assert mine.status_code == 200 and mine.content == b"a,b\n1,2\n"


def test_activity_log_records_who_changed_what(server, site):
    site["editor"].action.package_patch(id="budget-2565", notes="ข้อมูลงบประมาณ ปรับปรุงแล้ว")
    acts = server.ckan().action.package_activity_list(id="budget-2565")
    assert acts[0]["activity_type"] == "changed package"
    assert acts[-1]["activity_type"] == "new package"
    assert acts[0]["data"]["package"]["notes"] == "ข้อมูลงบประมาณ ปรับปรุงแล้ว"


def test_error_envelope_types_and_statuses(server, site):
    url = f"{server.url}/api/3/action/"
    assert_ckan_error(requests.get(url + "package_show", params={"id": "no-such"}), 404, "Not Found Error")
    r = requests.post(url + "package_create", json={"name": "zz"}, headers={"Authorization": server.admin_token})
    assert assert_ckan_error(r, 409, "Validation Error") == {"owner_org": ["An organization must be provided"],
                                                             "__type": "Validation Error"}
    r = requests.post(url + "package_update", json={"id": "budget-2565"}, headers={"Authorization": site["tokens"]["other"]})
    assert_ckan_error(r, 403, "Authorization Error")
    assert_ckan_error(requests.get(url + "package_search", params={"q": "x", "foo": "1"}), 400, "Search Query Error")
    assert_ckan_error(requests.get(url + "package_search", params={"sort": "metadata_modified"}), 409, "Search Error")
    r = requests.post(url + "package_create", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json().startswith("Bad request - JSON Error")
    r = requests.post(url + "package_create", data=b"[1,2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "needs to be a dictionary" in r.json()
    assert requests.get(url + "no_such_action").json() == "Bad request - Action name not known: no_such_action"
    assert requests.get(url + "package_create").status_code == 400


def test_get_strings_jsonp_form_posts_and_version_answers(server, site):
    assert requests.get(f"{server.url}/api/3").json() == {"version": 3}
    assert requests.get(f"{server.url}/api").json() == {"version": 1}
    r = requests.get(f"{server.url}/api/3/action/package_search", params={"rows": "1", "callback": "cb"})
    assert r.headers["Content-Type"].startswith("application/javascript") and r.text.startswith("cb(")
    r = requests.post(f"{server.url}/api/action/package_patch", data={"id": "budget-2565", "version": "2"},
                      headers={"X-CKAN-API-Key": site["tokens"]["editor"]})
    assert r.json()["result"]["version"] == "2"
    # rows above the maximum are clamped, not refused
    assert requests.get(f"{server.url}/api/3/action/package_search", params={"rows": "5000"}).json()["success"]


def test_tokens_are_stored_hashed_and_bearer_prefix_is_not_accepted(server, site):
    rows = query(server.db, "SELECT token_hash FROM api_tokens")
    assert site["tokens"]["editor"] not in {r[0] for r in rows}
    r = requests.post(f"{server.url}/api/action/package_patch", json={"id": "budget-2565", "version": "3"},
                      headers={"Authorization": "Bearer " + site["tokens"]["editor"]})
    assert r.status_code == 403


def test_api_token_create_for_self_and_user_create_by_sysadmin(server, site):
    admin = server.admin()
    user = admin.action.user_create(name="newbie", email="n@example.go.th", password="password-123")
    assert user["name"] == "newbie" and "password_hash" not in user
    token = admin.action.api_token_create(user="newbie", name="script")["token"]
    assert server.ckan(token).action.user_show()["name"] == "newbie"
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan(token).action.api_token_create(user="admin", name="steal")
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan(token).action.user_create(name="another", email="a@b.co", password="password-123")


def test_organization_and_group_reads(server, site):
    anon = server.ckan()
    orgs = anon.action.organization_list(all_fields=True)
    bb = next(o for o in orgs if o["name"] == "bb")
    assert bb["package_count"] == 1  # the private one is not counted for anonymous
    assert anon.action.organization_show(id="bb")["title"] == "สำนักงบประมาณ"
    assert anon.action.group_list() == ["category04"]
    with pytest.raises(ckanapi.NotFound):
        anon.action.group_show(id="bb")  # an organization is not a group
    assert "งบประมาณ" in anon.action.tag_list()
    assert any(lic["id"] == "Open Data Common" for lic in anon.action.license_list())
    assert anon.action.site_read() is True
    assert "Thai" in anon.action.help_show(name="package_search")


def test_package_update_without_resources_keeps_ckan_semantics_and_patch_is_partial(server, site):
    ed = site["editor"]
    pkg = ed.action.package_create(name="upd-test", owner_org="bb", resources=[{"name": "r1", "url": "http://x/1.csv"}])
    assert pkg["num_resources"] == 1
    patched = ed.action.package_patch(id="upd-test", title="ชื่อใหม่")
    assert patched["num_resources"] == 1 and patched["title"] == "ชื่อใหม่"
    full = dict(patched, notes="ใหม่")
    full["resources"] = patched["resources"] + [{"name": "r2", "url": "http://x/2.json"}]
    updated = ed.action.package_update(**full)
    assert [r["name"] for r in updated["resources"]] == ["r1", "r2"]
    assert updated["resources"][0]["id"] == patched["resources"][0]["id"]
    assert updated["resources"][1]["format"] == "JSON"
    ed.action.package_delete(id="upd-test")
    with pytest.raises(ckanapi.NotFound):
        server.ckan().action.package_show(id="upd-test")
    assert json.dumps(server.ckan().action.package_search(q="ชื่อใหม่")["results"]) == "[]"


def test_a_sysadmins_dataset_with_an_unknown_group_is_created_without_it_as_ckan_does(server, site):
    admin = server.admin()
    pkg = admin.action.package_create(name="from-another-portal", owner_org="bb",
                                      groups=[{"name": "no-such-group"}, {"name": "category04"}])
    assert [g["name"] for g in pkg["groups"]] == ["category04"]
    with pytest.raises(ckanapi.ValidationError) as exc:
        site["editor"].action.package_create(name="editor-unknown-group", owner_org="bb",
                                             groups=[{"name": "no-such-group"}])
    assert exc.value.error_dict["groups"] == ["Group was not found."]


def test_member_list_group_list_authz_and_bulk_privacy_changes(server, site):
    anon, editor = server.ckan(), site["editor"]
    users = anon.action.member_list(id="bb", object_type="user")
    assert {tuple(u[1:]) for u in users} == {("user", "admin"), ("user", "editor"), ("user", "member")}
    public = {m[0] for m in anon.action.member_list(id="bb", object_type="package")}
    everything = {m[0] for m in editor.action.member_list(id="bb", object_type="package")}
    assert public < everything          # the private dataset is listed for members only
    assert [g["name"] for g in server.admin().action.group_list_authz()] == ["category04"]
    assert editor.action.group_list_authz() == []
    pkg = editor.action.package_create(name="bulk-one", owner_org="bb")
    editor.action.bulk_update_private(org_id="bb", datasets=[pkg["id"]])
    assert editor.action.package_show(id="bulk-one")["private"] is True
    with pytest.raises(ckanapi.NotAuthorized):   # private now: anonymous callers get CKAN's 403
        anon.action.package_show(id="bulk-one")
    editor.action.bulk_update_public(org_id="bb", datasets=[pkg["id"]])
    assert anon.action.package_show(id="bulk-one")["private"] is False
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan(site["tokens"]["other"]).action.bulk_update_delete(org_id="bb", datasets=[pkg["id"]])
    editor.action.bulk_update_delete(org_id="bb", datasets=[pkg["id"]])
    assert "bulk-one" not in anon.action.package_list()


def test_facet_sort_and_the_recent_changes_feed_of_public_datasets(server, site):
    anon = server.ckan()
    by_count = anon.action.package_search(**{"facet.field": '["organization"]', "facet.sort": "count"})
    by_name = anon.action.package_search(**{"facet.field": '["organization"]', "facet.sort": "index"})
    names = [i["name"] for i in by_name["search_facets"]["organization"]["items"]]
    assert names == sorted(names) and sorted(names) == sorted(i["name"] for i in
                                                             by_count["search_facets"]["organization"]["items"])
    with pytest.raises(ckanapi.errors.CKANAPIError):
        anon.action.package_search(**{"facet.sort": "sideways"})
    feed = anon.action.recently_changed_packages_activity_list(limit=50)
    private_id = server.admin().action.package_show(id="budget-draft-notes")["id"]
    assert feed and private_id not in {a["object_id"] for a in feed}
    assert [a["timestamp"] for a in feed] == sorted((a["timestamp"] for a in feed), reverse=True)


def test_users_change_their_own_account_and_sysadmins_close_accounts(server, site):
    token = server.user_with_token("renamer")
    me = server.ckan(token)
    assert me.action.user_update(id="renamer", fullname="ผู้ใช้ทดสอบ", about="เกี่ยวกับ")["fullname"] == "ผู้ใช้ทดสอบ"
    with pytest.raises(ckanapi.ValidationError) as exc:
        me.action.user_update(id="renamer", password="new-password-1", old_password="wrong")
    assert "old_password" in exc.value.error_dict
    me.action.user_update(id="renamer", password="new-password-1", old_password="password-123")
    with pytest.raises(ckanapi.NotAuthorized):
        me.action.user_update(id="editor", fullname="ไม่ใช่ของฉัน")
    with pytest.raises(ckanapi.ValidationError):
        me.action.user_update(id="renamer", email="not-an-email")
    with pytest.raises(ckanapi.NotAuthorized):
        me.action.user_delete(id="renamer")
    server.admin().action.user_delete(id="renamer")
    with pytest.raises(ckanapi.NotFound):
        server.admin().action.user_show(id="renamer")
    assert requests.get(f"{server.url}/api/3/action/api_token_list", headers={"Authorization": token},
                        timeout=30).status_code == 403   # its tokens went with it


def test_resource_search_finds_resources_by_field_and_never_those_of_private_datasets(server, site):
    editor, anon = site["editor"], server.ckan()
    editor.action.resource_create(package_id="budget-2565", name="ตารางงบประมาณ_2565", format="CSV",
                                  url="https://example.go.th/budget_2565.csv")
    editor.action.resource_create(package_id="budget-draft-notes", name="บันทึกลับ", format="CSV",
                                  url="https://example.go.th/secret.csv")
    got = anon.action.resource_search(query=["name:งบประมาณ_2565", "format:csv"])
    assert got["count"] == 1 and got["results"][0]["url"].endswith("budget_2565.csv")
    assert anon.action.resource_search(query="name:บันทึกลับ")["count"] == 0          # private dataset
    assert editor.action.resource_search(query="name:บันทึกลับ")["count"] == 1         # a member sees it
    assert anon.action.resource_search(query="name:100%_sure")["count"] == 0          # % and _ are text
    with pytest.raises(ckanapi.ValidationError):
        anon.action.resource_search(query="colour:red")


def test_package_revise_asserts_filters_and_updates_like_ckan(server, site):
    editor = site["editor"]
    editor.action.package_create(name="revise-me", owner_org="bb", title="ก่อนแก้", notes="เดิม", version="1.0",
                                 resources=[{"name": "a", "url": "http://example.go.th/a.csv"},
                                            {"name": "b", "url": "http://example.go.th/b.csv"}])
    # A stale assertion changes nothing and names every difference.
    with pytest.raises(ckanapi.ValidationError) as exc:
        editor.action.package_revise(match={"name": "revise-me", "notes": "ไม่ใช่", "resources": [{"name": "a"}]},
                                     update={"notes": "ใหม่"})
    assert exc.value.error_dict["match"] == ["notes"]
    assert server.ckan().action.package_show(id="revise-me")["notes"] == "เดิม"
    # Nested update, flattened keys by index, by id prefix and an append, all in one call.
    pkg = server.ckan().action.package_show(id="revise-me")
    second = pkg["resources"][1]["id"]
    out = editor.call_action("package_revise", {
        "match": {"name": "revise-me", "notes": "เดิม"}, "update": {"notes": "ใหม่"},
        "update__resources__0__description": "ไฟล์แรก", f"update__resources__{second[:6]}__name": "b2",
        "update__resources__extend": [{"name": "c", "url": "http://example.go.th/c.csv"}],
        "update__resources__-1__description": "ไฟล์ที่เพิ่ม"})
    revised = out["package"]
    assert revised["notes"] == "ใหม่" and [r["name"] for r in revised["resources"]] == ["a", "b2", "c"]
    assert revised["resources"][0]["description"] == "ไฟล์แรก" and revised["resources"][1]["id"] == second
    assert revised["resources"][2]["description"] == "ไฟล์ที่เพิ่ม"
    # filter removes by pattern (+ protects), and include trims the answer.
    out = editor.call_action("package_revise", {"match__id": revised["id"], "filter": ["+resources__0", "-resources__*",
                                                                                     "-version"],
                                                "include": ["+package__name", "+package__resources", "-package__*"]})
    assert set(out["package"]) == {"name", "resources"} and [r["name"] for r in out["package"]["resources"]] == ["a"]
    assert server.ckan().action.package_show(id="revise-me")["version"] is None
    # No match key: CKAN's 409; a key that names nothing: 409 naming it; anonymous: 403.
    with pytest.raises(ckanapi.ValidationError) as exc:
        editor.action.package_revise(update={"notes": "x"})
    assert "match__id" in exc.value.error_dict
    with pytest.raises(ckanapi.ValidationError) as exc:
        editor.call_action("package_revise", {"match__name": "revise-me", "update__resources__9__name": "x"})
    assert exc.value.error_dict["update__resources__9__name"] == ["Unmatched key resources__9"]
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan().action.package_revise(match={"name": "revise-me"}, update={"notes": "x"})


def test_following_datasets_groups_and_users_feeds_the_dashboard(server, site):
    admin, editor = server.admin(), site["editor"]
    fan = server.ckan(server.user_with_token("fan"))
    fan.action.follow_dataset(id="budget-2565")
    fan.action.follow_group(id="bb")
    fan.action.follow_user(id="editor")
    with pytest.raises(ckanapi.ValidationError) as exc:
        fan.action.follow_dataset(id="budget-2565")
    assert "already following" in str(exc.value.error_dict)
    assert fan.action.am_following_dataset(id="budget-2565") is True
    assert server.ckan().action.dataset_follower_count(id="budget-2565") == 1
    assert server.ckan().action.organization_show(id="bb", include_users=False)["num_followers"] == 1
    assert [u["name"] for u in admin.action.dataset_follower_list(id="budget-2565")] == ["fan"]
    with pytest.raises(ckanapi.NotAuthorized):
        fan.action.dataset_follower_list(id="budget-2565")
    assert {f["type"] for f in fan.action.followee_list()} == {"dataset", "organization", "user"}
    editor.action.package_patch(id="budget-2565", notes="ข้อมูลงบประมาณ (ติดตาม)")
    editor.action.package_create(name="new-by-editor", owner_org="bb")
    dashboard = fan.action.dashboard_activity_list()
    assert dashboard[0]["activity_type"] == "new package" and dashboard[0]["data"]["package"]["name"] == "new-by-editor"
    assert any(a["data"].get("package", {}).get("notes") == "ข้อมูลงบประมาณ (ติดตาม)" for a in dashboard)
    # The editor's private dataset changes stay off the dashboard of someone who may not read it.
    assert not any(a["data"].get("package", {}).get("name") == "budget-draft-notes" for a in dashboard)
    fan.action.unfollow_dataset(id="budget-2565")
    with pytest.raises(ckanapi.NotFound):
        fan.action.unfollow_dataset(id="budget-2565")
    assert server.ckan().action.dataset_follower_count(id="budget-2565") == 0
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan().action.follow_dataset(id="budget-2565")


def test_vocabulary_tags_are_kept_checked_shown_and_searched_like_ckan(server, site):
    admin, editor = server.admin(), site["editor"]
    vocab = admin.action.vocabulary_create(name="sector", tags=[{"name": "การศึกษา"}, {"name": "สาธารณสุข"}])
    assert [t["name"] for t in vocab["tags"]] == ["การศึกษา", "สาธารณสุข"]
    with pytest.raises(ckanapi.NotAuthorized):
        editor.action.vocabulary_create(name="mine", tags=[])
    pkg = editor.action.package_create(name="schools", owner_org="bb", tags=[
        {"name": "โรงเรียน"}, {"name": "การศึกษา", "vocabulary_id": vocab["id"]}])
    assert [(t["name"], t["vocabulary_id"]) for t in pkg["tags"]] == [("โรงเรียน", None), ("การศึกษา", vocab["id"])]
    with pytest.raises(ckanapi.ValidationError) as exc:
        editor.action.package_create(name="bad-tag", owner_org="bb", tags=[{"name": "กีฬา", "vocabulary_id": "sector"}])
    assert exc.value.error_dict["tags"] == ["Tag กีฬา does not belong to vocabulary sector"]
    found = server.ckan().action.package_search(fq='vocab_sector:"การศึกษา"')
    assert [p["name"] for p in found["results"]] == ["schools"]
    assert "การศึกษา" not in server.ckan().action.tag_list()   # free tags only, as CKAN
    assert server.ckan().action.tag_list(vocabulary_id="sector") == ["การศึกษา", "สาธารณสุข"]
    tag = server.ckan().action.tag_show(id="การศึกษา", vocabulary_id="sector", include_datasets=True)
    assert tag["vocabulary_id"] == vocab["id"] and [p["name"] for p in tag["packages"]] == ["schools"]
    # A patch keeps the vocabulary tag; a tag in use cannot leave its vocabulary, nor the vocabulary go.
    editor.action.package_patch(id="schools", notes="โรงเรียนในสังกัด")
    assert len(server.ckan().action.package_show(id="schools")["tags"]) == 2
    with pytest.raises(ckanapi.ValidationError):
        admin.action.vocabulary_update(id="sector", tags=[{"name": "สาธารณสุข"}])
    with pytest.raises(ckanapi.ValidationError):
        admin.action.vocabulary_delete(id="sector")
    assert [v["name"] for v in server.ckan().action.vocabulary_list()] == ["sector"]


def test_a_collaborator_reads_or_edits_one_private_dataset_and_loses_it_when_removed(server, site):
    admin, editor = server.admin(), site["editor"]
    guest_token = server.user_with_token("guest")
    guest = server.ckan(guest_token)
    secret = editor.action.package_create(name="shared-draft-notes", owner_org="bb", private=True,
                                          notes="งานร่วมกับมหาวิทยาลัย")
    with pytest.raises(ckanapi.NotAuthorized):
        guest.action.package_show(id="shared-draft-notes")
    with pytest.raises(ckanapi.NotAuthorized):   # an editor is not an organization admin
        editor.action.package_collaborator_create(id="shared-draft-notes", user_id="guest", capacity="member")
    admin.action.package_collaborator_create(id="shared-draft-notes", user_id="guest", capacity="member")
    assert guest.action.package_show(id="shared-draft-notes")["id"] == secret["id"]
    found = guest.action.package_search(q="มหาวิทยาลัย", include_private=True)["results"]
    assert [p["name"] for p in found] == ["shared-draft-notes"]
    assert guest.action.package_search(q="มหาวิทยาลัย")["count"] == 0   # private only when asked for, as CKAN
    with pytest.raises(ckanapi.NotAuthorized):
        guest.action.package_patch(id="shared-draft-notes", notes="แก้")
    admin.action.package_collaborator_create(id="shared-draft-notes", user_id="guest", capacity="editor")
    guest.action.package_patch(id="shared-draft-notes", notes="แก้โดยผู้ร่วมงาน")
    with pytest.raises(ckanapi.NotAuthorized):   # a collaborator cannot move the dataset to another organization
        guest.action.package_patch(id="shared-draft-notes", owner_org="cgd")
    assert [c["user_id"] for c in admin.action.package_collaborator_list(id="shared-draft-notes")] == \
        [admin.action.user_show(id="guest")["id"]]
    assert [c["package_id"] for c in guest.action.package_collaborator_list_for_user(id="guest")] == [secret["id"]]
    admin.action.package_collaborator_delete(id="shared-draft-notes", user_id="guest")
    with pytest.raises(ckanapi.NotAuthorized):
        guest.action.package_show(id="shared-draft-notes")
    assert guest.action.package_search(q="มหาวิทยาลัย", include_private=True)["count"] == 0
    other = server.ckan(site["tokens"]["other"])
    with pytest.raises(ckanapi.NotAuthorized):
        other.action.package_show(id="shared-draft-notes")


def test_resource_views_are_created_ordered_changed_and_removed_like_ckan(server, site):
    editor, other = site["editor"], server.ckan(site["tokens"]["other"])
    editor.action.package_create(name="reservoir-levels", owner_org="bb", title="ระดับน้ำในอ่างเก็บน้ำ")
    with open(server.dir / "levels.csv", "w", encoding="utf-8") as f:
        f.write("province,level\nเชียงใหม่,70\nลำปาง,55\nเชียงใหม่,20\n")
    with open(server.dir / "levels.csv", "rb") as f:
        table = editor.action.resource_create(package_id="reservoir-levels", name="levels", format="CSV", upload=f)
    picture = editor.action.resource_create(package_id="reservoir-levels", name="map", format="PNG",
                                            url="https://example.go.th/map.png")
    server.wait_jobs()
    # Default views, as CKAN makes them: a table once the data is in the DataStore, an image for an image.
    assert [(v["view_type"], v["title"]) for v in editor.action.resource_view_list(id=table["id"])] == \
        [("datatables_view", "Table")]
    [image] = server.ckan().action.resource_view_list(id=picture["id"])
    assert image["view_type"] == "image_view" and image["image_url"] == "" and image["package_id"]

    chart = editor.action.resource_view_create(resource_id=table["id"], view_type="chart_view", title="ระดับน้ำ",
                                               chart_type="bar", x_field="province", y_field="level")
    page = editor.action.resource_view_create(resource_id=table["id"], view_type="webpage_view", title="รายงาน",
                                              page_url="https://example.go.th/report")
    assert chart["x_field"] == "province" and chart["position"] == 1 and page["position"] == 2
    assert server.ckan().action.resource_view_show(id=chart["id"]) == chart
    reordered = editor.action.resource_view_reorder(id=table["id"], order=[page["id"], chart["id"]])
    assert reordered["order"][:2] == [page["id"], chart["id"]] and len(reordered["order"]) == 3
    assert [v["id"] for v in editor.action.resource_view_list(id=table["id"])] == reordered["order"]
    changed = editor.action.resource_view_update(id=chart["id"], title="ระดับน้ำรายจังหวัด", chart_type="pie",
                                                 x_field="province")
    assert changed["chart_type"] == "pie" and "y_field" not in changed and changed["view_type"] == "chart_view"

    bad = [({"view_type": "map_view", "title": "x"}, "view_type"),
           ({"view_type": "chart_view", "title": "x", "x_field": "no_such_column"}, "x_field"),
           ({"view_type": "chart_view", "title": "x", "x_field": "province", "chart_type": "radar"}, "chart_type"),
           ({"view_type": "webpage_view", "title": "x", "page_url": "javascript:alert(1)"}, "page_url"),
           ({"view_type": "image_view", "title": ""}, "title")]
    for fields, wrong in bad:
        with pytest.raises(ckanapi.ValidationError) as err:
            editor.action.resource_view_create(resource_id=table["id"], **fields)
        assert wrong in err.value.error_dict, (fields, err.value.error_dict)
    with pytest.raises(ckanapi.ValidationError):
        editor.action.resource_view_reorder(id=table["id"], order=["not-a-view"])
    with pytest.raises(ckanapi.NotAuthorized):   # an editor of another organization
        other.action.resource_view_create(resource_id=table["id"], view_type="image_view", title="x")
    with pytest.raises(ckanapi.NotAuthorized):
        server.ckan().action.resource_view_delete(id=chart["id"])
    editor.action.resource_view_delete(id=chart["id"])
    with pytest.raises(ckanapi.NotFound):
        server.ckan().action.resource_view_show(id=chart["id"])
    assert len(editor.action.resource_view_list(id=table["id"])) == 2
