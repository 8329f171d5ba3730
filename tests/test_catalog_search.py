"""package_search called as a plain function on a real SQLite catalogue."""
from dataclasses import replace

import pytest

from catalog import actions
from catalog.errors import SearchError, SearchQueryError, ValidationError
from catalog.users import create_user
from conftest import BACKEND


@pytest.fixture
def catalogue(make_ctx, admin):
    ctx = make_ctx(admin)
    actions.call(ctx, "organization_create", {"name": "opec", "title": "สำนักงานคณะกรรมการส่งเสริมการศึกษาเอกชน"})
    actions.call(ctx, "organization_create", {"name": "bma", "title": "กรุงเทพมหานคร"})
    actions.call(ctx, "group_create", {"name": "category05", "title": "ด้านสังคมและความมั่นคง"})
    datasets = [
        ("private-schools", "ข้อมูลโรงเรียนเอกชน", "รายชื่อโรงเรียนเอกชนทั่วประเทศ", "opec", ["การศึกษา"], False),
        ("bkk-air", "คุณภาพอากาศกรุงเทพมหานคร", "ค่าฝุ่น PM2.5 รายชั่วโมง", "bma", ["ฝุ่น"], False),
        ("bkk-notes-only", "ค่าใช้จ่ายรายเดือน", "ข้อมูลเกี่ยวกับโรงเรียนในสังกัดกทม.", "bma", ["งบประมาณ"], False),
        ("school-budget", "งบประมาณโรงเรียน", "งบประมาณรายจ่ายโรงเรียน", "opec", ["งบประมาณ"], False),
        ("secret-schools", "โรงเรียนลับเฉพาะ", "ข้อมูลภายใน", "opec", ["การศึกษา"], True),
        ("hospital-drugs", "ยาในโรงพยาบาล", "รายการยาจำเป็น", "bma", ["ยา"], False),
    ]
    for name, title, notes, org, tags, private in datasets:
        actions.call(ctx, "package_create", {"name": name, "title": title, "notes": notes, "owner_org": org,
                                             "tags": [{"name": t} for t in tags], "private": private,
                                             "groups": [{"name": "category05"}] if org == "opec" else [],
                                             "resources": [{"name": f"{name}.csv", "url": f"http://x/{name}.csv"}]})
    return ctx


def names(result):
    return [p["name"] for p in result["results"]]


def search(ctx, **params):
    return actions.call(ctx, "package_search", params)


def test_substring_inside_thai_compounds_is_found(catalogue, make_ctx):
    anon = make_ctx()
    assert "private-schools" in names(search(anon, q="โรงเรียน"))
    found = names(search(anon, q="กรุงเทพ"))
    # กรุงเทพ inside กรุงเทพมหานคร: in bkk-air's title, and in the organization title of all of bma's.
    assert found[0] == "bkk-air"
    assert set(found) == {"bkk-air", "bkk-notes-only", "hospital-drugs"}


def test_synonym_finds_the_canonical_name(catalogue, make_ctx):
    bma = {"bkk-air", "bkk-notes-only", "hospital-drugs"}
    assert set(names(search(make_ctx(), q="กทม", rows=10))) == bma
    assert set(names(search(make_ctx(), q="กรุงเทพฯ", rows=10))) == bma
    # The synonym also works through a text field that only says กทม.
    actions.call(catalogue, "package_create", {"name": "elsewhere", "title": "ข้อมูล", "owner_org": "opec",
                                               "notes": "พื้นที่ กทม. เท่านั้น"})
    assert "elsewhere" in names(search(make_ctx(), q="กรุงเทพมหานคร", rows=10))


def test_several_words_must_all_match(catalogue, make_ctx):
    # school-budget has both in its title; bkk-notes-only has one as a tag, the other in its notes.
    assert names(search(make_ctx(), q="งบประมาณ โรงเรียน")) == ["school-budget", "bkk-notes-only"]
    assert search(make_ctx(), q="โรงเรียน ฝุ่น")["count"] == 0


def test_title_matches_rank_above_notes_matches(catalogue, make_ctx):
    ranked = names(search(make_ctx(), q="โรงเรียน", rows=10))
    assert ranked.index("school-budget") < ranked.index("bkk-notes-only")
    assert ranked.index("private-schools") < ranked.index("bkk-notes-only")


