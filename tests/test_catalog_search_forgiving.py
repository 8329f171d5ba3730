"""Search that forgives (catalog/forgiving.py): tone-less, romanised, English and one-edit queries find the
Thai datasets, on the shipped data.go.th mirror and on small catalogues, on SQLite and PostgreSQL."""
import json
from pathlib import Path

import pytest

from catalog import actions
from catalog.context import Context
from catalog.store.db import dialect
from ingest.realdata import manifest, seed_mirror

from conftest import query, run_cli, sysadmin_site

QUERIES = json.loads((Path(__file__).parent / "search_queries.json").read_text(encoding="utf-8"))
KINDS = ("tone", "romanised", "typo", "english")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """An anonymous Context over a catalogue holding the 1,236 mirrored data.go.th datasets."""
    _, db, ctx = sysadmin_site(tmp_path_factory.mktemp("mirror"))
    seed_mirror(ctx, manifest())
    yield Context(db=db, settings=ctx.settings, user=None, site_url="http://t")
    db.close()


def search(ctx, **params):
    return actions.call(ctx, "package_search", params)


def names(result):
    return [p["name"] for p in result["results"]]


def test_the_query_set_finds_its_datasets_for_every_kind_of_mistyping(mirror, record_property):
    recall = {}
    for kind in KINDS:
        queries = QUERIES[kind]
        assert len(queries) >= 40, kind
        found = [q["dataset"] in names(search(mirror, q=q["q"], rows=10)) for q in queries]
        as_typed = [q["dataset"] in names(search(mirror, q=q["q"], rows=10, khlang_exact=True)) for q in queries]
        recall[kind] = (sum(found) / len(found), sum(as_typed) / len(as_typed), len(found))
    record_property("figure", f"forgiving search ({dialect(mirror.db)}), "
                    "recall@10 per kind (forgiving / as typed, queries): "
                    + ", ".join(f"{k} {r:.3f} / {e:.3f} ({n})" for k, (r, e, n) in recall.items()))
    assert all(r >= 0.9 for r, _, _ in recall.values()), recall
    # The tiers are what finds them: typed as they are, most of these find nothing useful.
    assert all(e < 0.5 for _, e, _ in recall.values()), recall


def test_the_query_set_was_made_from_datasets_the_exact_query_finds(mirror):
    # Each query's source form finds its dataset in the first ten, as scripts/search_queries.py kept it.
    for kind in KINDS:
        for q in QUERIES[kind][:10]:
            assert q["dataset"] in names(search(mirror, q=q["from"], rows=10, khlang_exact=True)), q


def test_a_form_of_both_kinds_matched_once_finds_the_rows_each_kind_finds_in_its_own_columns(mirror):
    from catalog import forgiving
    from catalog.store.search import _loose_group
    from catalog.store.searchsql import fts_phrase
    from catalog.store.textmatch import execute

    def rows(match):
        return {r[0] for r in execute(mirror.db, "SELECT rowid FROM search_loose WHERE search_loose MATCH ?", [match])}

    checked, found = 0, 0
    for q in QUERIES["romanised"] + QUERIES["english"]:
        for term in q["q"].split():
            forms = forgiving.forms(term, "english", lambda t: [t])
            if not set(forms["loose"]) & set(forms["roman"]):
                continue
            for columns in ((("title", "body"), ("roman_title", "roman_body")), (("title",), ("roman_title",))):
                each_kind = " OR ".join("{%s} : (%s)" % (" ".join(cols), " OR ".join(fts_phrase(f) for f in forms[kind]))
                                        for cols, kind in zip(columns, ("loose", "roman")) if forms[kind])
                want = rows(each_kind)
                assert rows(_loose_group(forms, *columns)) == want, (term, columns)
                found += len(want)
            checked += 1
    assert checked >= 20 and found > 100, (checked, found)


