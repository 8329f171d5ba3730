"""Tag vocabularies, their tags, and the vocabulary tags of datasets."""


def get(db, ref):
    """A vocabulary row by id or name, or None."""
    if not isinstance(ref, str) or not ref:
        return None
    return db.execute("SELECT * FROM vocabularies WHERE id = ? OR name = ?", (ref, ref)).fetchone()


def all_rows(db):
    """Every vocabulary, by name."""
    return db.execute("SELECT * FROM vocabularies ORDER BY name").fetchall()


def tags(db, vocabulary_id):
    """A vocabulary's tag names, sorted."""
    return [r[0] for r in db.execute("SELECT name FROM vocabulary_tags WHERE vocabulary_id = ? ORDER BY name",
                                     (vocabulary_id,))]


def insert(db, vid, name):
    """Create a vocabulary."""
    db.execute("INSERT INTO vocabularies (id, name) VALUES (?, ?)", (vid, name))


def rename(db, vid, name):
    """Rename a vocabulary."""
    db.execute("UPDATE vocabularies SET name = ? WHERE id = ?", (name, vid))


def set_tags(db, vid, names):
    """Replace a vocabulary's tags."""
    db.execute("DELETE FROM vocabulary_tags WHERE vocabulary_id = ?", (vid,))
    db.executemany("INSERT INTO vocabulary_tags (vocabulary_id, name) VALUES (?, ?)", [(vid, n) for n in names])


def in_use(db, vid):
    """True when a dataset carries one of the vocabulary's tags."""
    return db.execute("SELECT 1 FROM package_vocabulary_tags WHERE vocabulary_id = ? LIMIT 1", (vid,)).fetchone() is not None


def tags_in_use(db, vid, names):
    """The given tag names of a vocabulary that some dataset carries."""
    if not names:
        return []
    return [r[0] for r in db.execute(
        f"SELECT DISTINCT name FROM package_vocabulary_tags WHERE vocabulary_id = ? AND name IN "
        f"({','.join('?' * len(names))})", (vid, *names))]


def delete(db, vid):
    """Remove a vocabulary and its tags (none in use)."""
    db.execute("DELETE FROM vocabulary_tags WHERE vocabulary_id = ?", (vid,))
    db.execute("DELETE FROM vocabularies WHERE id = ?", (vid,))


def of_packages(db, ids):
    """A cursor over (package id, vocabulary id, vocabulary name, tag name) of the given datasets, by vocabulary
    and tag."""
    return db.execute(
        f"SELECT t.package_id, v.id, v.name, t.name FROM package_vocabulary_tags t JOIN vocabularies v "
        f"ON v.id = t.vocabulary_id WHERE t.package_id IN ({','.join('?' * len(ids))}) ORDER BY v.name, t.name",
        list(ids))


def set_package_tags(db, pid, pairs):
    """Replace a dataset's vocabulary tags with (vocabulary id, name) pairs."""
    db.execute("DELETE FROM package_vocabulary_tags WHERE package_id = ?", (pid,))
    db.executemany("INSERT INTO package_vocabulary_tags (package_id, vocabulary_id, name) VALUES (?, ?, ?)",
                   [(pid, vid, name) for vid, name in pairs])
