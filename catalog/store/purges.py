"""Removing a dataset or group for good, with every row that refers to it (across the table families)."""


def purge_package(db, pid):
    """Delete a package, its resources, their tables, versions, jobs and counts, and its comments, activity, links."""
    res = [r[0] for r in db.execute("SELECT id FROM resources WHERE package_id = ?", (pid,)).fetchall()]
    marks = ", ".join("?" * len(res))
    if res:
        # Tables of other parts (spending's feeds) refer to resources with ON DELETE CASCADE.
        for table in ("jobs", "datastore_aliases", "datastore_tables"):
            db.execute(f"DELETE FROM {table} WHERE resource_id IN ({marks})", res)
        db.execute(f"DELETE FROM resource_versions WHERE resource_id IN ({marks})", res)
        db.execute(f"DELETE FROM resource_views WHERE resource_id IN ({marks})", res)
        db.execute(f"DELETE FROM usage_counts WHERE object_id IN ({marks})", res)
        db.execute(f"DELETE FROM resources WHERE id IN ({marks})", res)
    db.execute("UPDATE datarequests SET package_id = NULL WHERE package_id = ?", (pid,))
    for table, key in (("comments", "package_id"), ("activity", "object_id"), ("usage_counts", "object_id"),
                       ("harvest_objects", "package_id"), ("following", "object_id"), ("package_tags", "package_id"),
                       ("package_vocabulary_tags", "package_id"), ("package_collaborators", "package_id"),
                       ("package_groups", "package_id")):
        db.execute(f"DELETE FROM {table} WHERE {key} = ?", (pid,))
    db.execute("DELETE FROM packages WHERE id = ?", (pid,))


def purge_group(db, gid):
    """Delete a group or organization, its links, memberships and activity; the ids of the datasets it held."""
    pids = [r[0] for r in db.execute("SELECT package_id FROM package_groups WHERE group_id = ?", (gid,))]
    db.execute("DELETE FROM package_groups WHERE group_id = ?", (gid,))
    db.execute("DELETE FROM memberships WHERE group_id = ?", (gid,))
    db.execute("UPDATE datarequests SET organization_id = NULL WHERE organization_id = ?", (gid,))
    db.execute("DELETE FROM activity WHERE object_id = ?", (gid,))
    db.execute("DELETE FROM following WHERE object_id = ?", (gid,))
    db.execute("DELETE FROM groups WHERE id = ?", (gid,))
    return pids
