"""Purging (sysadmins): a dataset, group or organization removed from the catalogue for good, with every row
that refers to it. Uploaded files stay in the content-addressed store (another version may share them)."""
from . import auth, searchindex
from .db import transaction
from .errors import NotFound, ValidationError
from .groups import get_group
from .packages import get_package, touch_package
from .params import get_or_bust


def dataset_purge(ctx, data):
    """Remove a dataset (even a deleted one), its resources, tables, comments, activity and index entry."""
    auth.require_sysadmin(ctx)
    pkg = get_package(ctx.db, get_or_bust(data, "id"), include_deleted=True)
    if pkg is None:
        raise NotFound("Package was not found.")
    pid, db = pkg["id"], ctx.db
    res = [r[0] for r in db.execute("SELECT id FROM resources WHERE package_id = ?", (pid,)).fetchall()]
    marks = ", ".join("?" * len(res))
    with transaction(db):
        searchindex.remove_package(db, pid)
        if res:
            for table in ("spending_feeds", "jobs", "datastore_aliases", "datastore_tables"):
                db.execute(f"DELETE FROM {table} WHERE resource_id IN ({marks})", res)
            db.execute(f"DELETE FROM resource_versions WHERE resource_id IN ({marks})", res)
            db.execute(f"DELETE FROM usage_counts WHERE object_id IN ({marks})", res)
            db.execute(f"DELETE FROM resources WHERE id IN ({marks})", res)
        db.execute("UPDATE datarequests SET package_id = NULL WHERE package_id = ?", (pid,))
        for table, key in (("comments", "package_id"), ("activity", "object_id"), ("usage_counts", "object_id"),
                           ("harvest_objects", "package_id"), ("package_tags", "package_id"),
                           ("package_groups", "package_id")):
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", (pid,))
        db.execute("DELETE FROM packages WHERE id = ?", (pid,))
    return None


def _group_purge(ctx, data, is_org):
    auth.require_sysadmin(ctx)
    row = get_group(ctx.db, get_or_bust(data, "id"), is_org=is_org, include_deleted=True)
    if row is None:
        raise NotFound(f"{'Organization' if is_org else 'Group'} was not found.")
    db = ctx.db
    if is_org and db.execute("SELECT 1 FROM packages WHERE owner_org = ?", (row["id"],)).fetchone():
        raise ValidationError({"message": "Organization still owns datasets; purge or move them first"})
    with transaction(db):
        pids = [r[0] for r in db.execute("SELECT package_id FROM package_groups WHERE group_id = ?", (row["id"],))]
        db.execute("DELETE FROM package_groups WHERE group_id = ?", (row["id"],))
        db.execute("DELETE FROM memberships WHERE group_id = ?", (row["id"],))
        db.execute("UPDATE datarequests SET organization_id = NULL WHERE organization_id = ?", (row["id"],))
        db.execute("DELETE FROM activity WHERE object_id = ?", (row["id"],))
        db.execute("DELETE FROM groups WHERE id = ?", (row["id"],))
        for pid in pids:   # their datasets' search entries drop the group
            touch_package(ctx, pid, "changed package")
    return None


def group_purge(ctx, data):
    """Remove a group for good (its datasets stay, outside it)."""
    return _group_purge(ctx, data, False)


def organization_purge(ctx, data):
    """Remove an organization that owns no datasets for good."""
    return _group_purge(ctx, data, True)
