"""CKAN's membership listings and bulk changes: member_list, group_list_authz and bulk_update_private,
bulk_update_public, bulk_update_delete (an organization's datasets, several at once)."""
from . import auth
from .changes import touch_package
from .errors import NotAuthorized, NotFound, ValidationError
from .groups import group_dict
from .packages import package_delete
from .params import as_list, get_or_bust
from .store import groups as group_store
from .store import packages as package_store
from .store.db import transaction
from .store.groups import get_group
from .store.packages import get_package


def member_list(ctx, data):
    """The members of a group or organization as CKAN's [id, type, capacity] triples (datasets the caller may read)."""
    row = get_group(ctx.db, get_or_bust(data, "id"))
    if row is None:
        raise NotFound("Group was not found.")
    kind = data.get("object_type")
    if kind not in (None, "", "user", "package"):
        raise ValidationError({"object_type": ["Must be user or package"]})
    capacity = data.get("capacity") or None
    out = []
    if kind in (None, "", "package"):
        for pkg in package_store.active_of_group(ctx.db, row["id"], row["is_organization"]):
            if auth.can_read_package(ctx, pkg) and capacity in (None, "public", "private"):
                cap = "private" if pkg["private"] else "public"
                if capacity in (None, cap):
                    out.append([pkg["id"], "package", cap])
    if kind in (None, "", "user"):
        for uid, cap in group_store.members(ctx.db, row["id"]):
            if capacity in (None, cap):
                out.append([uid, "user", cap])
    return out


def group_list_authz(ctx, data):
    """The groups the caller may add datasets to (all of them for sysadmins)."""
    auth.require_user(ctx)
    rows = group_store.active(ctx.db, False)
    caps = ctx.capacities()
    return [group_dict(ctx, r, include_users=False) for r in rows if ctx.sysadmin or r["id"] in caps]


def _bulk(ctx, data):
    """(organization row, dataset rows) of a bulk request the caller may make: every dataset must be the org's."""
    org = get_group(ctx.db, get_or_bust(data, "org_id"), is_org=True)
    if org is None:
        raise NotFound("Organization was not found.")
    if not auth.can_edit_org(ctx, org["id"]):
        raise NotAuthorized(f"User not authorized to change datasets of {org['name']}")
    refs = as_list(data, "datasets", [])
    if not refs:
        raise ValidationError({"datasets": ["Missing value"]})
    rows = []
    for ref in refs:
        pkg = get_package(ctx.db, ref) if isinstance(ref, str) else None
        if pkg is None or pkg["state"] == "deleted":
            raise NotFound(f"Dataset {ref} was not found")
        if pkg["owner_org"] != org["id"]:
            raise ValidationError({"datasets": [f"Dataset {ref} does not belong to {org['name']}"]})
        auth.require_edit_package(ctx, pkg)
        rows.append(pkg)
    return org, rows


def _set_private(ctx, data, private):
    _, rows = _bulk(ctx, data)
    with transaction(ctx.db):
        for pkg in rows:
            package_store.set_private(ctx.db, pkg["id"], private)
            touch_package(ctx, pkg["id"], "changed package")   # its search entry and facet counts follow
    return None


def bulk_update_private(ctx, data):
    """Make several datasets of one organization private (`org_id`, `datasets`)."""
    return _set_private(ctx, data, True)


def bulk_update_public(ctx, data):
    """Make several datasets of one organization public (`org_id`, `datasets`)."""
    return _set_private(ctx, data, False)


def bulk_update_delete(ctx, data):
    """Delete several datasets of one organization (`org_id`, `datasets`)."""
    _, rows = _bulk(ctx, data)
    with transaction(ctx.db):
        for pkg in rows:
            package_delete(ctx, {"id": pkg["id"]})
    return None
