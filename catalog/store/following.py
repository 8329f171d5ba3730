"""Who follows which dataset, group (or organization) or user."""


def follow(db, follower_id, object_id, object_type, ts):
    """Record a follow (the caller checked it is new)."""
    db.execute("INSERT INTO following (follower_id, object_id, object_type, created) VALUES (?, ?, ?, ?)",
               (follower_id, object_id, object_type, ts))


def unfollow(db, follower_id, object_id):
    """Drop a follow."""
    db.execute("DELETE FROM following WHERE follower_id = ? AND object_id = ?", (follower_id, object_id))


def get(db, follower_id, object_id):
    """The follow row, or None."""
    return db.execute("SELECT * FROM following WHERE follower_id = ? AND object_id = ?",
                      (follower_id, object_id)).fetchone()


def follower_count(db, object_id):
    """How many active users follow the object."""
    return db.execute("SELECT count(*) FROM following f JOIN users u ON u.id = f.follower_id "
                      "WHERE f.object_id = ? AND u.state = 'active'", (object_id,)).fetchone()[0]


def followers(db, object_id):
    """The active user rows following the object, by name."""
    return db.execute("SELECT u.* FROM following f JOIN users u ON u.id = f.follower_id "
                      "WHERE f.object_id = ? AND u.state = 'active' ORDER BY u.name", (object_id,)).fetchall()


def followees(db, follower_id, object_type=None):
    """(object_id, object_type, created) of what a user follows, oldest first."""
    sql = "SELECT object_id, object_type, created FROM following WHERE follower_id = ?"
    args = [follower_id]
    if object_type:
        sql += " AND object_type = ?"
        args.append(object_type)
    return db.execute(sql + " ORDER BY created, object_id", args).fetchall()

