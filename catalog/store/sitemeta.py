"""Site-wide key/value facts stored in the catalogue (shared by every process)."""


def get(db, key, default=None):
    """A site fact, or default."""
    row = db.execute("SELECT value FROM site_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def put(db, key, value):
    """Set a site fact (inside the caller's transaction, if any)."""
    db.execute("INSERT INTO site_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               (key, str(value)))


def demo_kind(db):
    """"real", "synthetic" or None: which demo data the catalogue was seeded with."""
    return get(db, "demo")


def is_demo(db):
    """True when the catalogue holds the synthetic demo data (every page then says so)."""
    return get(db, "demo") == "synthetic"
