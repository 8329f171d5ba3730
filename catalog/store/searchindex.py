"""The search index's rows: search_docs (one per dataset), search_terms (exact values, for fq and facets),
search_doc_facets (an entry's values of the search page's facet fields, in one row), search_facet_counts (public
counts kept up to date), the trigram and word FTS5 tables, the forgiving tiers' folded text (search_loose) and
vocabulary (search_vocab, search_vocab_edits), and the trigram and folded text of entries not everyone may see
again (search_restricted_trigram, search_restricted_loose)."""
from .db import dialect
from .textmatch import count_row

# The fields whose values search_doc_facets packs (the search page's facets; migration 23 packs the same).
FACETED = ("organization", "groups", "tags", "res_format", "license_id", "data_category")


def pack(db, terms):
    """Write the search_doc_facets rows of entries, {doc_id: its (field, value) terms}: the search_facet_values
    ids of their FACETED terms."""
    ids = facet_ids(db, [t for doc_terms in terms.values() for t in doc_terms if t[0] in FACETED])
    rows = [(doc_id, " ".join(str(ids[t]) for t in doc_terms if t in ids)) for doc_id, doc_terms in terms.items()]
    db.executemany("INSERT INTO search_doc_facets (doc_id, packed) VALUES (?, ?)", [r for r in rows if r[1]])


def facet_ids(db, pairs):
    """{(field, value): its search_facet_values id}, each value given an id the first time any entry has it."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    db.executemany("INSERT INTO search_facet_values (field, value) VALUES (?, ?) ON CONFLICT (field, value) DO NOTHING",
                   pairs)
    out = {}
    for i in range(0, len(pairs), 200):
        chunk = pairs[i:i + 200]
        rows = db.execute("SELECT id, field, value FROM search_facet_values WHERE "
                          + " OR ".join(["(field = ? AND value = ?)"] * len(chunk)), [x for p in chunk for x in p])
        out.update(((r[1], r[2]), r[0]) for r in rows.fetchall())
    return out


def doc_of(db, package_id):
    """(doc_id, state, private, text, title_words, vocabulary words) of a dataset's index entry, or None."""
    return db.execute("SELECT d.doc_id, d.state, d.private, d.text, d.title_words, COALESCE(v.words, '') "
                      "FROM search_docs d LEFT JOIN search_doc_vocab v ON v.doc_id = d.doc_id WHERE d.package_id = ?",
                      (package_id,)).fetchone()


def segmented_of(db, doc_id):
    """The word-segmented FTS columns (title, tags, org, res, notes) of an entry, or None."""
    row = db.execute("SELECT title, tags, org, res, notes FROM search_words WHERE rowid = ?", (doc_id,)).fetchone()
    return tuple(row) if row else None


def loose_of(db, doc_id):
    """The forgiving columns (title, body, roman_title, roman_body) of an entry, or None."""
    row = db.execute("SELECT title, body, roman_title, roman_body FROM search_loose WHERE rowid = ?", (doc_id,)).fetchone()
    return tuple(row) if row else None


def drop(db, doc):
    """Remove an index entry (a doc_of row); the facet counts follow."""
    if dialect(db) == "postgresql":
        for table in ("search_trigram", "search_words"):
            row = db.execute(f"SELECT title, tags, org, res, notes FROM {table} WHERE rowid = ?", (doc[0],)).fetchone()
            if row:
                count_row(db, table, tuple(row), -1)
    # A public, active dataset leaving the index no longer counts.
    if doc[1] == "active" and not doc[2]:
        db.execute("UPDATE search_facet_counts SET n = n - 1 WHERE (field, value) IN "
                   "(SELECT field, value FROM search_terms WHERE doc_id = ?)", (doc[0],))
        db.execute("UPDATE search_generation SET public_docs = public_docs - 1 WHERE id = 1")
    words = doc[5].split()
    if words:
        db.execute(f"UPDATE search_vocab SET n = n - 1 WHERE word IN ({','.join('?' * len(words))})", words)
    if dialect(db) == "postgresql":
        db.execute("INSERT INTO search_drops (doc_id) VALUES (?)", (doc[0],))
    for table, key in (("search_terms", "doc_id"), ("search_doc_facets", "doc_id"), ("search_trigram", "rowid"),
                       ("search_words", "rowid"), ("search_loose", "rowid"), ("search_restricted_trigram", "rowid"),
                       ("search_restricted_loose", "rowid"), ("search_doc_vocab", "doc_id"), ("search_docs", "doc_id")):
        db.execute(f"DELETE FROM {table} WHERE {key} = ?", (doc[0],))


