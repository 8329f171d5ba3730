"""The search index's rows: search_docs (one per dataset), search_terms (exact values, for fq and facets),
search_facet_counts (public counts kept up to date), and the trigram and word FTS5 tables."""
from .db import dialect
from .textmatch import count_row


def doc_of(db, package_id):
    """(doc_id, state, private, text, title_words) of a dataset's index entry, or None."""
    return db.execute("SELECT doc_id, state, private, text, title_words FROM search_docs WHERE package_id = ?",
                      (package_id,)).fetchone()


def segmented_of(db, doc_id):
    """The word-segmented FTS columns (title, tags, org, res, notes) of an entry, or None."""
    row = db.execute("SELECT title, tags, org, res, notes FROM search_words WHERE rowid = ?", (doc_id,)).fetchone()
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
    for table, key in (("search_terms", "doc_id"), ("search_trigram", "rowid"), ("search_words", "rowid"),
                       ("search_docs", "doc_id")):
        db.execute(f"DELETE FROM {table} WHERE {key} = ?", (doc[0],))


def insert(db, doc, terms, counted, columns, segmented):
    """Add an index entry: doc (package_id, name, title_sort, title_words, owner_org, private, state, type,
    creator_user_id, metadata_created, metadata_modified, text), its (field, value) terms, whether it counts in the
    public facet counts, and its FTS columns as folded text and as segmented words."""
    # Every write gets a fresh, larger doc_id, so rowid order is modification order: searches can
    # then walk FTS hits newest first and stop after one page instead of sorting every hit.
    doc_id = db.execute(
        "INSERT INTO search_docs (package_id, name, title_sort, title_words, owner_org, private, state, type, "
        "creator_user_id, metadata_created, metadata_modified, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING doc_id", doc
    ).fetchone()[0]
    bump_generation(db)
    db.executemany("INSERT INTO search_terms (doc_id, field, value) VALUES (?,?,?)", [(doc_id, f, v) for f, v in terms])
    if counted:
        db.executemany("INSERT INTO search_facet_counts (field, value, n) VALUES (?, ?, 1) "
                       "ON CONFLICT (field, value) DO UPDATE SET n = search_facet_counts.n + 1", terms)
    db.execute("INSERT INTO search_trigram (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *columns))
    db.execute("INSERT INTO search_words (rowid, title, tags, org, res, notes) VALUES (?,?,?,?,?,?)",
               (doc_id, *segmented))
    count_row(db, "search_trigram", columns, 1)
    count_row(db, "search_words", segmented, 1)


def bump_generation(db):
    """Mark the index changed (cached search answers are dropped)."""
    db.execute("UPDATE search_generation SET generation = generation + 1 WHERE id = 1")