def test_whole_word_matches_rank_before_partial_ones(catalogue, make_ctx):
    # 'ยา' is a whole word in hospital-drugs and only a substring of โรงพยาบาล elsewhere.
    assert names(search(make_ctx(), q="ยา"))[0] == "hospital-drugs"


def _two_letter_catalogue(catalogue):
    """Datasets holding ยา at every place a 2-letter word can sit in the index's columns."""
    for name, title, notes, tags in (
            ("title-is-it", "ยา", "", []),                          # a whole 2-letter column
            ("tag-is-it", "รายการเวชภัณฑ์", "", ["ยา"]),            # the tags column is just the word
            ("starts", "ยาเม็ดแก้ปวด", "", []),
            ("ends", "สถิติผู้ใช้", "ผู้ป่วยที่ต้องกินยา", []),        # the last two letters of a column
            ("elsewhere", "ค่าน้ำประปา", "รายจ่ายรายเดือน", [])):     # ประปา: ยา nowhere (ปา, not ยา)
        actions.call(catalogue, "package_create", {"name": name, "title": title, "notes": notes, "owner_org": "bma",
                                                   "tags": [{"name": t} for t in tags]})


def test_two_letter_words_are_found_through_the_index_exactly_as_a_text_scan_finds_them(catalogue, make_ctx,
                                                                                         monkeypatch):
    from catalog.store import shortterms
    from catalog.store.db import dialect

    _two_letter_catalogue(catalogue)
    catalogue.settings.search_cache_size = 0
    expected = {"title-is-it", "tag-is-it", "starts", "ends", "hospital-drugs"}   # hospital-drugs: โรงพยาบาล
    queries = [{"q": "ยา", "rows": 100}, {"q": "ยา", "rows": 100, "facet.field": '["organization", "tags"]'},
               {"q": "ยา กทม", "rows": 100}, {"q": "ยา OR ฝุ่น", "rows": 100}, {"q": "งบ", "rows": 100},
               {"q": "รา", "rows": 100}]
    indexed = [search(make_ctx(), **p) for p in queries]
    assert set(names(indexed[0])) == expected and indexed[0]["count"] == 5
    assert set(names(indexed[3])) == expected | {"bkk-air"}
    # In one column only: the title (the scan this replaced looked in the whole text).
    assert set(names(search(make_ctx(), q="*:*", fq="title:ยา", rows=100))) == {"title-is-it", "starts",
                                                                                   "hospital-drugs"}
    if dialect(catalogue.db) == "sqlite":
        # SQLite reads the word's trigrams from the index (PostgreSQL matches it with a LIKE) ...
        match = shortterms.expander(catalogue.db)("ยา")
        trigrams = match.strip("()").split(" OR ")
        assert {'"ยา "', '"นยา"', '"ยาเ"'} <= set(trigrams) and all("ยา" in t for t in trigrams)
        assert shortterms.expander(catalogue.db)("ย") is None   # one letter: the text is scanned
        # ... and finds what scanning every entry's text finds.
        monkeypatch.setattr(shortterms, "MAX_TERMS", -1)
        for params, found in zip(queries, indexed):
            scanned = search(make_ctx(), **params)
            assert (scanned["count"], set(names(scanned)), scanned["facets"]) == \
                (found["count"], set(names(found)), found["facets"]), params


def test_a_two_letter_column_indexed_before_migration_21_is_found_after_khlang_migrate(catalogue, make_ctx, db):
    from catalog.store.db import dialect, migrate_db

    if dialect(db) == "postgresql":
        pytest.skip("PostgreSQL's LIKE finds a 2-letter column with or without its space, and each node's copy "
                    "of the index is built after the migrations ran")
    _two_letter_catalogue(catalogue)
    catalogue.settings.search_cache_size = 0
    # As a catalogue indexed before migration 21 holds them: 2-letter columns without their space.
    db.execute("UPDATE search_trigram SET title = 'ยา' WHERE title = 'ยา '")
    db.execute("UPDATE search_trigram SET tags = 'ยา' WHERE tags = 'ยา '")
    # The catalogue at migration 20: the later migrations' changes undone too.
    db.execute("ALTER TABLE resource_versions DROP COLUMN indexes")
    db.execute("DROP TABLE search_doc_facets")
    db.execute("DROP TABLE search_facet_values")
    db.execute("DELETE FROM schema_migrations WHERE version >= 21")
    db.commit()
    assert {"title-is-it", "tag-is-it"} - set(names(search(make_ctx(), q="ยา", rows=100)))
    migrate_db(db)
    assert {"title-is-it", "tag-is-it"} <= set(names(search(make_ctx(), q="ยา", rows=100)))


