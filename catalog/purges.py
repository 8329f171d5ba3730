"""Purging (sysadmins): a dataset, group or organization removed from the catalogue for good, with every row
that refers to it. Uploaded files stay in the content-addressed store (another version may share them)."""
from . import auth, searchindex
from .changes import touch_package
from .errors import NotFound, ValidationError
from .params import get_or_bust
from .store import purges as purge_store
from .store.db import transaction
from .store.groups import get_group
from .store.packages import get_package, org_has_packages


def dataset_purge(ctx, data):
    """Remove a dataset (even a deleted one), its resources, tables, comments, activity and index entry."""
    auth.require_sysadmin(ctx)
    pkg = get_package(ctx.db, get_or_bust(data, "id"), include_deleted=True)
    if pkg is None:
        raise NotFound("Package was not found.")
    with transaction(ctx.db):
        searchindex.remove_package(ctx.db, pkg["id"])
        purge_store.purge_package(ctx.db, pkg["id"])
    return None


def _group_purge(ctx, data, is_org):
    auth.require_sysadmin(ctx)
    row = get_group(ctx.db, get_or_bust(data, "id"), is_org=is_org, include_deleted=True)
    if row is None:
        raise NotFound(f"{'Organization' if is_org else 'Group'} was not found.")
    if is_org and org_has_packages(ctx.db, row["id"], include_deleted=True):
        raise ValidationError({"message": "Organization still owns datasets; purge or move them first"})
    with transaction(ctx.db):
        for pid in purge_store.purge_group(ctx.db, row["id"]):   # their datasets' search entries drop the group
            touch_package(ctx, pid, "changed package")
    return None


def group_purge(ctx, data):
    """Remove a group for good (its datasets stay, outside it)."""
    return _group_purge(ctx, data, False)


def organization_purge(ctx, data):
    """Remove an organization that owns no datasets for good."""
    return _group_purge(ctx, data, True)
