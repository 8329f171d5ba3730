"""Comments on datasets: members' comments appear at once, anonymous ones after the organization approves."""
from . import auth
from .store.db import transaction
from .errors import NotAuthorized, NotFound, ValidationError
from .params import get_or_bust, new_id, now, text_or_none
from .store import participation as participation_store
from .store.packages import get_package

STATES = ("published", "pending", "hidden")


def _package(ctx, name_or_id, writing=False):
    # Editors still see a deleted dataset's page (and its comments); nobody comments on it any more.
    pkg = get_package(ctx.db, name_or_id, include_deleted=not writing)
    if pkg is None or not auth.can_read_package(ctx, pkg):
        raise NotFound("Dataset was not found.")
    return pkg


def can_moderate(ctx, pkg):
    """Organization editors and admins (and sysadmins) moderate a dataset's comments."""
    return auth.can_edit_org(ctx, pkg["owner_org"])


def _dict(row):
    return {"id": row["id"], "package_id": row["package_id"], "author_name": row["author_name"], "body": row["body"],
            "state": row["state"], "created": row["created"], "user_id": row["user_id"]}


def comment_create(ctx, data):
    """Comment on a dataset you can read; anonymous comments give a name and wait for moderation."""
    pkg = _package(ctx, get_or_bust(data, "package_id"), writing=True)
    errors = {}
    body = (text_or_none(data.get("body"), "body", errors, 2000) or "").strip()
    name = ctx.user["name"] if ctx.user else (text_or_none(data.get("author_name"), "author_name", errors, 100)
                                               or "").strip()
    if not body:
        errors.setdefault("body", []).append("Missing value")
    if not name:
        errors.setdefault("author_name", []).append("Missing value")
    if errors:
        raise ValidationError(errors)
    cid = new_id()
    with transaction(ctx.db):
        participation_store.insert_comment(ctx.db, cid, pkg["id"], ctx.user_id, name, body,
                                           "published" if ctx.user else "pending", now())
    return _dict(participation_store.comment(ctx.db, cid))


def comment_list(ctx, data):
    """A dataset's comments, oldest first: published ones, and for moderators pending and hidden ones too."""
    pkg = _package(ctx, get_or_bust(data, "package_id"))
    states = STATES if can_moderate(ctx, pkg) else ("published",)
    return [_dict(r) for r in participation_store.comments_of(ctx.db, pkg["id"], states)]


def comment_moderate(ctx, data):
    """Publish or hide a comment (the dataset's organization editors and admins)."""
    row = participation_store.comment(ctx.db, get_or_bust(data, "id"))
    if row is None:
        raise NotFound("Comment was not found.")
    pkg = _package(ctx, row["package_id"])
    if not can_moderate(ctx, pkg):
        raise NotAuthorized("only the organization's editors and admins moderate comments")
    state = data.get("state")
    if state not in ("published", "hidden"):
        raise ValidationError({"state": ["Must be published or hidden"]})
    with transaction(ctx.db):
        participation_store.moderate_comment(ctx.db, row["id"], state, ctx.user_id)
    return _dict(participation_store.comment(ctx.db, row["id"]))
