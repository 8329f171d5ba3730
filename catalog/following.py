"""Following datasets, groups (organizations too) and users, as CKAN does, and the dashboard of what they did.

Signed-in users follow; follower lists are for sysadmins (CKAN 2.10), counts and "am I following" for all."""
import json

from . import auth
from .errors import NotAuthorized, NotFound, ValidationError
from .groups import group_dict
from .params import as_int, get_or_bust, now
from .store import activity as activity_store
from .store import following as follow_store
from .store.db import transaction
from .store.groups import get_group
from .store.packages import get_package
from .store.users import get_user
from .users import user_dict

DASHBOARD_BATCH = 200


def _dataset(ctx, ref):
    row = get_package(ctx.db, ref)
    if row is None:
        raise NotFound("Dataset not found")
    auth.require_read_package(ctx, row)   # as package_show answers: 403 for a private one
    return row["id"], row["name"]


def _group(ctx, ref):
    row = get_group(ctx.db, ref)
    if row is None:
        raise NotFound("Group not found")
    return row["id"], row["name"]


def _user(ctx, ref):
    row = get_user(ctx.db, ref)
    if row is None:
        raise NotFound("User not found")
    return row["id"], row["name"]


KINDS = {"dataset": _dataset, "group": _group, "user": _user}


def _follow(ctx, data, kind):
    auth.require_user(ctx)
    object_id, name = KINDS[kind](ctx, get_or_bust(data, "id"))
    if kind == "user" and object_id == ctx.user_id:
        raise ValidationError({"message": "You cannot follow yourself"})
    with transaction(ctx.db):
        if follow_store.get(ctx.db, ctx.user_id, object_id):
            raise ValidationError({"message": f"You are already following {name}"})
        ts = now()
        follow_store.follow(ctx.db, ctx.user_id, object_id, kind, ts)
    return {"follower_id": ctx.user_id, "object_id": object_id, "datetime": ts}


def _unfollow(ctx, data, kind):
    auth.require_user(ctx)
    object_id, name = KINDS[kind](ctx, get_or_bust(data, "id"))
    with transaction(ctx.db):
        if not follow_store.get(ctx.db, ctx.user_id, object_id):
            raise NotFound(f"You are not following {name}.")
        follow_store.unfollow(ctx.db, ctx.user_id, object_id)
    return None


def _am_following(ctx, data, kind):
    if not ctx.user:
        raise NotAuthorized("You must be logged in to check what you follow")
    object_id, _ = KINDS[kind](ctx, get_or_bust(data, "id"))
    return follow_store.get(ctx.db, ctx.user_id, object_id) is not None


def _count(ctx, data, kind):
    object_id, _ = KINDS[kind](ctx, get_or_bust(data, "id"))
    return follow_store.follower_count(ctx.db, object_id)


def _followers(ctx, data, kind):
    auth.require_sysadmin(ctx)   # who follows what is not public (CKAN 2.10)
    object_id, _ = KINDS[kind](ctx, get_or_bust(data, "id"))
    return [user_dict(r, ctx) for r in follow_store.followers(ctx.db, object_id)]


def follow_dataset(ctx, data):
    """Follow a dataset you can read (`id`); its changes appear on your dashboard."""
    return _follow(ctx, data, "dataset")


def unfollow_dataset(ctx, data):
    """Stop following a dataset."""
    return _unfollow(ctx, data, "dataset")


def am_following_dataset(ctx, data):
    """True when you follow the dataset."""
    return _am_following(ctx, data, "dataset")


def dataset_follower_count(ctx, data):
    """How many users follow a dataset you can read."""
    return _count(ctx, data, "dataset")


def dataset_follower_list(ctx, data):
    """The users following a dataset (sysadmins)."""
    return _followers(ctx, data, "dataset")


def follow_group(ctx, data):
    """Follow a group or organization (`id`)."""
    return _follow(ctx, data, "group")


def unfollow_group(ctx, data):
    """Stop following a group or organization."""
    return _unfollow(ctx, data, "group")


def am_following_group(ctx, data):
    """True when you follow the group or organization."""
    return _am_following(ctx, data, "group")


def group_follower_count(ctx, data):
    """How many users follow a group or organization."""
    return _count(ctx, data, "group")


def group_follower_list(ctx, data):
    """The users following a group or organization (sysadmins)."""
    return _followers(ctx, data, "group")


def follow_user(ctx, data):
    """Follow another user (`id`): what they change appears on your dashboard."""
    return _follow(ctx, data, "user")


def unfollow_user(ctx, data):
    """Stop following a user."""
    return _unfollow(ctx, data, "user")


def am_following_user(ctx, data):
    """True when you follow the user."""
    return _am_following(ctx, data, "user")


def user_follower_count(ctx, data):
    """How many users follow a user."""
    return _count(ctx, data, "user")


def user_follower_list(ctx, data):
    """The users following a user (sysadmins)."""
    return _followers(ctx, data, "user")


def followee_list(ctx, data):
    """What a user follows (yourself, or anyone for sysadmins): [{type, display_name, dict}], datasets you can
    no longer read left out."""
    auth.require_user(ctx)
    who, _ = _user(ctx, data.get("id") or ctx.user_id)
    if who != ctx.user_id and not ctx.sysadmin:
        raise NotAuthorized("You may only list what you follow yourself")
    out = []
    for object_id, kind, _created in follow_store.followees(ctx.db, who):
        if kind == "dataset":
            row = get_package(ctx.db, object_id)
            if row is None or not auth.can_read_package(ctx, row):
                continue
            d = {"id": row["id"], "name": row["name"], "title": row["title"]}
            out.append({"type": "dataset", "display_name": row["title"] or row["name"], "dict": d})
        elif kind == "group":
            row = get_group(ctx.db, object_id)
            if row is not None:
                d = group_dict(ctx, row, include_users=False)
                out.append({"type": "organization" if row["is_organization"] else "group",
                            "display_name": d["display_name"], "dict": d})
        else:
            row = get_user(ctx.db, object_id)
            if row is not None:
                out.append({"type": "user", "display_name": row["fullname"] or row["name"], "dict": user_dict(row, ctx)})
    q = str(data.get("q") or "").strip().lower()
    return [f for f in out if q in f["display_name"].lower()] if q else out


def dashboard_activity_list(ctx, data):
    """Your dashboard: activity on what you follow and by the users you follow (and your own), newest first;
    changes to datasets you cannot read are left out."""
    auth.require_user(ctx)
    limit = as_int(data, "limit", 31, maximum=100)
    offset = as_int(data, "offset", 0)
    followed = follow_store.followees(ctx.db, ctx.user_id)
    objects = [r[0] for r in followed if r[1] in ("dataset", "group")]
    users = [ctx.user_id] + [r[0] for r in followed if r[1] == "user"]
    shown, skipped, start = [], 0, 0
    while len(shown) < limit:
        rows = activity_store.of_objects_or_users(ctx.db, objects, users, DASHBOARD_BATCH, start)
        if not rows:
            break
        start += len(rows)
        for row in rows:
            if not _readable(ctx, row):
                continue
            if skipped < offset:
                skipped += 1
                continue
            shown.append({"id": row["id"], "timestamp": row["timestamp"], "user_id": row["user_id"],
                          "object_id": row["object_id"], "activity_type": row["activity_type"],
                          "data": json.loads(row["data"])})
            if len(shown) == limit:
                break
    return shown


def _readable(ctx, row):
    # An activity about a dataset carries the whole dataset: shown only while the caller may read it.
    pkg = get_package(ctx.db, row["object_id"], include_deleted=True)
    return pkg is None or auth.can_read_package(ctx, pkg)
