"""Datasets' rows: packages, their tags and group links."""

COLUMNS = ("name", "title", "type", "owner_org", "private", "state", "notes", "url", "version", "author",
           "author_email", "maintainer", "maintainer_email", "license_id")


def _marks(values):
    return ",".join("?" * len(values))


def get_package(db, name_or_id, include_deleted=False):
    """A package row by id or name (the live one when names repeat), or None."""
    if not name_or_id or not isinstance(name_or_id, str):   # ids and names are text; nothing else matches
        return None
    row = db.execute("SELECT * FROM packages WHERE id = ?", (name_or_id,)).fetchone()
    if row is None:
        row = db.execute(
            "SELECT * FROM packages WHERE name = ? ORDER BY state = 'deleted', metadata_modified DESC LIMIT 1",
            (name_or_id,),
        ).fetchone()
    if row is not None and row["state"] == "deleted" and not include_deleted:
        return None
    return row


# The readers of many packages' parts below return cursors, not rows: started inside db.together(), they go to
# PostgreSQL in one round trip, and their rows are read after the last one is started.

def rows_by_id(db, ids):
    """A cursor over the package rows of the given ids."""
    return db.execute(f"SELECT * FROM packages WHERE id IN ({_marks(ids)})", list(ids))


def tags_of(db, ids):
    """A cursor over (package id, tag name) pairs of the given packages, by tag name."""
    return db.execute(f"SELECT package_id, name FROM package_tags WHERE package_id IN ({_marks(ids)}) ORDER BY name",
                      list(ids))


def groups_of(db, ids):
    """A cursor over (package id, group id, name, title, description, image_url) of the given packages' active
    groups, by name."""
    return db.execute(
        f"SELECT pg.package_id, g.id, g.name, g.title, g.description, g.image_url FROM package_groups pg "
        f"JOIN groups g ON g.id = pg.group_id WHERE pg.package_id IN ({_marks(ids)}) AND g.state = 'active' "
        f"ORDER BY g.name", list(ids))


def owners_of(db, ids):
    """A cursor over the organization rows owning the given packages."""
    return db.execute(f"SELECT * FROM groups WHERE id IN (SELECT owner_org FROM packages WHERE id IN ({_marks(ids)}))",
                      list(ids))


def live_id_named(db, name):
    """The id of the live (not deleted) package with this name, or None."""
    row = db.execute("SELECT id FROM packages WHERE name = ? AND state <> 'deleted'", (name,)).fetchone()
    return row[0] if row else None


def exists(db, pid):
    """True when a package row (in any state) has this id."""
    return db.execute("SELECT 1 FROM packages WHERE id = ?", (pid,)).fetchone() is not None


def insert(db, pid, values, creator_user_id, ts, quality):
    """Insert a package row from cleaned values (COLUMNS, extras and fields as JSON text)."""
    db.execute(
        f"INSERT INTO packages (id, {', '.join(COLUMNS)}, creator_user_id, metadata_created, metadata_modified, "
        f"extras, fields, quality_score) VALUES ({_marks(range(len(COLUMNS) + 7))})",
        (pid, *(_column(values, c) for c in COLUMNS), creator_user_id, ts, ts, values["extras"], values["fields"],
         quality),
    )


def update(db, pid, values, ts, quality):
    """Replace a package row's fields from cleaned values."""
    db.execute(
        f"UPDATE packages SET {', '.join(f'{c}=?' for c in COLUMNS)}, metadata_modified=?, extras=?, fields=?, "
        f"quality_score=? WHERE id=?",
        (*(_column(values, c) for c in COLUMNS), ts, values["extras"], values["fields"], quality, pid),
    )


def _column(values, column):
    return int(values[column]) if column == "private" else values[column]


def set_tags_and_groups(db, pid, tags, group_ids):
    """Replace a package's tags and group links."""
    db.execute("DELETE FROM package_tags WHERE package_id = ?", (pid,))
    db.execute("DELETE FROM package_groups WHERE package_id = ?", (pid,))
    db.executemany("INSERT INTO package_tags (package_id, name) VALUES (?, ?)", [(pid, t) for t in tags])
    db.executemany("INSERT INTO package_groups (package_id, group_id) VALUES (?, ?)", [(pid, g) for g in group_ids])


