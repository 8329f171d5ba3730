"""Thai text as users type it: normalisation, digits, segmentation for ranking, and the forgiving forms
(without tone marks, RTGS romanisation) the search matches when the exact text finds few."""
import re
import unicodedata
from functools import lru_cache

from .thaiformats import DIGIT_TABLE

_SPACE = re.compile(r"\s+")
# Typing quirks: NIKHAHIT+SARA AA typed for SARA AM; two SARA E for SARA AE;
# a tone mark typed before the upper vowel it should follow.
# NFKC itself splits SARA AM into NIKHAHIT+SARA AA, so the first two rules also undo that.
_QUIRKS = [
    (re.compile("\u0e4d([\u0e48-\u0e4b])\u0e32"), "\\1\u0e33"),
    (re.compile("([\u0e48-\u0e4b]?)\u0e4d\\1?\u0e32"), "\\1\u0e33"),
    (re.compile("\u0e32\u0e4d"), "\u0e33"),
    (re.compile("\u0e40\u0e40"), "\u0e41"),
    (re.compile("([\u0e48-\u0e4b])([\u0e31\u0e34-\u0e37\u0e47])"), r"\2\1"),
]
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\ufeff]")
_TOKEN_JUNK = re.compile(r"[^\w\u0e00-\u0e7f]+")


def normalize(text):
    """Fold text for matching: NFC, zero-width removed, Thai digits to Arabic, quirks, case, spaces."""
    if not text:
        return ""
    text = str(text)
    # Titles, tags and organization names come again and again (indexing reads each several times).
    return _normalize_short(text) if len(text) <= 200 else _normalize(text)


@lru_cache(maxsize=50_000)
def _normalize_short(text):
    return _normalize(text)


def _normalize(text):
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text).translate(DIGIT_TABLE)
    for pattern, repl in _QUIRKS:
        text = pattern.sub(repl, text)
    return _SPACE.sub(" ", text).strip().lower()


@lru_cache(maxsize=1)
def _tokenizer():
    from pythainlp.tokenize import word_tokenize  # about 1 s with its dictionary: only when words are needed

    return word_tokenize


def words(text):
    """Dictionary word segmentation (pythainlp newmm) of normalised text, no whitespace tokens."""
    text = normalize(text)
    out = []
    for chunk in text.split(" "):
        if chunk:
            out.extend(_chunk_words(chunk))
    return out


@lru_cache(maxsize=200_000)
def _chunk_words(chunk):
    # Catalogue text repeats a lot (agency names, provinces, templated titles): segment each
    # space-separated chunk once per process.
    toks = []
    for tok in _tokenizer()(chunk, engine="newmm", custom_dict=_segmenter_words(), keep_whitespace=False):
        tok = _TOKEN_JUNK.sub("", tok)
        if tok:
            toks.append(tok)
    return tuple(toks)


# Marks people skip when typing fast on a phone: MAITAIKHU, the four tone marks, THANTHAKHAT, YAMAKKAN.
_TONE_MARKS = re.compile("[\u0e47-\u0e4c\u0e4e]")
_THAI = re.compile("[\u0e01-\u0e4e]")


def fold(text):
    """The forgiving form of text: normalised, without tone marks, spaces or punctuation (`ซื้อ ขาย` → `ซือขาย`)."""
    return _TOKEN_JUNK.sub("", _TONE_MARKS.sub("", normalize(text))).replace("_", "")


def romanised(text):
    """RTGS romanisation (pythainlp royin, syllable by syllable) of the Thai in text, without spaces; Latin kept."""
    out = []
    for chunk in normalize(text).split(" "):
        if chunk:
            out.extend(_roman_word(w) for w in _chunk_words(chunk))
    return "".join(out)


@lru_cache(maxsize=100_000)
def _roman_word(word):
    return "".join(roman_syllables(word)) if _THAI.search(word) else word


@lru_cache(maxsize=100_000)
def roman_syllables(word):
    """The RTGS romanisation of each syllable of a Thai word: กรมการ → (krom, kan)."""
    # royin reads a whole compound poorly (กรมการขนส่งทางบก → kramakankntngthangpk); syllable by
    # syllable it is close to the road signs (krom kan khon song thang bok).
    romanize, syllables = _romaniser()
    out = ("".join(ch for ch in romanize(s, engine="royin").lower() if ch.isascii() and ch.isalnum())
           for s in syllables(word))
    return tuple(r for r in out if r)


@lru_cache(maxsize=1)
def _romaniser():
    # Imported on first use, as the tokenizer: only indexing needs it.
    from pythainlp.corpus import thai_syllables
    from pythainlp.tokenize import newmm
    from pythainlp.transliterate import romanize
    from pythainlp.util import Trie

    # royin segments each syllable again with newmm's default dictionary, which would build pythainlp's Trie of
    # the very words _segmenter_words holds (62 MB more for the server): newmm's default is ours instead.
    newmm.word_dict_trie = _segmenter_words
    trie = Trie(thai_syllables())
    tokenize = _tokenizer()
    return romanize, lambda word: tokenize(word, custom_dict=trie, engine="newmm", keep_whitespace=False)


class WordPrefixes:
    """A word list as newmm reads it (`prefixes(text, start)`, as pythainlp's Trie): every word and every
    prefix of one in a single dict, True where a word ends. pythainlp's Trie of its 62,000 words costs a server
    62 MB and 0.5 s to build, this 25 MB and 0.2 s; the words found are the same."""

    __slots__ = ("_ends", "_count")

    def __init__(self, words):
        ends = {}
        for word in words:
            word = word.strip()
            for i in range(1, len(word)):
                ends.setdefault(word[:i], False)
            if word:
                ends[word] = True
        self._ends = ends
        self._count = sum(ends.values())

    def prefixes(self, text, start=0):
        """The words of the list that text has at start, shortest first."""
        out, ends = [], self._ends
        for stop in range(start + 1, len(text) + 1):
            piece = text[start:stop]
            end = ends.get(piece)
            if end is None:
                break
            if end:
                out.append(piece)
        return out

    def __contains__(self, word):
        return self._ends.get(word) is True

    def __len__(self):
        return self._count


@lru_cache(maxsize=1)
def _segmenter_words():
    return WordPrefixes(_dictionary())


def is_word(text):
    """Whether text is a word of pythainlp's Thai dictionary (the one segmentation uses)."""
    return text in _dictionary()


@lru_cache(maxsize=1)
def _dictionary():
    from pythainlp.corpus import thai_words  # loaded with the tokenizer's dictionary, on first use

    return thai_words()


def is_thai(text):
    """Whether text has any Thai letter."""
    return bool(_THAI.search(text or ""))
