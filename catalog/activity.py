"""Activity log: who changed what and when; backs package_activity_list and history pages."""
import json

from . import auth
from .errors import NotFound
from .params import as_int, as_list, get_or_bust, new_id, now


def record(ctx, object_id, activity_type, data):
    """Append one activity row (call inside the write's transaction)."""
    ctx.db.execute(
        "INSERT INTO activity (id, timestamp, user_id, object_id, activity_type, data) VALUES (?,?,?,?,?,?)",
        (new_id(), now(), ctx.user_id, object_id, activity_type, json.dumps(data, ensure_ascii=False, default=str)),
    )


def _dict(row):
    return {
        "id": row["id"], "timestamp": row["timestamp"], "user_id": row["user_id"], "object_id": row["object_id"],
        "activity_type": row["activity_type"], "data": json.loads(row["data"]),
    }


def package_activity_list(ctx, data):
    """A dataset's activities, newest first (only for callers who may read the dataset)."""
    from .packages import get_package

    pkg = get_package(ctx.db, get_or_bust(data, "id"), include_deleted=True)
    if not pkg:
        raise NotFound("Package was not found.")
    auth.require_read_package(ctx, pkg)
    limit = as_int(data, "limit", 31, maximum=100)
    offset = as_int(data, "offset", 0)
    sql = "SELECT * FROM activity WHERE object_id = ?"
    args = [pkg["id"]]
    types = as_list(data, "activity_types")
    if types:
        sql += f" AND activity_type IN ({','.join('?' * len(types))})"
        args += types
    excluded = as_list(data, "exclude_activity_types")
    if excluded:
        sql += f" AND activity_type NOT IN ({','.join('?' * len(excluded))})"
        args += excluded
    sql += " ORDER BY timestamp DESC, rowid DESC LIMIT ? OFFSET ?"
    rows = ctx.db.execute(sql, args + [limit, offset]).fetchall()
    return [_dict(r) for r in rows]


def recently_changed_packages_activity_list(ctx, data):
    """The newest activities of public, active datasets (the site's change feed)."""
    limit = as_int(data, "limit", 31, maximum=100)
    offset = as_int(data, "offset", 0)
    rows = ctx.db.execute("SELECT a.* FROM activity a JOIN packages p ON p.id = a.object_id "
                          "WHERE p.private = 0 AND p.state = 'active' ORDER BY a.timestamp DESC, a.rowid DESC "
                          "LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    return [_dict(r) for r in rows]


def activity_show(ctx, data):
    """One activity by id, if the caller may read its dataset."""
    row = ctx.db.execute("SELECT * FROM activity WHERE id = ?", (get_or_bust(data, "id"),)).fetchone()
    if not row:
        raise NotFound("Activity not found")
    from .packages import get_package

    pkg = get_package(ctx.db, row["object_id"], include_deleted=True)
    if pkg:
        auth.require_read_package(ctx, pkg)
    return _dict(row)
