"""Two-letter search words (ยา, งบ, ไฟ) found through the trigram index instead of a scan of every entry's text.

FTS5's trigram tokenizer indexes 3-letter pieces only, so a 2-letter word matched nothing there and was looked
for with instr() over every entry's text (375–660 ms at 100,000 datasets). Every place a 2-letter word occurs
in a column of 3 letters or more lies inside one of that column's trigrams, as its first two letters or its
last two; a 2-letter column is kept with a space after it (searchindex.insert) so it has one too. So the
entries holding the word are exactly those holding one of the index's trigrams `word + y` or `x + word`: an
OR of those trigrams is an FTS5 MATCH with the same hits, read from the index in a few milliseconds.

The trigrams are read from the index's own vocabulary (fts5vocab): those starting with the word by a range of
terms, those ending with it by looking up `x + word` for every first letter x the vocabulary has. That is
SQLite's (and a node's copy of the index); PostgreSQL itself matches the 2-letter phrase with a LIKE (textmatch),
which finds the same entries, so both databases take the same paths through a search and rank alike."""
from .db import database_key, dialect
from .searchsql import fts_phrase

MAX_TERMS = 400   # a word inside more trigrams than this is looked for in the text: a huge OR is no faster
_VOCAB = "temp.search_trigram_vocab"
_letters = {}   # (database, index generation) -> the first letters of the trigram index's terms


def expander(db):
    """A function giving, for a search word, FTS5 MATCH text over search_trigram with the same hits as a
    substring search for it, or None where the word needs the text scan (not 2 letters, PostgreSQL, too common)."""
    if dialect(db) == "postgresql":
        # There the MATCH text becomes LIKEs (textmatch), and a 2-letter phrase a LIKE for it: the same hits.
        return lambda form: fts_phrase(form) if len(form) == 2 else None
    found = {}

    def expand(form):
        if len(form) != 2:
            return None
        if form not in found:
            found[form] = _match(db, form)
        return found[form]
    return expand


def _match(db, form):
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_VOCAB} USING fts5vocab(main, search_trigram, row)")
    # U+10FFFF sorts after every letter, so the range holds every 3-letter term starting with the word.
    terms = {r[0] for r in db.execute(f"SELECT term FROM {_VOCAB} WHERE term >= ? AND term < ?",
                                      (form, form + "\U0010ffff"))}
    ending = [x + form for x in _first_letters(db)]
    for i in range(0, len(ending), 500):
        part = ending[i:i + 500]
        terms.update(r[0] for r in db.execute(f"SELECT term FROM {_VOCAB} WHERE term IN ({','.join('?' * len(part))})",
                                              part))
    if len(terms) > MAX_TERMS:
        return None
    # No trigram holds it: the word itself, a phrase too short for any trigram, matches nothing (as it should).
    phrases = sorted(fts_phrase(t) for t in terms) or [fts_phrase(form)]
    return "(" + " OR ".join(phrases) + ")"


def _first_letters(db):
    """Every letter some trigram of the index starts with (a hundred or so), kept until the index changes."""
    generation = db.execute("SELECT generation FROM search_generation WHERE id = 1").fetchone()[0]
    key = (database_key(db), generation)
    letters = _letters.get(key)
    if letters is None:
        letters, after = [], ""
        # A skip scan: each step seeks past every term starting with the letter just found.
        while (row := db.execute(f"SELECT term FROM {_VOCAB} WHERE term > ? ORDER BY term LIMIT 1",
                                 (after,)).fetchone()) is not None:
            letters.append(row[0][0])
            after = row[0][0] + "\U0010ffff"
        if not db.in_transaction:   # an uncommitted write may yet be rolled back
            _letters.clear()
            _letters[key] = letters
    return letters