def insert(db, doc, terms, counted, columns, segmented, loose, vocab):
    """Add an index entry: doc (package_id, name, title_sort, title_words, owner_org, private, state, type,
    creator_user_id, metadata_created, metadata_modified, text), its (field, value) terms, whether it counts in the
    public facet counts, its FTS columns as folded text and as segmented words, its forgiving columns, and its
    vocabulary words with each one's one-letter deletions ({word: [variants]})."""
    # A 2-letter column gets a space after it, so the trigram index holds it too (shortterms.py); the text is
    # folded (thaitext.normalize), so no column ends with a space and no search word does.
    columns = tuple(c + " " if len(c) == 2 else c for c in columns)
    # Every write gets a fresh, larger doc_id, so rowid order is modification order: searches can
    # then walk FTS hits newest first and stop after one page instead of sorting every hit.
    doc_id = db.execute(
        "INSERT INTO search_docs (package_id, name, title_sort, title_words, owner_org, private, state, type, "
        "creator_user_id, metadata_created, metadata_modified, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING doc_id", doc
    ).fetchone()[0]
    bump_generation(db)
    db.executemany("INSERT INTO search_terms (doc_id, field, value) VALUES (?,?,?)", [(doc_id, f, v) for f, v in terms])
    pack(db, {doc_id: terms})
    if counted:
        db.executemany("INSERT INTO search_facet_counts (field, value, n) VALUES (?, ?, 1) "
                       "ON CONFLICT (field, value) DO UPDATE SET n = search_facet_counts.n + 1", terms)
        db.execute("UPDATE search_generation SET public_docs = public_docs + 1 WHERE id = 1")
    db.execute("INSERT INTO search_trigram (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *columns))
    db.execute("INSERT INTO search_words (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *segmented))
    db.execute("INSERT INTO search_loose (rowid, title, body, roman_title, roman_body) VALUES (?,?,?,?,?)",
               (doc_id, *loose))
    if doc[6] != "active" or doc[5]:   # not everyone may see it: its text again in the restricted twins
        db.execute("INSERT INTO search_restricted_trigram (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
                   (doc_id, *columns))
        db.execute("INSERT INTO search_restricted_loose (rowid, title, body, roman_title, roman_body) "
                   "VALUES (?,?,?,?,?)", (doc_id, *loose))
    db.execute("INSERT INTO search_doc_vocab (doc_id, words) VALUES (?, ?)", (doc_id, " ".join(vocab)))
    _count_vocabulary(db, vocab)
    count_row(db, "search_trigram", columns, 1)
    count_row(db, "search_words", segmented, 1)


def _count_vocabulary(db, vocab):
    if not vocab:
        return
    words = list(vocab)
    known = {r[0] for r in db.execute(f"SELECT word FROM search_vocab WHERE word IN ({','.join('?' * len(words))})",
                                      words)}
    # A word's deletions are written once, when the vocabulary first has it (a few per new word).
    db.executemany("INSERT INTO search_vocab_edits (variant, word) VALUES (?, ?) ON CONFLICT DO NOTHING",
                   [(v, w) for w in words if w not in known for v in vocab[w]])
    db.executemany("INSERT INTO search_vocab (word, n) VALUES (?, 1) ON CONFLICT (word) DO UPDATE SET n = search_vocab.n + 1",
                   [(w,) for w in words])


def lacking_loose(db):
    """Package ids whose index entry has no forgiving text (entries made before migration 17)."""
    return [r[0] for r in db.execute("SELECT d.package_id FROM search_docs d WHERE NOT EXISTS "
                                     "(SELECT 1 FROM search_loose l WHERE l.rowid = d.doc_id) ORDER BY d.doc_id")]


def near_words(db, variants):
    """(word, datasets using it) of the vocabulary words sharing one of the variants (a word's deletions)."""
    marks = ",".join("?" * len(variants))
    return db.execute(f"SELECT DISTINCT v.word, v.n FROM search_vocab_edits e JOIN search_vocab v ON v.word = e.word "
                      f"WHERE e.variant IN ({marks}) AND v.n > 0", list(variants)).fetchall()


def bump_generation(db):
    """Mark the index changed (cached search answers are dropped)."""
    db.execute("UPDATE search_generation SET generation = generation + 1 WHERE id = 1")
