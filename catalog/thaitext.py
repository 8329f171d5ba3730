"""Thai text as users type it: normalisation, digits, segmentation for ranking."""
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
    text = unicodedata.normalize("NFKC", str(text))
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
    for tok in _tokenizer()(chunk, engine="newmm", keep_whitespace=False):
        tok = _TOKEN_JUNK.sub("", tok)
        if tok:
            toks.append(tok)
    return tuple(toks)

