"""Resource views' rows: how each resource is shown on its page, in order."""
import json

COLUMNS = "id, resource_id, view_type, title, description, config, position"


def _view(row):
    return None if row is None else {**dict(row), "config": json.loads(row["config"] or "{}")}


def get(db, view_id):
    """One view as a dict (config decoded), or None."""
    if not isinstance(view_id, str):
        return None
    return _view(db.execute(f"SELECT {COLUMNS} FROM resource_views WHERE id = ?", (view_id,)).fetchone())


def of_resource(db, resource_id):
    """A resource's views in their order."""
    rows = db.execute(f"SELECT {COLUMNS} FROM resource_views WHERE resource_id = ? ORDER BY position, id",
                      (resource_id,)).fetchall()
    return [_view(r) for r in rows]


def has_type(db, resource_id, view_type):
    """True when the resource already has a view of this type."""
    return db.execute("SELECT 1 FROM resource_views WHERE resource_id = ? AND view_type = ?",
                      (resource_id, view_type)).fetchone() is not None


def insert(db, view):
    """Add a view after the resource's last one; returns its position."""
    position = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM resource_views WHERE resource_id = ?",
                          (view["resource_id"],)).fetchone()[0]
    db.execute(f"INSERT INTO resource_views ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (view["id"], view["resource_id"], view["view_type"], view["title"], view["description"],
                json.dumps(view["config"], ensure_ascii=False), position))
    return position


def update(db, view):
    """Replace a view's title, description and config."""
    db.execute("UPDATE resource_views SET title = ?, description = ?, config = ? WHERE id = ?",
               (view["title"], view["description"], json.dumps(view["config"], ensure_ascii=False), view["id"]))


def delete(db, view_id):
    db.execute("DELETE FROM resource_views WHERE id = ?", (view_id,))


def reorder(db, ids):
    """Give the views these positions, in this order."""
    db.executemany("UPDATE resource_views SET position = ? WHERE id = ?", [(i, v) for i, v in enumerate(ids)])

