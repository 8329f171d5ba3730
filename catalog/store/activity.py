"""The activity log's rows."""


def insert(db, aid, ts, user_id, object_id, activity_type, data_json):
    """Append one activity row."""
    db.execute("INSERT INTO activity (id, timestamp, user_id, object_id, activity_type, data) VALUES (?,?,?,?,?,?)",
               (aid, ts, user_id, object_id, activity_type, data_json))


def of_object(db, object_id, types, excluded, limit, offset):
    """An object's activity rows, newest first, only of `types` and none of `excluded` (when given)."""
    sql = "SELECT * FROM activity WHERE object_id = ?"
    args = [object_id]
    if types:
        sql += f" AND activity_type IN ({','.join('?' * len(types))})"
        args += types
    if excluded:
        sql += f" AND activity_type NOT IN ({','.join('?' * len(excluded))})"
        args += excluded
    sql += " ORDER BY timestamp DESC, rowid DESC LIMIT ? OFFSET ?"
    return db.execute(sql, args + [limit, offset]).fetchall()


def of_public_packages(db, limit, offset):
    """The newest activity rows of public, active datasets."""
    return db.execute("SELECT a.* FROM activity a JOIN packages p ON p.id = a.object_id "
                      "WHERE p.private = 0 AND p.state = 'active' ORDER BY a.timestamp DESC, a.rowid DESC "
                      "LIMIT ? OFFSET ?", (limit, offset)).fetchall()


def get(db, aid):
    """One activity row by id, or None."""
    return db.execute("SELECT * FROM activity WHERE id = ?", (aid,)).fetchone()


def of_objects_or_users(db, object_ids, user_ids, limit, offset):
    """Activity rows on any of the objects or by any of the users, newest first."""
    if not object_ids and not user_ids:
        return []
    conds, args = [], []
    if object_ids:
        conds.append(f"object_id IN ({','.join('?' * len(object_ids))})")
        args += list(object_ids)
    if user_ids:
        conds.append(f"user_id IN ({','.join('?' * len(user_ids))})")
        args += list(user_ids)
    return db.execute(f"SELECT * FROM activity WHERE {' OR '.join(conds)} ORDER BY timestamp DESC, rowid DESC "
                      "LIMIT ? OFFSET ?", args + [limit, offset]).fetchall()
