"""Resources' rows."""
import json


def _marks(values):
    return ",".join("?" * len(values))


def get_resource(db, rid):
    """An active resource row, or None."""
    if not isinstance(rid, str):
        return None
    return db.execute("SELECT * FROM resources WHERE id = ? AND state = 'active'", (rid,)).fetchone()


def exists(db, rid):
    """True when a resource row (in any state) has this id."""
    return db.execute("SELECT 1 FROM resources WHERE id = ?", (rid,)).fetchone() is not None


def active_of(db, package_ids):
    """A cursor over the active resource rows of the given packages, by package and position."""
    return db.execute(f"SELECT * FROM resources WHERE package_id IN ({_marks(package_ids)}) AND state = 'active' "
                      f"ORDER BY package_id, position", list(package_ids))


def all_of(db, package_id):
    """Every resource row of a package, in any state."""
    return db.execute("SELECT * FROM resources WHERE package_id = ?", (package_id,)).fetchall()


def next_position(db, package_id):
    """The position after a package's last active resource."""
    return db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM resources WHERE package_id = ? AND state = 'active'",
                      (package_id,)).fetchone()[0]


def insert(db, rid, package_id, position, values, sha, ts, extras):
    """Insert a resource row from cleaned values."""
    db.execute(
        "INSERT INTO resources (id, package_id, position, name, description, format, url, url_type, hash, mimetype, "
        "size, sha256, created, last_modified, metadata_modified, extras) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, package_id, position, values.get("name"), values.get("description"), values.get("format"),
         values.get("url") or "", values.get("url_type"), values.get("hash"), values.get("mimetype"),
         values.get("size"), sha, values.get("created") or ts, values.get("last_modified"), ts,
         json.dumps(extras, ensure_ascii=False)),
    )


def update(db, rid, new, sha, ts, extras, position):
    """Replace a resource row's fields (its position only when given) and make it active."""
    db.execute(
        "UPDATE resources SET name=?, description=?, format=?, url=?, url_type=?, hash=?, mimetype=?, size=?, sha256=?, "
        "created=?, last_modified=?, metadata_modified=?, extras=?, position=COALESCE(?, position), state='active' WHERE id=?",
        (new.get("name"), new.get("description"), new.get("format"), new.get("url") or "", new.get("url_type"),
         new.get("hash"), new.get("mimetype"), new.get("size"), sha, new.get("created"), new.get("last_modified"), ts,
         json.dumps(extras, ensure_ascii=False), position, rid),
    )


def mark_deleted(db, rids, ts):
    """Soft-delete resources."""
    db.executemany("UPDATE resources SET state = 'deleted', metadata_modified = ? WHERE id = ?", [(ts, r) for r in rids])



SEARCH_FIELDS = ("name", "description", "format", "url")   # the columns a search term may name
SEARCH_ORDERS = {"name": "r.name", "format": "r.format", "created": "r.created", "id": "r.id"}


def search(db, terms, order):
    """Active resources of live datasets whose SEARCH_FIELDS contain each (field, text) (case-insensitive), with
    their dataset's state, private, owner_org and creator (as pkg_*), ordered by a SEARCH_ORDERS key, then id."""
    where, args = ["r.state = 'active'", "p.state <> 'deleted'"], []
    for field, text in terms:
        if field not in SEARCH_FIELDS:
            raise ValueError(field)
        where.append(f"lower(coalesce(r.{field}, '')) LIKE ? ESCAPE '\\'")
        args.append("%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return db.execute(f"SELECT r.*, p.state AS pkg_state, p.private AS pkg_private, p.owner_org AS pkg_owner_org, "
                      f"p.creator_user_id AS pkg_creator FROM resources r JOIN packages p ON p.id = r.package_id "
                      f"WHERE {' AND '.join(where)} ORDER BY {SEARCH_ORDERS[order]}, r.id", args).fetchall()