def test_thai_digits_and_spacing_are_normalised(catalogue, make_ctx):
    ctx = catalogue
    actions.call(ctx, "package_create", {"name": "fy2565", "title": "งบประมาณปี 2565", "owner_org": "bma"})
    assert names(search(make_ctx(), q="๒๕๖๕")) == ["fy2565"]


def test_private_datasets_are_hidden_from_anonymous_and_outsiders(catalogue, make_ctx, db):
    anon = make_ctx()
    assert "secret-schools" not in names(search(anon, q="โรงเรียน", include_private=True, rows=50))
    facets = search(anon, q="", **{"facet.field": '["organization","tags"]'}, include_private=True)["facets"]
    assert facets["organization"]["opec"] == 2  # private one not counted
    outsider = create_user(db, "outsider", password="password-123")
    octx = make_ctx({"id": outsider["id"], "name": "outsider", "sysadmin": False})
    assert "secret-schools" not in names(search(octx, q="ลับ", include_private=True))


def test_members_see_private_datasets_only_with_include_private(catalogue, make_ctx, db):
    member = create_user(db, "member", password="password-123")
    actions.call(catalogue, "organization_member_create", {"id": "opec", "username": "member", "role": "member"})
    mctx = make_ctx({"id": member["id"], "name": "member", "sysadmin": False})
    assert "secret-schools" not in names(search(mctx, q="ลับ"))
    assert names(search(mctx, q="ลับ", include_private=True)) == ["secret-schools"]


def test_fq_supports_fields_quotes_negation_and_or(catalogue, make_ctx):
    anon = make_ctx()
    assert set(names(search(anon, fq="organization:bma", rows=20))) == {"bkk-air", "bkk-notes-only", "hospital-drugs"}
    assert set(names(search(anon, fq='tags:"งบประมาณ" -organization:opec'))) == {"bkk-notes-only"}
    assert search(anon, fq="organization:bma OR organization:opec")["count"] == 5
    assert search(anon, fq="+groups:category05 AND res_format:CSV")["count"] == 2


def test_metadata_modified_range_as_harvesters_send_it(catalogue, make_ctx):
    anon = make_ctx()
    assert search(anon, fq="metadata_modified:[2000-01-01T00:00:00.000001Z TO *]")["count"] == 5
    assert search(anon, fq="metadata_modified:[2999-01-01T00:00:00Z TO *]")["count"] == 0


def test_sort_and_paging_walk_every_result_once(catalogue, make_ctx):
    anon = make_ctx()
    seen = []
    for start in range(0, 5, 2):
        seen += names(search(anon, sort="name asc", rows=2, start=start))
    assert seen == sorted(seen) and len(seen) == 5 == len(set(seen))
    assert names(search(anon, sort="id asc", rows=10)) == [
        p["name"] for p in sorted(search(anon, rows=10)["results"], key=lambda p: p["id"])]


def test_rows_are_clamped_and_bad_params_rejected(catalogue, make_ctx):
    anon = make_ctx()
    assert len(search(anon, rows=5000)["results"]) == 5
    with pytest.raises(SearchQueryError):
        search(anon, nonsense=1)
    with pytest.raises(SearchError):
        search(anon, sort="metadata_modified")
    with pytest.raises(ValidationError):
        search(anon, rows=-1)


def test_fl_returns_only_requested_fields(catalogue, make_ctx):
    res = search(make_ctx(), q="โรงเรียน", fl="name,title")
    assert res["results"] and all(set(r) == {"name", "title"} for r in res["results"])


def test_search_facets_carry_titles_sorted_by_display_name_descending(catalogue, make_ctx):
    res = search(make_ctx(), **{"facet.field": '["organization"]'})
    items = res["search_facets"]["organization"]["items"]
    assert {i["name"]: i["display_name"] for i in items}["bma"] == "กรุงเทพมหานคร"
    assert [i["display_name"] for i in items] == sorted((i["display_name"] for i in items), reverse=True)


