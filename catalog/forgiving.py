"""Search that forgives: what is indexed beside the exact text (folded, romanised, English place and
organization names, the vocabulary) and the query forms of each forgiving tier.

Tiers, best first: exact > folded (no tone marks or spaces) > romanised (RTGS and English names) >
english (a glossary term's Thai forms) > typo (a word one edit away from the index's vocabulary). A
search finding fewer than FEW datasets as typed is widened tier by tier; a wider tier keeps the exact
matches (they rank first) and its count and facets are those of the tier shown."""
import csv
import json
from functools import lru_cache
from pathlib import Path

from .thaitext import fold, is_thai, normalize, roman_syllables, romanised, words

TIERS = ("exact", "folded", "romanised", "english", "typo")
FEW = 10            # an exact search finding fewer datasets than this is widened, tier by tier
TYPO_MIN = 5        # query words this long or longer may be corrected by one edit
_VOCAB_MIN, _VOCAB_MAX = 4, 30
PROVINCES = Path(__file__).resolve().parent.parent / "data" / "real" / "thai-provinces" / "provinces.csv"


@lru_cache(maxsize=1)
def glossary():
    """{folded English term: [Thai forms]} from catalog/glossary.json (multi-word terms folded without spaces)."""
    doc = json.loads((Path(__file__).parent / "glossary.json").read_text(encoding="utf-8"))
    table = {}
    for concept in doc["terms"]:
        thai = [t for t in concept if is_thai(t)]
        for en in (t for t in concept if not is_thai(t)):
            table.setdefault(fold(en), [])
            table[fold(en)] += [t for t in thai if t not in table[fold(en)]]
    return table


@lru_cache(maxsize=1)
def _provinces():
    """[(normalised Thai name, (folded English name, English name))] of the shipped provinces list (empty
    without it)."""
    if not PROVINCES.exists():
        return []
    with PROVINCES.open(encoding="utf-8") as f:
        return [(normalize(r["name_th"]), (fold(r["name_en"]), normalize(r["name_en"])))
                for r in csv.DictReader(f) if r.get("name_en")]


def english_names(text, spaced=False):
    """Folded English names of the provinces the (normalised) text names: เชียงราย → chiangrai (or, spaced,
    `chiang rai`)."""
    return [en[1] if spaced else en[0] for th, en in _provinces() if th in text]


# ---------------------------------------------------------------------------------------------
# What is indexed


def loose_columns(pkg, org_title_en=None):
    """(title, body, roman_title, roman_body) of a package dict for the search_loose table."""
    org = pkg.get("organization") or {}
    tags = [t["name"] for t in pkg["tags"]]
    groups = [g.get("title") or g["name"] for g in pkg["groups"]]
    res = [f"{r.get('name') or ''} {r.get('description') or ''}" for r in pkg["resources"]]
    title = pkg.get("title") or pkg["name"]
    body = [*tags, *groups, org.get("title") or "", org.get("name") or "", *res, pkg.get("notes") or ""]
    body_text = normalize(" ".join(body))
    return (
        fold(title),
        " ".join(f for f in map(fold, body) if f),
        " ".join([romanised(title), *english_names(normalize(title))]),
        " ".join(r for r in [*map(romanised, [*tags, org.get("title") or ""]), fold(org.get("name") or ""),
                             fold(org_title_en or ""), *english_names(body_text)] if r),
    )


def vocabulary(pkg):
    """The words of a dataset's title, tags and organization a typed word may be corrected to (and their
    romanisations)."""
    org = pkg.get("organization") or {}
    out = set()
    for text in [pkg.get("title") or "", *(t["name"] for t in pkg["tags"]), org.get("title") or ""]:
        for w in words(text):
            out.add(w)
            if is_thai(w):
                out.update([romanised(w), *roman_syllables(w)])
        for name in english_names(normalize(text), spaced=True):
            out.update([fold(name), *name.split()])
    return sorted(w for w in out if _VOCAB_MIN <= len(w) <= _VOCAB_MAX and " " not in w)


def edits(word):
    """The word and each of its one-letter deletions: two words one edit apart share one of these."""
    return sorted({word, *(word[:i] + word[i + 1:] for i in range(len(word)))})


# ---------------------------------------------------------------------------------------------
# What a query becomes


def one_edit(a, b):
    """Whether a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


def best_correction(term, candidates):
    """The vocabulary word one edit from the term, or None; candidates are (word, uses). Two letters swapped
    keep every letter typed, so such a word goes first; then the most used."""
    near = [(sorted(w) == sorted(term), n, w) for w, n in candidates if one_edit(term, w)]
    return max(near)[2] if near else None


def correctable(term):
    """Whether a query word is long enough to be corrected by one edit."""
    return len(normalize(term)) >= TYPO_MIN


def tier_terms(terms, tier):
    """The query's words as a tier matches them: romanised text is matched without spaces, so neighbouring
    Latin words are one term there (`chiang rai` → chiangrai); the english tier first takes the runs that
    name a glossary term (`land transport`)."""
    if tier not in ("romanised", "english"):
        return list(terms)
    phrases = english_phrases(terms) if tier == "english" else list(terms)
    out = []
    for t in phrases:
        joinable = not is_thai(t) and not (tier == "english" and fold(t) in glossary())
        if joinable and out and out[-1][1]:
            out[-1] = (out[-1][0] + " " + t, True)
        else:
            out.append((t, joinable))
    return [t for t, _ in out]


def english_phrases(terms):
    """The query's words with runs of Latin words that together name a glossary term joined:
    ["land", "transport", "2560"] → ["land transport", "2560"]."""
    out, i = [], 0
    while i < len(terms):
        for j in range(min(len(terms), i + 3), i + 1, -1):
            run = terms[i:j]
            if all(not is_thai(t) for t in run) and fold("".join(run)) in glossary():
                out.append(" ".join(run))
                i = j
                break
        else:
            out.append(terms[i])
            i += 1
    return out


def forms(term, tier, variants):
    """{"exact": [...], "loose": [...], "roman": [...]} the term may match as at a tier (and every tier
    before it); variants(term) gives its exact synonyms."""
    exact = [normalize(v) for v in variants(term) if normalize(v)]
    folded = sorted({f for f in map(fold, exact) if len(f) >= 3})   # a trigram index matches 3 or more
    level = TIERS.index(tier)
    out = {"exact": exact, "loose": folded if level >= TIERS.index("folded") else [],
           "roman": folded if level >= TIERS.index("romanised") and not is_thai(term) else []}
    if level >= TIERS.index("english") and not is_thai(term):
        thai = [normalize(t) for t in glossary().get(fold(term), [])]
        out["exact"] = exact + [t for t in thai if t not in exact]
        out["loose"] = sorted(set(folded) | {f for f in map(fold, thai) if len(f) >= 3})
    return out


def widens(term, tier):
    """Whether a tier can find more for this term than the tier before it."""
    if tier == "folded":
        return len(fold(term)) >= 3
    if tier == "romanised":
        return not is_thai(term) and len(fold(term)) >= 3
    if tier == "english":
        return not is_thai(term) and fold(term) in glossary()
    return False
