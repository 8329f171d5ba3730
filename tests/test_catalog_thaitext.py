import csv
import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from pythainlp.tokenize import word_tokenize

from catalog.thaitext import WordPrefixes, _dictionary, _segmenter_words, normalize, words

TITLES = Path(__file__).resolve().parent.parent / "data" / "real" / "datagoth-catalog" / \
    "datagoth-legacy-2016-dataset-titles.csv.gz"


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


def test_the_compact_word_list_segments_real_titles_as_pythainlps_own_dictionary_does():
    with gzip.open(TITLES, "rt", encoding="utf-8") as f:
        titles = [row["title"] for row in csv.DictReader(f)]
    chunks = sorted({c for t in titles for c in normalize(t).split(" ") if c})
    assert len(chunks) > 1000
    ours = [word_tokenize(c, engine="newmm", custom_dict=_segmenter_words(), keep_whitespace=False) for c in chunks]
    default = [word_tokenize(c, engine="newmm", keep_whitespace=False) for c in chunks]
    assert ours == default


def test_the_compact_word_list_finds_every_word_at_a_position_shortest_first():
    wl = WordPrefixes(["ก", "กร", "กรม", "กรมการ", "การ", " ดี "])
    assert wl.prefixes("กรมการค้า") == ["ก", "กร", "กรม", "กรมการ"]
    assert wl.prefixes("กรมการค้า", 3) == ["ก", "การ"]
    assert wl.prefixes("xกร", 0) == []
    assert "ดี" in wl and "กรมก" not in wl and len(wl) == 6
    assert len(_segmenter_words()) == len(_dictionary())


def test_romanising_builds_no_second_copy_of_the_dictionary():
    # A fresh interpreter: another test here builds pythainlp's own dictionary on purpose, to compare with it.
    code = ("from pythainlp.tokenize import word_dict_trie\n"
            "from catalog.thaitext import romanised, words\n"
            "print(romanised('กรมการขนส่งทางบก'), words('สำนักงานสถิติแห่งชาติ'), word_dict_trie.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                         text=True, check=True).stdout.split(" ", 1)
    assert out[0] == "kromkankhonsongthangbok"
    assert out[1].strip().endswith(" 0")