def test_a_created_dataset_is_findable_immediately_and_a_deleted_one_is_gone(catalogue, make_ctx):
    ctx = catalogue
    actions.call(ctx, "package_create", {"name": "fresh", "title": "ชุดข้อมูลใหม่ล่าสุด", "owner_org": "bma"})
    assert names(search(make_ctx(), q="ใหม่ล่าสุด")) == ["fresh"]
    actions.call(ctx, "package_delete", {"id": "fresh"})
    assert search(make_ctx(), q="ใหม่ล่าสุด")["count"] == 0


def test_cached_results_are_dropped_when_the_index_changes(catalogue, make_ctx):
    anon = make_ctx()
    assert search(anon, q="ทดสอบแคช")["count"] == 0  # cached empty answer
    actions.call(catalogue, "package_create", {"name": "cache-test", "title": "ทดสอบแคช", "owner_org": "bma"})
    assert names(search(anon, q="ทดสอบแคช")) == ["cache-test"]
    actions.call(catalogue, "package_patch", {"id": "cache-test", "title": "ชื่ออื่น"})
    assert search(anon, q="ทดสอบแคช")["count"] == 0


def test_large_result_sets_keep_the_ranking_tiers_without_bm25(catalogue, make_ctx, monkeypatch):
    from catalog.store import search as search_module

    catalogue.settings.search_cache_size = 0
    expected_count = search(make_ctx(), q="โรงเรียน", rows=10)["count"]
    monkeypatch.setattr(search_module, "BM25_MAX_HITS", 0)
    # the streamed path counts from the index minus the private dataset, like the SQL path
    assert search(make_ctx(), q="โรงเรียน", rows=10)["count"] == expected_count == 3
    assert search(make_ctx(), q="โรงเรียน", rows=2, start=2)["results"]
    ranked = names(search(make_ctx(), q="โรงเรียน", rows=10))
    assert ranked.index("school-budget") < ranked.index("bkk-notes-only")
    assert ranked.index("private-schools") < ranked.index("bkk-notes-only")
    assert names(search(make_ctx(), q="ยา"))[0] == "hospital-drugs"


def test_large_result_set_pages_skip_newer_hidden_datasets_and_repeat_none(catalogue, make_ctx, monkeypatch):
    from catalog.store import search as search_module

    catalogue.settings.search_cache_size = 0
    for i in range(4):   # newest of all, so every ranking tier meets them before any visible match
        actions.call(catalogue, "package_create", {"name": f"hidden-school-{i}", "title": f"โรงเรียนภายใน {i}",
                                                   "owner_org": "opec", "private": True})
    monkeypatch.setattr(search_module, "BM25_MAX_HITS", 0)
    anon = make_ctx()
    count = search(anon, q="โรงเรียน")["count"]
    walked = [n for start in range(count) for n in names(search(anon, q="โรงเรียน", rows=1, start=start))]
    assert sorted(walked) == ["bkk-notes-only", "private-schools", "school-budget"]


def test_facet_counts_follow_edits_deletes_and_privacy(catalogue, make_ctx):
    def tag_counts(ctx, **extra):
        return search(ctx, **{"facet.field": '["tags"]'}, **extra)["facets"]["tags"]

    anon = make_ctx()
    assert tag_counts(anon)["งบประมาณ"] == 2
    actions.call(catalogue, "package_patch", {"id": "school-budget", "tags": [{"name": "โรงเรียน"}]})
    assert tag_counts(anon)["งบประมาณ"] == 1 and tag_counts(anon)["โรงเรียน"] == 1
    actions.call(catalogue, "package_patch", {"id": "bkk-notes-only", "private": True})
    assert "งบประมาณ" not in tag_counts(anon)
    assert tag_counts(catalogue, include_private=True)["งบประมาณ"] == 1  # sysadmin sees the private one
    actions.call(catalogue, "package_delete", {"id": "school-budget"})
    assert "โรงเรียน" not in tag_counts(anon)
    assert search(anon)["count"] == 3


