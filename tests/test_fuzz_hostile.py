"""Hostile values (control characters, huge strings, wrong types, nested brackets, unicode edge cases) sent
by hypothesis to every declared parameter of every write action, and to the searches: never a 5xx, no
control character stored, and every XML/Atom/RDF/XLSX output still parses."""
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl import load_workbook
from rdflib import Graph

from catalog import actions, actionschema
from catalog.users import create_token
from conftest import sysadmin_site

STORED_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HOSTILE = settings(max_examples=30, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

hostile_text = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    st.text(alphabet="\x00\x01\x07\x0b\x0c\x1b\x1f\x7f\ufeff\u200b\u202e\ufffe\uffffก้ำ๐", min_size=1, max_size=20),
    st.sampled_from(["(" * 300 + "x" + ")" * 300, "[" * 500, "{" * 400, "a" * 120_000, "ก" * 60_000,
                     "\u0e01\u0e49\u0e49\u0e49\u0e49" * 50, "<script>alert(1)</script>", "=cmd|'/c calc'!A1",
                     "nan", "-inf", "1e309", "0" * 400, "\ud83d\ude00" * 100, "lone \ud800 surrogate", "../../etc/passwd", "abc\n",
                     "2024-01-01<script>", "a^2 OR \"b c\"~3", "{!lucene}x"]),
)
hostile_value = st.one_of(
    hostile_text, st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none(), st.lists(hostile_text, max_size=3),
    st.dictionaries(hostile_text, hostile_text, max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["name", "key", "value", "id", "url"]), hostile_text, max_size=3),
             max_size=3),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, db, ctx = sysadmin_site(tmp_path_factory.mktemp("hostile"))
    actions.call(ctx, "organization_create", {"name": "org", "title": "หน่วยงาน"})
    actions.call(ctx, "group_create", {"name": "grp", "title": "หมวด"})
    pkg = actions.call(ctx, "package_create", {"name": "ds", "title": "งบประมาณ", "owner_org": "org"})
    table = actions.call(ctx, "datastore_create", {"resource": {"package_id": pkg["id"], "name": "t"},
                                                   "fields": [{"id": "a", "type": "text"}, {"id": "n", "type": "int"}],
                                                   "records": [{"a": "ก", "n": 1}]})
    token = create_token(db, ctx.user_id, "hostile")
    return {"app": app, "db": db, "ctx": ctx, "token": token, "package": pkg["id"], "resource": table["resource_id"]}


def _base(site, action):
    """A request the action would accept, so a hostile value in one parameter is what gets tested."""
    ids = {"id": site["package"], "package_id": site["package"], "resource_id": site["resource"],
           "name": "fuzz-ds", "owner_org": "org", "title": "ทดสอบ"}
    if action.startswith(("organization_", "group_")):
        ids = {"id": "org" if action.startswith("organization_") else "grp", "name": "fuzz-grp"}
    if action.startswith("resource_"):
        ids = {"id": site["package"], "package_id": site["package"], "name": "r", "url": "http://x.example/a.csv"}
    return {k: v for k, v in ids.items() if k in actionschema.parameters(action)}


WRITES = sorted(n for n in actions.ACTIONS if n not in actions.SIDE_EFFECT_FREE
                and n not in ("package_delete", "resource_delete", "organization_delete", "group_delete",
                              "datastore_delete", "api_token_revoke"))


@pytest.mark.parametrize("action", WRITES)
def test_a_write_action_never_answers_5xx_to_hostile_values(site, action):
    client = site["app"].test_client()
    names = [p for p in actionschema.parameters(action) if p != "upload"]

    @HOSTILE
    @given(param=st.sampled_from(names), value=hostile_value)
    def fuzz(param, value):
        body = {**_base(site, action), param: value}
        r = client.post(f"/api/3/action/{action}", data=json.dumps(body),
                        content_type="application/json", headers={"Authorization": site["token"]})
        assert r.status_code < 500, (action, param, repr(value)[:200], r.get_data(as_text=True)[:500])

    fuzz()


@pytest.mark.parametrize("action", ["package_search", "datastore_search"])
def test_the_searches_never_answer_5xx_to_hostile_values(site, action):
    client = site["app"].test_client()
    names = [p for p in actionschema.parameters(action) if p not in ("callback",)]

    @HOSTILE
    @given(param=st.sampled_from(names), value=hostile_value)
    def fuzz(param, value):
        body = {**({"resource_id": site["resource"]} if action == "datastore_search" else {}), param: value}
        r = client.post(f"/api/3/action/{action}", data=json.dumps(body),
                        content_type="application/json")
        assert r.status_code < 500, (action, param, repr(value)[:200], r.get_data(as_text=True)[:500])

    fuzz()


def test_after_the_fuzzing_nothing_stored_holds_a_control_character_and_every_output_parses(site):
    db = site["db"]
    for table, cols in (("packages", ("name", "title", "notes", "url", "author", "maintainer", "extras", "fields")),
                        ("resources", ("name", "description", "url", "format", "extras")),
                        ("groups", ("name", "title", "description", "extras")),
                        ("package_tags", ("name",)), ("users", ("name", "fullname", "email"))):
        for col in cols:
            try:
                values = [r[0] for r in db.execute(f"SELECT {col} FROM {table}")]
            except Exception:  # noqa: BLE001 - a column this table does not have
                continue
            bad = [v for v in values if isinstance(v, str) and STORED_CONTROL.search(v)]
            assert not bad, (table, col, [repr(v)[:80] for v in bad[:3]])
    client = site["app"].test_client()
    ET.fromstring(client.get("/feeds/dataset.atom").data)
    ET.fromstring(client.get("/sitemap.xml").data)
    Graph().parse(data=client.get("/catalog.rdf").data, format="xml")
    for (name,) in db.execute("SELECT name FROM packages WHERE state = 'active' AND private = 0"):
        r = client.get(f"/dataset/{name}.rdf")
        assert r.status_code == 200, name
        Graph().parse(data=r.data, format="xml")
    for (rid,) in db.execute("SELECT resource_id FROM datastore_tables"):
        xlsx = client.get(f"/datastore/dump/{rid}?format=xlsx")
        if xlsx.status_code == 200:
            load_workbook(io.BytesIO(xlsx.data))
            ET.fromstring(client.get(f"/datastore/dump/{rid}?format=xml").data)


def _text_params(action):
    return [p for p, s in actionschema.properties(action).items()
            if "string" in (s.get("type") if isinstance(s.get("type"), list) else [s.get("type")])
            and p not in ("upload", "id", "package_id", "resource_id")]


@pytest.mark.parametrize("action", WRITES)
def test_every_text_parameter_of_every_write_refuses_a_control_character_naming_it(site, action):
    client = site["app"].test_client()
    for param in _text_params(action):
        body = {**_base(site, action), param: f"ข้อความ{chr(0x0b)}ท้าย"}
        r = client.post(f"/api/3/action/{action}", data=json.dumps(body), content_type="application/json",
                        headers={"Authorization": site["token"]})
        assert r.status_code == 409, (action, param, r.status_code)
        assert "control characters" in " ".join(map(str, r.get_json()["error"].get(param, []))), (action, param)