def add_to_group(db, pid, group_id):
    """Link a package to a group (no-op when linked)."""
    db.execute("INSERT INTO package_groups (package_id, group_id) VALUES (?,?) ON CONFLICT DO NOTHING", (pid, group_id))


def remove_from_group(db, pid, group_id):
    """Unlink a package from a group."""
    db.execute("DELETE FROM package_groups WHERE package_id = ? AND group_id = ?", (pid, group_id))


def touch(db, pid, ts):
    """Set a package's metadata_modified."""
    db.execute("UPDATE packages SET metadata_modified = ? WHERE id = ?", (ts, pid))


def set_quality(db, pid, score):
    """Store a package's metadata quality score."""
    db.execute("UPDATE packages SET quality_score = ? WHERE id = ?", (score, pid))


def set_private(db, pid, private):
    """Make a package private or public."""
    db.execute("UPDATE packages SET private = ? WHERE id = ?", (int(private), pid))


def mark_deleted(db, pid, ts):
    """Soft-delete a package and drop its group links."""
    db.execute("UPDATE packages SET state = 'deleted', metadata_modified = ? WHERE id = ?", (ts, pid))
    db.execute("DELETE FROM package_groups WHERE package_id = ?", (pid,))


def public_names(db, limit=None, offset=0):
    """Names of active public datasets, by name, paged."""
    sql = "SELECT name FROM packages WHERE state = 'active' AND private = 0 AND type = 'dataset' ORDER BY name"
    args = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args = [limit, offset]
    elif offset:
        sql += " LIMIT -1 OFFSET ?"
        args = [offset]
    return [r[0] for r in db.execute(sql, args)]


def ids_by_modified(db):
    """Every package id, least recently modified first."""
    return [r[0] for r in db.execute("SELECT id FROM packages ORDER BY metadata_modified")]


def any_package(db):
    """True when the catalogue holds at least one package."""
    return db.execute("SELECT 1 FROM packages LIMIT 1").fetchone() is not None


def active_of_group(db, group_id, is_org):
    """Active package rows of an organization (owned) or group (linked), by name."""
    sql = ("SELECT * FROM packages WHERE owner_org = ? AND state = 'active'" if is_org else
           "SELECT p.* FROM packages p JOIN package_groups g ON g.package_id = p.id WHERE g.group_id = ? "
           "AND p.state = 'active'")
    return db.execute(sql + " ORDER BY name", (group_id,)).fetchall()


def org_has_packages(db, org_id, include_deleted=False):
    """True when the organization owns a package (a live one unless include_deleted)."""
    sql = "SELECT 1 FROM packages WHERE owner_org = ?" + ("" if include_deleted else " AND state <> 'deleted'")
    return db.execute(sql, (org_id,)).fetchone() is not None


def public_tag_names(db, query=None, limit=None, offset=0):
    """Distinct tag names of active public datasets, by name; `query` matches a substring."""
    sql = ("SELECT DISTINCT t.name FROM package_tags t JOIN packages p ON p.id = t.package_id "
           "WHERE p.state = 'active' AND p.private = 0")
    args = []
    if query:
        sql += " AND t.name LIKE ?"
        args.append(f"%{query}%")
    sql += " ORDER BY t.name"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return [r[0] for r in db.execute(sql, args)]


def visible_package_ids(db, ids):
    """The subset of ids whose packages are public and active."""
    if not ids:
        return set()
    return {r[0] for r in db.execute(f"SELECT id FROM packages WHERE id IN ({_marks(ids)}) AND private = 0 "
                                     f"AND state = 'active'", list(ids))}


def public_count(db):
    """How many active public datasets there are."""
    return db.execute("SELECT count(*) FROM packages WHERE state = 'active' AND private = 0").fetchone()[0]


def public_names_by_creation(db, limit, offset):
    """(name, metadata_modified) of active public datasets, oldest first, paged."""
    return db.execute("SELECT name, metadata_modified FROM packages WHERE state = 'active' AND private = 0 "
                      "ORDER BY metadata_created, id LIMIT ? OFFSET ?", (limit, offset)).fetchall()
