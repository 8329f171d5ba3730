import pytest

from catalog.thaitext import normalize, words


@pytest.mark.parametrize("typed, folded", [
    ("นํ้า", "น้ำ"),          # NIKHAHIT + tone + SARA AA typed for SARA AM
    ("น้ํา", "น้ำ"),
    ("ทํา", "ทำ"),
    ("เเม่", "แม่"),          # two SARA E typed for SARA AE
    ("กรุงเทพฯ ๒๕๖๕", "กรุงเทพฯ 2565"),
    ("  Open   DATA ", "open data"),
    ("ข้อ\u200bมูล", "ข้อมูล"),   # zero-width space pasted from documents
    ("Ｈｅｌｌｏ", "hello"),
])
def test_normalize_folds_the_way_thai_users_type(typed, folded):
    assert normalize(typed) == folded


def test_normalize_leaves_canonical_thai_alone():
    for text in ["น้ำมันเชื้อเพลิง", "ค่ำ", "ที่", "โรงพยาบาลส่งเสริมสุขภาพตำบล"]:
        assert normalize(text) == text


def test_words_segments_thai_without_spaces():
    assert words("โรงเรียนเอกชนในกรุงเทพมหานคร") == ["โรงเรียนเอกชน", "ใน", "กรุงเทพมหานคร"]
    assert words("งบประมาณ ๒๕๖๕") == ["งบประมาณ", "2565"]