@pytest.fixture
def catalogue(make_ctx, admin):
    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "labour", "title": "กรมการจัดหางาน",
                                              "extras": [{"key": "title_en", "value": "Department of Employment"}]})
    actions.call(ctx, "organization_create", {"name": "cr", "title": "ศาลากลางจังหวัดเชียงราย"})
    datasets = [
        ("hiring", "ข้อมูลการจ้างแรงงานต่างด้าว", "สถิติรายเดือน", "labour", False),
        ("sic", "รายงานประจำปี", "สรุปการจางแรงงาน (ตามต้นฉบับ)", "labour", False),
        ("cr-temples", "ทะเบียนวัด จังหวัดเชียงราย", "รายชื่อวัด", "cr", False),
        ("cr-plan", "งบประมาณรายจ่ายจังหวัด", "งบประมาณประจำปี 2567", "cr", False),
        ("cr-opd", "ผู้ป่วยนอก โรงพยาบาลเชียงรายประชานุเคราะห์", "รายเดือน", "cr", False),
        ("cr-secret", "แผนลับเฉพาะ ข้อตกลงภูกระดึงสวรรค์", "ภายใน", "cr", True),
    ]
    for name, title, notes, org, private in datasets:
        actions.call(ctx, "package_create", {"name": name, "title": title, "notes": notes, "owner_org": org,
                                             "private": private})
    return ctx


def test_a_tone_less_query_finds_the_toned_title_after_the_exact_match(catalogue, make_ctx):
    found = search(make_ctx(), q="การจางแรงงาน")
    assert found["khlang_match"] == "folded"
    # "sic" has the words as typed (in its notes): an exact match ranks before the tone-less one.
    assert names(found) == ["sic", "hiring"]
    assert [r["khlang_match"] for r in found["results"]] == ["exact", "folded"]


def test_romanised_names_with_or_without_spaces_find_the_thai_province(catalogue, make_ctx):
    for q in ("chiangrai", "chiang rai", "Chiang Rai", "CHIANG RAI"):
        found = search(make_ctx(), q=q)
        assert found["khlang_match"] == "romanised", q
        assert {"cr-temples", "cr-opd"} <= set(names(found)), q
        # The province in the title ranks above the one only in its organization's name.
        assert set(names(found)[:2]) == {"cr-temples", "cr-opd"}, q


def test_an_organizations_english_title_finds_its_datasets(catalogue, make_ctx):
    found = search(make_ctx(), q="department of employment")
    assert set(names(found)) == {"hiring", "sic"} and found["khlang_match"] == "romanised"


def test_an_english_word_finds_datasets_by_their_thai_terms(catalogue, make_ctx):
    found = search(make_ctx(), q="budget")
    assert found["khlang_match"] == "english" and names(found) == ["cr-plan"]
    both = search(make_ctx(), q="hospital chiang rai")
    assert names(both) == ["cr-opd"]


def test_a_word_one_letter_off_is_corrected_and_the_correction_said(catalogue, make_ctx):
    for typo in ("โรงพยาบาาล", "โรงพยบาล", "โรงพยาาบล"):
        found = search(make_ctx(), q=typo)
        assert found["khlang_match"] == "typo" and found["khlang_corrected"] == "โรงพยาบาล", typo
        assert names(found) == ["cr-opd"]
    # Short words are not guessed at.
    assert search(make_ctx(), q="วดั")["count"] == 0


def test_a_search_that_finds_enough_as_typed_is_not_widened(catalogue, make_ctx):
    ctx = catalogue
    for i in range(10):
        actions.call(ctx, "package_create", {"name": f"temple-{i}", "title": f"วัด แห่งที่ {i}", "owner_org": "cr"})
    found = search(make_ctx(), q="วัด")   # the ten, cr-temples and the two more in จังหวัด
    assert found["khlang_match"] == "exact" and found["count"] == 13
    assert all("khlang_match" not in r for r in found["results"])


def test_khlang_exact_keeps_the_search_as_typed(catalogue, make_ctx):
    found = search(make_ctx(), q="chiangrai", khlang_exact=True)
    assert found["count"] == 0 and found["khlang_match"] == "exact"
    assert search(make_ctx(), q="การจางแรงงาน", khlang_exact="true")["count"] == 1


def test_private_datasets_stay_hidden_in_every_tier(catalogue, make_ctx, admin):
    anon = make_ctx()
    # A tone-less, a romanised and a mistyped form of the private dataset's own title words.
    for q in ("ขอตกลงภูกระดึง", "phu kradueng", "สวรรรค์"):
        found = search(anon, q=q)
        assert "cr-secret" not in names(found) and found["count"] == 0, q
        assert "khlang_corrected" not in found, q   # a word only a private dataset has is not suggested
        assert "cr-secret" in names(search(make_ctx(admin), q=q, include_private=True)), q


def test_count_and_facets_are_those_of_the_tier_shown(catalogue, make_ctx):
    found = search(make_ctx(), q="chiang rai", facet="true", **{"facet.field": '["organization"]'})
    assert found["count"] == len(names(found)) == 3
    assert found["facets"]["organization"] == {"cr": 3}
    # Filters narrow a widened search as any other.
    filtered = search(make_ctx(), q="chiang rai", fq="name:cr-temples")
    assert names(filtered) == ["cr-temples"] and filtered["khlang_match"] == "romanised"


