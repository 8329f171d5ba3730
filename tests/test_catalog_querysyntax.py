import pytest

from catalog.errors import SearchError
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