def _viewers(catalogue, make_ctx):
    """(context, include_private) of anyone and of the sysadmin; on PostgreSQL also searching PostgreSQL itself,
    besides the node's copy of the index."""
    viewers = [(make_ctx(), False), (catalogue, True)]
    if BACKEND == "postgresql":
        viewers += [(replace(ctx, settings=replace(ctx.settings, search_replica=False)), private)
                    for ctx, private in viewers]
    return viewers


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 6])
def test_a_facet_limit_over_the_whole_catalogue_keeps_its_top_values_ties_broken_by_value(catalogue, make_ctx, limit):
    catalogue.settings.search_cache_size = 0
    fields = '["tags","organization","res_format"]'
    for ctx, private in _viewers(catalogue, make_ctx):
        every = search(ctx, q="", rows=0, include_private=private, **{"facet.field": fields, "facet.limit": -1})
        top = search(ctx, q="", rows=0, include_private=private, **{"facet.field": fields, "facet.limit": limit})
        # Tags as anyone sees them: งบประมาณ 2, then three once; as the sysadmin: two twice, two once. Limits 1, 2
        # and 3 cut between values of the same count: which stay is decided by value.
        for field in ("tags", "organization", "res_format"):
            assert list(top["facets"][field].items()) == list(every["facets"][field].items())[:limit]


@pytest.mark.parametrize("by_hits", [False, True, "packed"])
@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("q,fq", [("งบประมาณ", ""), ("โรงเรียน", ""), ("", "tags:งบประมาณ"), ("ข้อมูล", "organization:bma")])
def test_facets_of_a_query_count_exactly_the_matching_datasets_for_every_field(catalogue, make_ctx, monkeypatch, q,
                                                                              fq, streamed, by_hits):
    from catalog.store import search as search_module
    from catalog.store import searchfacets

    if streamed:   # counted as a large hit set is: from the index hits, without joining each to its dataset
        monkeypatch.setattr(search_module, "BM25_MAX_HITS", 0)
    # Counted from each hit's packed row (search_doc_facets), or, for the fields not packed, from each hit's
    # postings or from the field's postings probing the hits (the cheaper is taken).
    if by_hits != "packed":
        monkeypatch.setattr(searchfacets, "FACETED", ())
        monkeypatch.setattr(searchfacets, "FACET_COSTS", (1e9, 0, 0) if by_hits else (0, 1e9, 1e9))
    catalogue.settings.search_cache_size = 0
    for ctx, private in _viewers(catalogue, make_ctx):
        res = search(ctx, q=q, fq=fq, rows=1000, include_private=private,
                     **{"facet.field": '["organization","tags","res_format","license_id"]', "facet.limit": -1})
        expected = {"organization": {}, "tags": {}, "res_format": {}, "license_id": {}}
        for pkg in res["results"]:
            values = {"organization": [pkg["organization"]["name"]] if pkg["organization"] else [],
                      "tags": [t["name"] for t in pkg["tags"]], "license_id": [pkg["license_id"]] if pkg["license_id"] else [],
                      "res_format": sorted({r["format"] for r in pkg["resources"] if r["format"]})}
            for field, vals in values.items():
                for v in vals:
                    expected[field][v] = expected[field].get(v, 0) + 1
        assert res["count"] == len(res["results"]) > 0 and res["facets"] == expected


def test_the_packed_facet_rows_written_with_each_entry_are_what_the_migration_fills_in(catalogue):
    from catalog.store import db as catalog_db
    from catalog.store.searchindex import FACETED

    def packed_rows():
        names = {r[0]: (r[1], r[2]) for r in catalogue.db.execute(
            "SELECT id, field, value FROM search_facet_values").fetchall()}
        return {r[0]: sorted(names[int(i)] for i in r[1].split()) for r in catalogue.db.execute(
            "SELECT doc_id, packed FROM search_doc_facets").fetchall()}

    written = packed_rows()
    terms = {}
    for doc_id, field, value in catalogue.db.execute("SELECT doc_id, field, value FROM search_terms").fetchall():
        if field in FACETED:
            terms.setdefault(doc_id, []).append((field, value))
    assert written == {d: sorted(t) for d, t in terms.items()}
    assert len(written) == 6 and all(any(f == "tags" for f, _ in v) for v in written.values())
    # Entries indexed before migration 23 get their rows from it: the same rows.
    sql = next(s for v, s in catalog_db.migrations() if v == 23)
    with catalog_db.transaction(catalogue.db):
        catalogue.db.execute("DELETE FROM search_doc_facets")
        catalogue.db.execute("DELETE FROM search_facet_values")
        for stmt in catalog_db._backend_sql(catalogue.db, sql, catalog_db.MIGRATIONS_DIR, 23):
            if stmt.lstrip().upper().startswith("INSERT"):
                catalogue.db.execute(stmt)
    assert packed_rows() == written
