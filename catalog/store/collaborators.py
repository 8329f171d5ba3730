"""Dataset collaborators: users who may read (member) or edit (editor) one dataset outside its organization."""


def of_user(db, user_id):
    """{package id: capacity} of the datasets a user collaborates on."""
    return {r[0]: r[1] for r in db.execute("SELECT package_id, capacity FROM package_collaborators WHERE user_id = ?",
                                           (user_id,))}


def of_package(db, package_id, capacity=None):
    """Collaborator rows of a dataset (optionally of one capacity), by user id."""
    sql = "SELECT * FROM package_collaborators WHERE package_id = ?"
    args = [package_id]
    if capacity:
        sql += " AND capacity = ?"
        args.append(capacity)
    return db.execute(sql + " ORDER BY user_id", args).fetchall()


def get(db, package_id, user_id):
    """One collaborator row, or None."""
    return db.execute("SELECT * FROM package_collaborators WHERE package_id = ? AND user_id = ?",
                      (package_id, user_id)).fetchone()


def put(db, package_id, user_id, capacity, ts):
    """Add a collaborator or change their capacity."""
    db.execute("INSERT INTO package_collaborators (package_id, user_id, capacity, modified) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (package_id, user_id) DO UPDATE SET capacity = excluded.capacity, modified = excluded.modified",
               (package_id, user_id, capacity, ts))


def delete(db, package_id, user_id):
    """Remove a collaborator."""
    db.execute("DELETE FROM package_collaborators WHERE package_id = ? AND user_id = ?", (package_id, user_id))
