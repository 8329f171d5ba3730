import pytest

from catalog.errors import SearchError, SearchQueryError
from catalog.querysyntax import parse


@pytest.mark.parametrize("text, tree", [
    ("organization:a OR organization:b", "or(field(organization:['a']), field(organization:['b']))"),
    ("-organization:a -organization:b", "and(not(field(organization:['a'])), not(field(organization:['b'])))"),
    ('tags:"ข้อมูล เปิด" +res_format:CSV', "and(field(tags:['ข้อมูล เปิด']), field(res_format:['CSV']))"),
    ("groups:(a OR b)", "field(groups:['a', 'b'])"),
    ("capacity:public AND -tags:x", "and(field(capacity:['public']), not(field(tags:['x'])))"),
    ("โรงเรียน กรุงเทพ", "and(term(None:['โรงเรียน']), term(None:['กรุงเทพ']))"),
    ("metadata_modified:[2024-05-01T10:00:00.123456Z TO *]", "range(metadata_modified, 2024-05-01T10:00:00.123456Z, None)"),
])
def test_parse_builds_the_expected_tree(text, tree):
    assert repr(parse(text)) == tree


@pytest.mark.parametrize("text", ["(tags:a", "tags:", "{!lucene}x", "metadata_modified:[2024 TO]", "a )"])
def test_parse_rejects_broken_queries_with_a_search_error(text):
    with pytest.raises(SearchError):
        parse(text)


@pytest.mark.parametrize("text,needle", [
    ("(" * 244 + "x" + ")" * 244, "deeper than 20 levels"),
    (" OR ".join(["x"] * 1000), "more than 256 clauses"),
    ("owner_org:(" + " OR ".join(f"o{i}" for i in range(1100)) + ")", "more than 1024 values"),
])
def test_query_size_limits_are_a_400_naming_the_limit(text, needle):
    with pytest.raises(SearchQueryError, match=needle):
        parse(text)


@pytest.mark.parametrize("text,needle", [("a^2", "Boosts"), ("title:x^3", "Boosts"), ('"a b"~2', "Proximity"),
                                         ('title:"a b"~2', "Proximity"), ("roam~", "fuzzy")])
def test_boosts_and_proximity_are_refused_as_syntax_never_searched_as_text(text, needle):
    with pytest.raises(SearchError, match=needle):
        parse(text)


def test_quoted_or_escaped_operators_stay_text_and_256_clauses_still_parse():
    assert repr(parse('"a^2"')) == "term(None:['a^2'])" and repr(parse("a\\~b")) == "term(None:['a~b'])"
    assert len(parse(" OR ".join(f"t{i}" for i in range(256))).children) == 256
