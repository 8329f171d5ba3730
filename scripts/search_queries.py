"""Build tests/search_queries.json: the forgiving-search query set, made from the shipped data.go.th mirror.

Each query is made from one dataset's title the way people mistype it: tone marks dropped, the Thai
romanised (the provinces' English names from data/real/thai-provinces, or RTGS), one letter dropped,
doubled or swapped, or the title's terms in English (by catalog/glossary.json). A query is kept only
when the form it was made from (the exact Thai) finds its dataset in the first ten results and finds at
most 30 datasets: what is measured is what the forgiving tiers lose against typing it right.

    .venv/bin/python scripts/search_queries.py [--per-kind 60]
"""
import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.context import Context  # noqa: E402
from catalog.forgiving import _provinces, glossary  # noqa: E402
from catalog.search import package_search  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from catalog.store import db as catalog_db  # noqa: E402
from catalog.thaitext import _TONE_MARKS, fold, is_thai, normalize, roman_syllables, words  # noqa: E402
from catalog.users import create_user  # noqa: E402
from ingest.realdata import manifest, seed_mirror  # noqa: E402

OUT = ROOT / "tests" / "search_queries.json"
KINDS = ("tone", "romanised", "typo", "english")


SPECIFIC = 30   # a query kept names few datasets as typed right: its dataset is not one of hundreds alike


def top10(ctx, q, exact=True):
    found = package_search(ctx, {"q": q, "rows": 10, "khlang_exact": exact})
    return [r["name"] for r in found["results"]] if found["count"] <= SPECIFIC else []


def tone_queries(title, rng):
    """Two or three neighbouring words of the title with a tone mark, typed without tone marks."""
    ws = words(title)
    out = []
    for i in range(len(ws)):
        for n in (2, 3):
            phrase = "".join(ws[i:i + n])
            if len(ws[i:i + n]) == n and is_thai(phrase) and _TONE_MARKS.search(phrase) and len(phrase) >= 6:
                out.append((_TONE_MARKS.sub("", phrase), phrase))
    rng.shuffle(out)
    return out


def romanised_queries(title, rng):
    """The title's province in English as on road signs, or a title word in RTGS, syllables spaced."""
    text = normalize(title)
    out = [(en[1], th) for th, en in _provinces() if th in text]
    thai_words = [w for w in words(title) if is_thai(w) and len(w) >= 5 and len(roman_syllables(w)) >= 2]
    rng.shuffle(thai_words)
    out += [(" ".join(roman_syllables(w)), w) for w in thai_words[:2]]
    return out


def typo_queries(title, rng):
    """One title word of five letters or more with one letter dropped, doubled or swapped."""
    out = []
    for w in [w for w in words(title) if len(w) >= 5 and not w.isdigit()]:
        i = rng.randrange(1, len(w) - 1)
        edit = rng.choice(("drop", "double", "swap"))
        typo = {"drop": w[:i] + w[i + 1:], "double": w[:i] + w[i] + w[i:],
                "swap": w[:i] + w[i + 1] + w[i] + w[i + 2:]}[edit]
        if typo != w and len(typo) >= 5:
            out.append((typo, w))
    rng.shuffle(out)
    return out


def english_queries(title, rng):
    """The English of one or two glossary terms the title has (and its province), for their Thai."""
    text = normalize(title)
    found = {}
    for en, thai in glossary().items():
        for t in thai:
            if len(t) >= 4 and normalize(t) in text and t not in found.values() and en.isascii():
                found.setdefault(en, t)
    names = {}
    for concept in json.loads((ROOT / "catalog" / "glossary.json").read_text(encoding="utf-8"))["terms"]:
        for e in (c for c in concept if not is_thai(c)):
            names.setdefault(fold(e), e)   # the English as written in the glossary, spaces kept
    pairs = sorted(found.items())
    rng.shuffle(pairs)
    # The Thai it stands for is every Thai term of each English word, as the glossary has them.
    thai = lambda en: "(" + " OR ".join(f'"{t}"' for t in glossary()[en]) + ")"  # noqa: E731
    out = []
    if len(pairs) >= 2:
        out.append((f"{names[pairs[0][0]]} {names[pairs[1][0]]}", f"{thai(pairs[0][0])} {thai(pairs[1][0])}"))
    provinces = [(en[1], th) for th, en in _provinces() if th in text]
    if pairs and provinces:
        out.append((f"{names[pairs[0][0]]} {provinces[0][0]}", f"{thai(pairs[0][0])} {provinces[0][1]}"))
    if pairs:
        out.append((names[pairs[0][0]], thai(pairs[0][0])))
    return out


MAKERS = {"tone": tone_queries, "romanised": romanised_queries, "typo": typo_queries, "english": english_queries}


def build(per_kind, seed=2569):
    folder = tempfile.mkdtemp(prefix="khlang-queries-")
    settings = Settings(db_path=str(Path(folder) / "catalog.db"), storage_dir=str(Path(folder) / "storage"))
    db = catalog_db.connect(settings.db_path)
    admin = create_user(db, "root", email="root@example.go.th", password="password-123", sysadmin=True)
    seed_mirror(Context(db=db, settings=settings, user={"id": admin["id"], "name": "root", "sysadmin": True},
                        site_url="http://t"), manifest())
    ctx = Context(db=db, settings=settings, user=None, site_url="http://t")
    rng = random.Random(seed)
    datasets = [(r[0], r[1]) for r in db.execute("SELECT name, title FROM packages WHERE state = 'active' ORDER BY name")]
    rng.shuffle(datasets)
    out = {k: [] for k in KINDS}
    for kind in KINDS:
        for name, title in datasets:
            if len(out[kind]) >= per_kind:
                break
            for query, exact in MAKERS[kind](title, rng)[:1]:
                if query != exact and name in top10(ctx, exact):
                    out[kind].append({"q": query, "from": exact, "dataset": name})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=60)
    args = parser.parse_args()
    queries = build(args.per_kind)
    doc = {"$comment": "Made by scripts/search_queries.py from data/real/datagoth-catalog (see its docstring): "
                       "q is what is typed, from is the exact Thai it was made from, dataset the one it should find.",
           **queries}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print({k: len(v) for k, v in queries.items()})


if __name__ == "__main__":
    main()
