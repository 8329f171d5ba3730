"""After a write: the dataset's search entry follows and the activity log records it, in the write's transaction."""
import json

from . import searchindex
from .dicts import package_dicts
from .params import new_id, now
from .store import activity as activity_store
from .store import packages as package_store


def record(ctx, object_id, activity_type, data):
    """Append one activity row (call inside the write's transaction)."""
    activity_store.insert(ctx.db, new_id(), now(), ctx.user_id, object_id, activity_type,
                          json.dumps(data, ensure_ascii=False, default=str))


def reindex_and_log(ctx, pid, activity_type):
    """Reindex a dataset and log the change; returns its package dict."""
    pkg = package_dicts(ctx, [pid])[0]
    searchindex.index_package(ctx.db, pkg)
    record(ctx, pid, activity_type, {"package": pkg})
    return pkg


def touch_package(ctx, pid, activity_type):
    """Bump metadata_modified, reindex and log after a change to a dataset's parts."""
    package_store.touch(ctx.db, pid, now())
    pkg = reindex_and_log(ctx, pid, activity_type)
    package_store.set_quality(ctx.db, pid, pkg["metadata_quality"]["score"])
    return pkg