def test_a_title_no_longer_used_is_no_longer_a_correction(catalogue, make_ctx):
    assert search(make_ctx(), q="โรงพยาบาาล").get("khlang_corrected") == "โรงพยาบาล"
    actions.call(catalogue, "package_patch", {"id": "cr-opd", "title": "ผู้ป่วยนอก ศูนย์สุขภาพชุมชน"})
    found = search(make_ctx(), q="โรงพยาบาาล")
    assert "khlang_corrected" not in found and found["count"] == 0



def test_a_large_widened_search_pages_exact_first_then_newest_without_repeats(make_ctx, admin):
    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "cgd", "title": "กรมบัญชีกลาง"})
    for i in range(505):
        actions.call(ctx, "package_create", {"name": f"buy-{i:03d}", "title": f"รายงานการจัดซื้อ ชุดที่ {i}",
                                             "owner_org": "cgd"})
    actions.call(ctx, "package_create", {"name": "typed-so", "title": "บันทึก", "notes": "การจัดซือ (สะกดตามต้นฉบับ)",
                                         "owner_org": "cgd"})
    actions.call(ctx, "package_create", {"name": "hidden", "title": "การจัดซื้อลับ", "owner_org": "cgd", "private": True})
    pages = [search(make_ctx(), q="จัดซือ", rows=10, start=start) for start in (0, 10, 500)]
    assert all(p["khlang_match"] == "folded" and p["count"] == 506 for p in pages)
    first = pages[0]["results"]
    assert first[0]["name"] == "typed-so" and first[0]["khlang_match"] == "exact"
    # Then the titles that have it, newest first; page after page with no repeats.
    assert [r["name"] for r in first[1:4]] == ["buy-504", "buy-503", "buy-502"]
    assert all(r["khlang_match"] == "folded" for r in first[1:])
    assert names(pages[1]) == [f"buy-{i:03d}" for i in range(495, 485, -1)]
    assert names(pages[2]) == [f"buy-{i:03d}" for i in range(5, -1, -1)]
    assert "hidden" not in {n for p in pages for n in names(p)}


def test_khlang_migrate_fills_the_forgiving_text_of_datasets_indexed_before_it(tmp_path):
    _, db, ctx = sysadmin_site(tmp_path)
    database = ctx.settings.db_path
    actions.call(ctx, "organization_create", {"name": "doe", "title": "กรมการจัดหางาน"})
    actions.call(ctx, "package_create", {"name": "old-entry", "title": "การจ้างแรงงานจังหวัดเชียงราย", "owner_org": "doe"})
    # An entry as a catalogue indexed before migration 17 has it: no forgiving text.
    db.execute("DELETE FROM search_loose")
    db.commit()
    anon = Context(db=db, settings=ctx.settings, user=None, site_url="http://t")
    assert search(anon, q="chiang rai")["count"] == 0
    out = run_cli("migrate", "--db", database)
    assert "indexed the forgiving search text of 1 datasets" in out.stdout
    assert names(search(anon, q="chiang rai")) == ["old-entry"]
    assert query(database, "SELECT count(*) FROM search_loose") == [(1,)]
    assert "forgiving" not in run_cli("migrate", "--db", database).stdout
    db.close()


def test_a_misspelt_word_inside_a_run_of_thai_words_is_corrected_and_the_words_searched(catalogue, make_ctx):
    found = search(make_ctx(), q="ผู้ป่วยนอกโรงพยบาล")
    assert found["khlang_match"] == "typo" and found["khlang_corrected"] == "ผู้ป่วยนอก โรงพยาบาล"
    assert names(found) == ["cr-opd"]


def test_a_corrected_search_keeps_what_the_word_found_as_typed(catalogue, make_ctx):
    # A source that has the misspelling itself (in its notes, which the vocabulary does not take words from).
    actions.call(catalogue, "package_create", {"name": "as-typed", "title": "สรุปรายเดือน", "owner_org": "cr",
                                               "notes": "ผู้ป่วยส่งต่อ โรงพยาบาาล (สะกดตามต้นฉบับ)"})
    found = search(make_ctx(), q="โรงพยาบาาล")
    assert found["khlang_match"] == "typo" and found["khlang_corrected"] == "โรงพยาบาล"
    assert set(names(found)) == {"cr-opd", "as-typed"}
