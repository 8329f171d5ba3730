"""Activity log: who changed what and when; backs package_activity_list and history pages."""
import json

from . import auth
from .errors import NotFound
from .params import as_int, as_list, get_or_bust
from .store import activity as activity_store
from .store.packages import get_package


def _dict(row):
    return {
        "id": row["id"], "timestamp": row["timestamp"], "user_id": row["user_id"], "object_id": row["object_id"],
        "activity_type": row["activity_type"], "data": json.loads(row["data"]),
    }


def package_activity_list(ctx, data):
    """A dataset's activities, newest first (only for callers who may read the dataset)."""
    pkg = get_package(ctx.db, get_or_bust(data, "id"), include_deleted=True)
    if not pkg:
        raise NotFound("Package was not found.")
    auth.require_read_package(ctx, pkg)
    limit = as_int(data, "limit", 31, maximum=100)
    offset = as_int(data, "offset", 0)
    rows = activity_store.of_object(ctx.db, pkg["id"], as_list(data, "activity_types"),
                                    as_list(data, "exclude_activity_types"), limit, offset)
    return [_dict(r) for r in rows]


def recently_changed_packages_activity_list(ctx, data):
    """The newest activities of public, active datasets (the site's change feed)."""
    limit = as_int(data, "limit", 31, maximum=100)
    offset = as_int(data, "offset", 0)
    return [_dict(r) for r in activity_store.of_public_packages(ctx.db, limit, offset)]


def activity_show(ctx, data):
    """One activity by id, if the caller may read its dataset."""
    row = activity_store.get(ctx.db, get_or_bust(data, "id"))
    if not row:
        raise NotFound("Activity not found")
    pkg = get_package(ctx.db, row["object_id"], include_deleted=True)
    if pkg:
        auth.require_read_package(ctx, pkg)
    return _dict(row)
